//! The interfaces each hardware type supports and the defaults a node gets
//! (Ironic's `driver_factory.default_interface`; spec: node-subset.md §6).
//!
//! sanlink enables every interface listed here, fake ones included, so the default of
//! an interface is the first one its hardware type supports. Storage is the exception:
//! it defaults to `noop` for every type, as if `[DEFAULT]default_storage_interface`
//! were `noop`, so that a node never does boot-from-volume unless asked to. Network
//! defaults to `flat`, Ironic's choice when `flat` is enabled.

use common::Error;
use common::model::node::{INTERFACES, Node};

const FAKE_BOOT: &[&str] = &["fake", "ipxe", "pxe", "http-ipxe", "http"];
const GENERIC_BOOT: &[&str] = &["ipxe", "pxe", "http-ipxe", "http"];
const REDFISH_BOOT: &[&str] = &[
    "ipxe",
    "pxe",
    "http-ipxe",
    "http",
    "redfish-virtual-media",
    "redfish-https",
];
const FAKE_DEPLOY: &[&str] = &[
    "fake",
    "autodetect",
    "direct",
    "ramdisk",
    "bootc",
    "anaconda",
];
const GENERIC_DEPLOY: &[&str] = &["autodetect", "direct", "ramdisk", "bootc", "anaconda"];
const FAKE_STORAGE: &[&str] = &["fake", "noop", "cinder", "external"];
const GENERIC_STORAGE: &[&str] = &["noop", "cinder", "external"];
const NETWORK: &[&str] = &["flat", "neutron", "noop"];

/// Interfaces with a configured default instead of the first supported one.
const CONFIGURED_DEFAULTS: [(&str, &str); 1] = [("storage", "noop")];

/// The implementations of interface `kind` that hardware type `driver` supports, in
/// preference order; None for an unknown hardware type.
pub fn supported(driver: &str, kind: &str) -> Option<&'static [&'static str]> {
    let list: &'static [&'static str] = match (driver, kind) {
        (_, "network") => NETWORK,
        ("fake-hardware", "bios") => &["fake", "no-bios"],
        ("fake-hardware", "boot") => FAKE_BOOT,
        ("fake-hardware", "console") => &["fake", "no-console"],
        ("fake-hardware", "deploy") => FAKE_DEPLOY,
        ("fake-hardware", "inspect") => &["fake", "no-inspect"],
        ("fake-hardware", "management") => &["fake"],
        ("fake-hardware", "power") => &["fake"],
        ("fake-hardware", "raid") => &["fake", "no-raid"],
        ("fake-hardware", "rescue") => &["fake", "no-rescue"],
        ("fake-hardware", "storage") => FAKE_STORAGE,
        ("fake-hardware", "vendor") => &["fake", "no-vendor"],
        ("ipmi", "bios") => &["no-bios"],
        ("ipmi", "boot") => GENERIC_BOOT,
        ("ipmi", "console") => &["no-console", "ipmitool-socat", "ipmitool-shellinabox"],
        ("ipmi", "deploy") => GENERIC_DEPLOY,
        ("ipmi", "inspect") => &["no-inspect", "agent"],
        ("ipmi", "management") => &["ipmitool", "noop"],
        ("ipmi", "power") => &["ipmitool"],
        ("ipmi", "raid") => &["no-raid", "agent"],
        ("ipmi", "rescue") => &["no-rescue", "agent"],
        ("ipmi", "storage") => GENERIC_STORAGE,
        ("ipmi", "vendor") => &["ipmitool", "no-vendor"],
        ("redfish", "bios") => &["redfish", "no-bios"],
        ("redfish", "boot") => REDFISH_BOOT,
        ("redfish", "console") => &["no-console"],
        ("redfish", "deploy") => GENERIC_DEPLOY,
        ("redfish", "inspect") => &["redfish", "agent", "no-inspect"],
        ("redfish", "management") => &["redfish", "noop"],
        ("redfish", "power") => &["redfish"],
        ("redfish", "raid") => &["redfish", "no-raid", "agent"],
        ("redfish", "rescue") => &["no-rescue", "agent"],
        ("redfish", "storage") => GENERIC_STORAGE,
        ("redfish", "vendor") => &["redfish", "no-vendor"],
        _ => return None,
    };
    if super::HARDWARE_TYPES.contains(&driver) {
        Some(list)
    } else {
        None
    }
}

