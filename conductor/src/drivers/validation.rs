//! `validate_driver_interfaces`: each interface of a node checks what it needs, and the
//! result is reported per interface, the way `GET /v1/nodes/{id}/validate` shows it.

use std::collections::BTreeMap;

use common::model::node::Node;
use common::model::port::Port;
use common::model::volume::{VolumeConnector, VolumeTarget};
use common::rpc::InterfaceValidation;

use super::hardware::firmware_interface;
use super::storage::{self, StorageView, should_write_image};

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
    pub ports: &'a [Port],
    pub connectors: &'a [VolumeConnector],
    pub targets: &'a [VolumeTarget],
    /// Whether a Cinder endpoint is configured (it never is yet).
    pub cinder_configured: bool,
}

type Check = Result<(), String>;

/// Validates every interface of the node.
pub fn validate_all(view: &NodeView) -> BTreeMap<String, InterfaceValidation> {
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
pub fn validate_one(view: &NodeView, kind: &str) -> Check {
    let node = view.node;
    let name = match kind {
        "firmware" => firmware_interface(&node.driver),
        _ => node.interfaces.get(kind).unwrap_or_default(),
    };
    if name.starts_with("no-") {
        return Err(unsupported(node, kind));
    }
    match kind {
        "power" => super::power::validate(node),
        "boot" => validate_boot(view),
        "deploy" => validate_deploy(view),
        "storage" => storage::validate(
            &StorageView {
                node,
                connectors: view.connectors,
                targets: view.targets,
            },
            view.cinder_configured,
        ),
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

fn require(node: &Node, what: &str, keys: &[&str]) -> Check {
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

/// Interfaces whose checks depend only on the implementation's BMC protocol.
fn validate_by_name(node: &Node, name: &str) -> Check {
    match name {
        "ipmitool" => require(node, "IPMI", &["ipmi_address"]),
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

fn validate_boot(view: &NodeView) -> Check {
    let node = view.node;
    let boot = node.interfaces.boot.as_deref().unwrap_or_default();
    match boot {
        "fake" => Ok(()),
        "redfish-virtual-media" | "redfish-https" => {
            require(node, "Redfish", &["redfish_address"])?;
            require_boot_volume_support(view)?;
            require_deploy_images(view)
        }
        _ => {
            require_boot_volume_support(view)?;
            if view.ports.is_empty() {
                return Err(format!(
                    "Node {} does not have any port associated with it.",
                    node.uuid
                ));
            }
            require_deploy_images(view)
        }
    }
}

/// A node that boots from its volume needs a boot interface that can really boot that
/// kind of volume. Only iPXE's `sanboot` can here (iSCSI); Fibre Channel needs a vendor
/// driver programming the HBA, and Redfish offers no standard way to set up SAN boot.
fn require_boot_volume_support(view: &NodeView) -> Check {
    let node = view.node;
    if should_write_image(node, view.targets) {
        return Ok(());
    }
    let Some(volume) = storage::boot_volume(view.targets) else {
        return Ok(());
    };
    let boot = node.interfaces.boot.as_deref().unwrap_or_default();
    let kind = volume.volume_type.to_lowercase();
    match (kind.as_str(), boot) {
        ("iscsi", "ipxe" | "http-ipxe") => Ok(()),
        ("iscsi", _) => Err(format!(
            "Node {} boots from an iSCSI volume, which boot interface '{boot}' cannot do; set boot_interface to 'ipxe'.",
            node.uuid
        )),
        ("fibre_channel", _) => Err(format!(
            "Node {} boots from a Fibre Channel volume, but no driver available here can program Fibre Channel boot on the node's HBA; boot it from an iSCSI volume instead.",
            node.uuid
        )),
        (other, _) => Err(format!(
            "Node {} boots from a volume of type '{other}', which sanlink cannot boot; supported: 'iscsi'.",
            node.uuid
        )),
    }
}

/// The agent ramdisk is only booted when an image is written.
fn require_deploy_images(view: &NodeView) -> Check {
    if should_write_image(view.node, view.targets) {
        require(view.node, "deploy", &["deploy_kernel", "deploy_ramdisk"])
    } else {
        Ok(())
    }
}

fn validate_deploy(view: &NodeView) -> Check {
    let node = view.node;
    let deploy = node.interfaces.deploy.as_deref().unwrap_or_default();
    if deploy == "fake" {
        return Ok(());
    }
    validate_capabilities(node)?;
    validate_boot(view)?;
    if deploy != "ramdisk"
        && should_write_image(node, view.targets)
        && !node.instance_info.contains_key("image_source")
    {
        return Err(format!(
            "Some parameters were missing in node's instance_info. Missing are: ['image_source'] (node {}).",
            node.uuid
        ));
    }
    Ok(())
}

/// `properties.capabilities` must be a `"k:v,k:v"` string.
fn validate_capabilities(node: &Node) -> Check {
    let Some(caps) = node.properties.get("capabilities") else {
        return Ok(());
    };
    let invalid = || {
        Err(format!(
            "Value of the capabilities property of node {} is invalid: {caps}. It must be a string of key:value pairs separated by commas.",
            node.uuid
        ))
    };
    let Some(text) = caps.as_str() else {
        return invalid();
    };
    let malformed = text
        .split(',')
        .filter(|e| !e.is_empty())
        .any(|e| e.split(':').count() != 2);
    if malformed { invalid() } else { Ok(()) }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn fake_node() -> Node {
        let mut node = Node {
            uuid: "n1".into(),
            driver: "fake-hardware".into(),
            ..Node::default()
        };
        super::super::hardware::fill_and_check(&mut node).unwrap();
        node
    }

    fn validate(node: &Node) -> BTreeMap<String, InterfaceValidation> {
        validate_all(&NodeView {
            node,
            ports: &[],
            connectors: &[],
            targets: &[],
            cinder_configured: false,
        })
    }

    #[test]
    fn fake_hardware_validates_everything() {
        let results = validate(&fake_node());
        assert_eq!(results.len(), VALIDATED.len());
        for (kind, v) in &results {
            assert!(v.result, "{kind}: {:?}", v.reason);
            assert!(v.reason.is_none());
        }
    }

    #[test]
    fn failures_carry_a_reason() {
        let mut node = fake_node();
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
}
