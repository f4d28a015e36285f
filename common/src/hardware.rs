//! The hardware types sanlink drives and the interfaces each one offers: the one table
//! that node creation and validation (in the conductor) and the drivers API (in the
//! gateway) both read (Ironic's `driver_factory`; spec: node-subset.md §6).
//!
//! sanlink enables every interface listed here, fake ones included, so the default of
//! an interface is the first one its hardware type supports. Storage is the exception:
//! it defaults to `noop` for every type, as if `[DEFAULT]default_storage_interface`
//! were `noop`, so that a node never does boot-from-volume unless asked to. Network
//! defaults to `flat`, Ironic's choice when `flat` is enabled.
//!
//! What the drivers API reports about an implementation (its `driver_info` properties,
//! its vendor methods, the RAID logical disk properties) is data Ironic's interfaces
//! publish; it is kept in the JSON files beside this module.

use std::collections::BTreeMap;
use std::sync::OnceLock;

use serde_json::{Map, Value};

/// The hardware types every conductor can drive, in the order lists show them.
pub const HARDWARE_TYPES: [&str; 3] = ["fake-hardware", "ipmi", "redfish"];

/// The interface types the drivers API reports on (every node interface; the firmware
/// interface only appears at API versions sanlink does not serve).
pub use crate::model::node::INTERFACES;

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

/// Whether `driver` is a hardware type sanlink drives.
pub fn is_hardware_type(driver: &str) -> bool {
    HARDWARE_TYPES.contains(&driver)
}

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
    is_hardware_type(driver).then_some(list)
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

/// The firmware interface has no column: it follows from the hardware type.
pub fn firmware_interface(driver: &str) -> &'static str {
    if driver == "fake-hardware" {
        "fake"
    } else {
        "no-firmware"
    }
}

type Descriptions = Map<String, Value>;

fn parse<T: serde::de::DeserializeOwned>(text: &str) -> T {
    serde_json::from_str(text).expect("the hardware data files are valid JSON")
}

/// `driver_info` properties per interface type and implementation; an implementation
/// that is absent needs none.
fn interface_properties() -> &'static BTreeMap<String, BTreeMap<String, Descriptions>> {
    static DATA: OnceLock<BTreeMap<String, BTreeMap<String, Descriptions>>> = OnceLock::new();
    DATA.get_or_init(|| parse(include_str!("hardware/interface_properties.json")))
}

/// The `driver_info` properties a node of hardware type `driver` may need: those of the
/// default implementation of each interface, as Ironic reports them (it cannot know a
/// node's overrides). None for an unknown hardware type.
pub fn properties(driver: &str) -> Option<Descriptions> {
    if !is_hardware_type(driver) {
        return None;
    }
    let data = interface_properties();
    let defaults = INTERFACES
        .iter()
        .filter_map(|kind| Some((*kind, default_interface(driver, kind)?)))
        .chain([("firmware", firmware_interface(driver))]);
    let mut all = Descriptions::new();
    for (kind, name) in defaults {
        if let Some(props) = data.get(kind).and_then(|by_name| by_name.get(name)) {
            all.extend(props.clone());
        }
    }
    Some(all)
}

/// The properties a logical disk of a target RAID configuration may have. Every RAID
/// implementation shares them (they describe the RAID configuration schema).
pub fn logical_disk_properties() -> &'static Descriptions {
    static DATA: OnceLock<Descriptions> = OnceLock::new();
    DATA.get_or_init(|| parse(include_str!("hardware/logical_disk_properties.json")))
}

/// One vendor passthru method as `vendor_passthru/methods` lists it.
#[derive(Clone, Debug, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct VendorMethod {
    pub http_methods: Vec<String>,
    #[serde(rename = "async")]
    pub is_async: bool,
    pub description: String,
    pub attach: bool,
    pub require_exclusive_lock: bool,
}

/// The node vendor methods of vendor interface `name` (none for `no-vendor` or an
/// unknown name). No vendor interface sanlink offers has driver-level methods.
pub fn vendor_methods(name: &str) -> BTreeMap<String, VendorMethod> {
    static DATA: OnceLock<BTreeMap<String, BTreeMap<String, VendorMethod>>> = OnceLock::new();
    DATA.get_or_init(|| parse(include_str!("hardware/vendor_methods.json")))
        .get(name)
        .cloned()
        .unwrap_or_default()
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
    fn properties_come_from_the_default_interfaces() {
        let fake = properties("fake-hardware").unwrap();
        assert_eq!(fake.keys().collect::<Vec<_>>(), ["B1", "B2"]);
        let redfish = properties("redfish").unwrap();
        for key in ["redfish_address", "redfish_username", "deploy_kernel"] {
            assert!(redfish.contains_key(key), "{key}");
        }
        // Not the ipmitool ones: redfish nodes default to no console.
        assert!(!redfish.contains_key("ipmi_address"));
        assert!(properties("ipmi").unwrap().contains_key("ipmi_address"));
        assert_eq!(properties("nope"), None);
    }

    #[test]
    fn every_listed_vendor_interface_with_methods_is_known() {
        assert_eq!(vendor_methods("fake").len(), 4);
        assert!(!vendor_methods("fake")["third_method_sync"].is_async);
        assert!(vendor_methods("redfish").contains_key("eject_vmedia"));
        assert!(vendor_methods("no-vendor").is_empty());
        assert_eq!(logical_disk_properties().len(), 10);
    }
}