/// The firmware interface has no column: it follows from the hardware type.
pub fn firmware_interface(driver: &str) -> &'static str {
    if driver == "fake-hardware" {
        "fake"
    } else {
        "no-firmware"
    }
}

/// Ironic's NoValidHost for a hardware type no conductor offers.
fn unknown_driver(driver: &str, group: &str) -> Error {
    Error::invalid(format!(
        "No valid host was found. Reason: No conductor service registered which supports driver {driver} for conductor group \"{group}\". Ensure the driver is valid and enabled."
    ))
}

pub fn check_driver(driver: &str, group: &str) -> Result<(), Error> {
    if super::HARDWARE_TYPES.contains(&driver) {
        Ok(())
    } else {
        Err(unknown_driver(driver, group))
    }
}

/// The default implementation of interface `kind` for hardware type `driver`.
pub fn default_interface(driver: &str, kind: &str) -> Option<&'static str> {
    let supported = supported(driver, kind)?;
    CONFIGURED_DEFAULTS
        .iter()
        .find(|(k, name)| *k == kind && supported.contains(name))
        .map(|(_, name)| *name)
        .or_else(|| supported.first().copied())
}

/// Checks that `name` is an implementation of `kind` that `driver` supports.
pub fn check_interface(driver: &str, kind: &str, name: &str) -> Result<(), Error> {
    let supported = supported(driver, kind).ok_or_else(|| unknown_driver(driver, ""))?;
    if supported.contains(&name) {
        return Ok(());
    }
    // Worded as Ironic names the interface's entry point, with the valid names sorted.
    let mut valid: Vec<String> = supported.iter().map(|s| format!("'{s}'")).collect();
    valid.sort();
    Err(Error::invalid(format!(
        "Could not find the following interface in the 'ironic.hardware.interfaces.{kind}' entrypoint: {name}. Valid interfaces are [{}].",
        valid.join(", ")
    )))
}

/// Fills every unset interface with its default, then checks them all against the
/// node's hardware type.
pub fn fill_and_check(node: &mut Node) -> Result<(), Error> {
    check_driver(&node.driver, &node.conductor_group)?;
    for kind in INTERFACES {
        if node.interfaces.get(kind).is_none() {
            let default = default_interface(&node.driver, kind).map(str::to_string);
            node.interfaces.set(kind, default);
        }
        let name = node.interfaces.get(kind).unwrap_or_default().to_string();
        check_interface(&node.driver, kind, &name)?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_are_first_supported_but_storage_is_noop() {
        assert_eq!(default_interface("fake-hardware", "boot"), Some("fake"));
        assert_eq!(default_interface("fake-hardware", "storage"), Some("noop"));
        assert_eq!(default_interface("ipmi", "deploy"), Some("autodetect"));
        assert_eq!(default_interface("redfish", "power"), Some("redfish"));
        assert_eq!(default_interface("ipmi", "network"), Some("flat"));
        assert_eq!(default_interface("nope", "boot"), None);
    }

    #[test]
    fn fills_defaults_and_rejects_foreign_interfaces() {
        let mut node = Node {
            driver: "ipmi".into(),
            ..Node::default()
        };
        fill_and_check(&mut node).unwrap();
        assert_eq!(node.interfaces.power.as_deref(), Some("ipmitool"));
        assert_eq!(node.interfaces.storage.as_deref(), Some("noop"));

        let mut node = Node {
            driver: "ipmi".into(),
            ..Node::default()
        };
        node.interfaces.power = Some("fake".into());
        let e = fill_and_check(&mut node).unwrap_err();
        assert!(
            matches!(e, Error::Invalid(m) if m.contains("'ironic.hardware.interfaces.power' entrypoint: fake."))
        );

        let mut node = Node {
            driver: "bogus".into(),
            ..Node::default()
        };
        assert!(matches!(fill_and_check(&mut node), Err(Error::Invalid(_))));
    }
}
