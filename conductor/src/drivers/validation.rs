//! `validate_driver_interfaces`: each interface of a node checks what it needs, and the
//! result is reported per interface, the way `GET /v1/nodes/{id}/validate` shows it.

use std::collections::BTreeMap;

use common::model::node::Node;
use common::model::port::Port;
use common::model::volume::{VolumeConnector, VolumeTarget};
use common::rpc::InterfaceValidation;

use super::Driver;
use super::hardware::firmware_interface;

/// The interfaces a validation reports on: every one but vendor, as Ironic does.
pub const VALIDATED: [&str; 12] = [
    "boot",
    "deploy",
    "management",
    "network",
    "power",
    "bios",
    "console",
    "firmware",
    "inspect",
    "raid",
    "rescue",
    "storage",
];

/// Everything the interfaces look at.
pub struct NodeView<'a> {
    pub node: &'a Node,
    pub driver: &'a Driver,
    pub ports: &'a [Port],
    pub connectors: &'a [VolumeConnector],
    pub targets: &'a [VolumeTarget],
    /// Whether a Cinder endpoint is configured.
    pub cinder_configured: bool,
}

type Check = Result<(), String>;

/// Validates every interface of the node.
pub fn validate_all(view: &NodeView<'_>) -> BTreeMap<String, InterfaceValidation> {
    VALIDATED
        .iter()
        .map(|kind| {
            let outcome = validate_one(view, kind);
            let validation = InterfaceValidation {
                result: outcome.is_ok(),
                reason: outcome.err(),
            };
            (kind.to_string(), validation)
        })
        .collect()
}

/// Validates one interface of the node.
fn validate_one(view: &NodeView<'_>, kind: &str) -> Check {
    let node = view.node;
    let name = match kind {
        "firmware" => firmware_interface(&node.driver),
        _ => node.interfaces.get(kind).unwrap_or_default(),
    };
    if name.starts_with("no-") {
        return Err(unsupported(node, kind));
    }
    let driver = view.driver;
    match kind {
        "power" => driver.power.validate(node),
        "management" => driver.management.validate(node),
        "boot" => driver.boot.validate(view),
        "deploy" => driver
            .deploy
            .validate(view)
            .and_then(|()| common::model::traits::check_instance_traits(node)),
        "storage" => driver.storage.validate(view),
        _ => validate_by_name(node, name),
    }
}

/// Ironic's UnsupportedDriverExtension, which the `no-*` interfaces raise.
fn unsupported(node: &Node, kind: &str) -> String {
    format!(
        "Driver {} does not support {kind} (disabled or not implemented).",
        node.driver
    )
}

/// Ironic's MissingParameterValue for driver_info keys an interface needs.
pub fn require(node: &Node, what: &str, keys: &[&str]) -> Check {
    let missing: Vec<&str> = keys
        .iter()
        .copied()
        .filter(|k| !node.driver_info.contains_key(*k))
        .collect();
    if missing.is_empty() {
        Ok(())
    } else {
        Err(format!(
            "Missing the following {what} properties in node {} driver_info: {}.",
            node.uuid,
            missing.join(", ")
        ))
    }
}

/// The interfaces sanlink does not drive (bios, console, inspect, raid, ...): their
/// checks depend only on the implementation's BMC protocol.
fn validate_by_name(node: &Node, name: &str) -> Check {
    match name {
        "ipmitool-socat" | "ipmitool-shellinabox" => {
            require(node, "IPMI", &["ipmi_address", "ipmi_terminal_port"])
        }
        "redfish" => {
            require(node, "Redfish", &["redfish_address"])?;
            super::redfish::validate(node)
        }
        _ => Ok(()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::drivers::testing;
    use serde_json::json;

    fn validate(node: &Node) -> BTreeMap<String, InterfaceValidation> {
        let driver = testing::driver(node);
        validate_all(&testing::view(node, &driver, &[], &[]))
    }

    #[test]
    fn fake_hardware_validates_everything() {
        let results = validate(&testing::fake_node());
        assert_eq!(results.len(), VALIDATED.len());
        for (kind, v) in &results {
            assert!(v.result, "{kind}: {:?}", v.reason);
            assert!(v.reason.is_none());
        }
    }

    #[test]
    fn failures_carry_a_reason() {
        let mut node = testing::fake_node();
        node.interfaces.bios = Some("no-bios".into());
        node.interfaces.boot = Some("ipxe".into());
        node.interfaces.deploy = Some("direct".into());
        node.properties
            .insert("capabilities".into(), json!({"a": 1}));
        let results = validate(&node);
        assert!(results["bios"].reason.as_deref().unwrap().contains("bios"));
        assert!(results["boot"].reason.as_deref().unwrap().contains("port"));
        let deploy = results["deploy"].reason.as_deref().unwrap();
        assert!(deploy.contains("capabilities"), "{deploy}");
        assert!(results["power"].result);
    }

    #[test]
    fn http_ipxe_boots_an_iscsi_volume_as_ipxe_does() {
        let mut node = testing::fake_node();
        node.interfaces.storage = Some("external".into());
        let targets = [testing::target("iscsi", 0)];
        for (boot, bootable) in [
            ("ipxe", true),
            ("http-ipxe", true),
            ("pxe", false),
            ("http", false),
        ] {
            node.interfaces.boot = Some(boot.into());
            let driver = testing::driver(&node);
            let results = validate_all(&testing::view(&node, &driver, &[], &targets));
            let reason = results["boot"].reason.clone().unwrap_or_default();
            assert_eq!(!reason.contains("cannot do"), bootable, "{boot}: {reason}");
            assert_eq!(results["storage"].result, bootable, "{boot}");
        }
    }
}
