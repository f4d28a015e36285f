//! The storage interfaces' rules (spec: boot-from-volume.md §2–3): whether the deploy
//! writes an image or boots an existing volume, what each storage interface accepts,
//! and what a deploy records in `driver_internal_info`.

use common::model::JsonObject;
use common::model::node::{Node, truthy};
use common::model::volume::{VolumeConnector, VolumeTarget};

use super::hardware::boot_capabilities;

const ISCSI_CONNECTOR_TYPES: [&str; 1] = ["iqn"];
const FC_CONNECTOR_TYPES: [&str; 2] = ["wwpn", "wwnn"];

/// The driver_internal_info keys a deploy sets and a tear-down drops.
pub const INTERNAL_INFO_KEYS: [&str; 2] = ["boot_from_volume", "boot_from_volume_deploy"];

/// What a storage interface looks at.
pub struct StorageView<'a> {
    pub node: &'a Node,
    pub connectors: &'a [VolumeConnector],
    pub targets: &'a [VolumeTarget],
}

/// The boot volume: the target with boot index 0.
pub fn boot_volume(targets: &[VolumeTarget]) -> Option<&VolumeTarget> {
    targets.iter().find(|t| t.boot_index == 0)
}

fn storage_of(node: &Node) -> &str {
    node.interfaces.storage.as_deref().unwrap_or("noop")
}

fn boot_of(node: &Node) -> &str {
    node.interfaces.boot.as_deref().unwrap_or("")
}

/// False when the node boots an existing volume: a volume-capable storage interface,
/// no `image_source`, and a boot volume.
pub fn should_write_image(node: &Node, targets: &[VolumeTarget]) -> bool {
    match storage_of(node) {
        "cinder" | "external" => {
            node.instance_info.contains_key("image_source") || boot_volume(targets).is_none()
        }
        _ => true,
    }
}

/// Validates the node's storage configuration; `cinder_configured` says whether a
/// Cinder endpoint is available to attach volumes with.
pub fn validate(view: &StorageView, cinder_configured: bool) -> Result<(), String> {
    match storage_of(view.node) {
        "noop" | "fake" => Ok(()),
        "external" => validate_external(view),
        "cinder" => validate_cinder(view, cinder_configured),
        other => Err(format!("Unknown storage interface '{other}'.")),
    }
}

fn has_ipxe_boot(node: &Node) -> bool {
    boot_capabilities(boot_of(node)).contains(&"ipxe_boot")
}

fn validate_external(view: &StorageView) -> Result<(), String> {
    if !should_write_image(view.node, view.targets) && !has_ipxe_boot(view.node) {
        return Err(format!(
            "The node {} is configured to boot from a remote volume, which requires the boot interface to be set to ``ipxe``; its boot interface is '{}'.",
            view.node.uuid,
            boot_of(view.node)
        ));
    }
    Ok(())
}

/// Which connector kinds a node has, as Ironic's cinder `_validate_connectors` counts them.
struct FoundConnectors {
    iscsi: bool,
    fc: bool,
}

fn cinder_failure(node: &Node, reason: String) -> String {
    format!(
        "Failed to validate cinder storage interface for node {}. {reason}",
        node.uuid
    )
}

fn check_connectors(view: &StorageView) -> Result<FoundConnectors, String> {
    let node = view.node;
    let mut iscsi = 0;
    let (mut wwpn, mut wwnn) = (0, 0);
    for c in view.connectors {
        let kind = c.connector_type.as_str();
        if ISCSI_CONNECTOR_TYPES.contains(&kind) {
            iscsi += 1;
            if !has_ipxe_boot(node) {
                return Err(cinder_failure(
                    node,
                    "The [pxe]/ipxe_enabled option must be set to True or the boot interface must be set to ``ipxe`` to support network booting to an iSCSI volume.".into(),
                ));
            }
        }
        match kind {
            "wwpn" => wwpn += 1,
            "wwnn" => wwnn += 1,
            _ => {}
        }
    }
    if wwnn > 0 && wwpn != wwnn {
        return Err(cinder_failure(
            node,
            format!(
                "The number of wwpn connectors ({wwpn}) and wwnn connectors ({wwnn}) of the node differ."
            ),
        ));
    }
    Ok(FoundConnectors {
        iscsi: iscsi > 0,
        fc: wwpn > 0,
    })
}

fn capability_set(node: &Node, key: &str) -> bool {
    node.capability(key).is_some_and(|v| truthy(&v))
}

fn check_target(
    node: &Node,
    t: &VolumeTarget,
    found: &FoundConnectors,
    iscsi_boot: bool,
    fc_boot: bool,
) -> Result<(), String> {
    let fail = |reason: String| Err(cinder_failure(node, reason));
    if t.volume_id.is_empty() {
        return fail(format!("volume_id missing from target {}.", t.uuid));
    }
    let (capable, connected, capability) = match t.volume_type.as_str() {
        "fibre_channel" => (fc_boot, found.fc, "fibre_channel_boot"),
        "iscsi" => (iscsi_boot, found.iscsi, "iscsi_boot"),
        other => {
            return fail(format!(
                "Volume target {} is of an unknown type '{other}'. Supported types: 'iscsi' or 'fibre_channel'",
                t.uuid
            ));
        }
    };
    if t.boot_index == 0 && !capable {
        return fail(format!(
            "Volume target {} is configured for '{}', but the capability '{capability}' is not set for node {}.",
            t.uuid, t.volume_type, node.uuid
        ));
    }
    if !connected {
        return fail(format!(
            "Volume target {} is configured for '{}', but no {} connector information is defined for node {}.",
            t.uuid,
            t.volume_type,
            if t.volume_type == "iscsi" {
                "iSCSI"
            } else {
                "Fibre Channel"
            },
            node.uuid
        ));
    }
    Ok(())
}

fn validate_cinder(view: &StorageView, cinder_configured: bool) -> Result<(), String> {
    let node = view.node;
    let found = check_connectors(view)?;
    let iscsi_boot = capability_set(node, "iscsi_boot");
    let fc_boot = capability_set(node, "fibre_channel_boot");
    if iscsi_boot && !found.iscsi {
        return Err(cinder_failure(
            node,
            format!(
                "In order to enable the 'iscsi_boot' capability for the node, an associated volume_connector type must be valid for iSCSI ({}).",
                ISCSI_CONNECTOR_TYPES.join(", ")
            ),
        ));
    }
    if fc_boot && !found.fc {
        return Err(cinder_failure(
            node,
            format!(
                "In order to enable the 'fibre_channel_boot' capability for the node, an associated volume_connector type must be valid for Fibre Channel ({}).",
                FC_CONNECTOR_TYPES.join(", ")
            ),
        ));
    }
    for t in view.targets {
        check_target(node, t, &found, iscsi_boot, fc_boot)?;
    }
    if !cinder_configured {
        return Err(cinder_failure(
            node,
            "No Cinder endpoint is configured, so volumes cannot be attached through Cinder; use the 'external' storage interface.".into(),
        ));
    }
    Ok(())
}

/// Attaches the node's volumes before it boots. Only `cinder` attaches anything, and
/// it has no Cinder endpoint to do it with.
pub fn attach_volumes(node: &Node, targets: &[VolumeTarget]) -> Result<(), String> {
    match storage_of(node) {
        "cinder" if !targets.is_empty() => Err(format!(
            "Unable to attach volumes of node {}: no Cinder endpoint is configured.",
            node.uuid
        )),
        _ => Ok(()),
    }
}

/// What a deploy records about the boot volume (`populate_storage_driver_internal_info`).
/// Fails when the hardware cannot boot the boot volume's type at all.
pub fn populate_internal_info(
    node: &Node,
    targets: &[VolumeTarget],
    info: &mut JsonObject,
) -> Result<(), String> {
    let Some(volume) = boot_volume(targets) else {
        return Ok(());
    };
    let kind = volume.volume_type.to_lowercase();
    let (capability, label) = match kind.as_str() {
        "iscsi" => ("iscsi_boot", "iSCSI"),
        "fibre_channel" => ("fibre_channel_boot", "Fibre Channel"),
        _ => return Ok(()),
    };
    // Only the key's presence counts here, as in Ironic.
    if node.capability(capability).is_none() {
        return Err(format!(
            "Node {} has an {label} boot volume defined and no {label} boot support available.",
            node.uuid
        ));
    }
    let boot_cap = format!("{kind}_volume_boot");
    if boot_capabilities(boot_of(node)).contains(&boot_cap.as_str()) {
        info.insert("boot_from_volume".into(), volume.uuid.clone().into());
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::NaiveDateTime;
    use serde_json::json;

    fn node(storage: &str, boot: &str, caps: &str) -> Node {
        let mut n = Node {
            uuid: "1be26c0b-03f2-4d2e-ae87-c02d7f33c123".into(),
            driver: "fake-hardware".into(),
            ..Node::default()
        };
        n.interfaces.storage = Some(storage.into());
        n.interfaces.boot = Some(boot.into());
        if !caps.is_empty() {
            n.properties.insert("capabilities".into(), json!(caps));
        }
        n
    }

    fn connector(kind: &str, id: &str) -> VolumeConnector {
        VolumeConnector {
            id: 1,
            uuid: format!("c-{id}"),
            node_id: 1,
            node_uuid: String::new(),
            connector_type: kind.into(),
            connector_id: id.into(),
            extra: JsonObject::new(),
            created_at: NaiveDateTime::default(),
            updated_at: None,
        }
    }

    fn target(kind: &str, boot_index: i32) -> VolumeTarget {
        VolumeTarget {
            id: 1,
            uuid: format!("t-{boot_index}"),
            node_id: 1,
            node_uuid: String::new(),
            volume_type: kind.into(),
            properties: JsonObject::new(),
            boot_index,
            volume_id: format!("vol-{boot_index}"),
            extra: JsonObject::new(),
            created_at: NaiveDateTime::default(),
            updated_at: None,
        }
    }

    fn check(
        n: &Node,
        c: &[VolumeConnector],
        t: &[VolumeTarget],
        cinder: bool,
    ) -> Result<(), String> {
        validate(
            &StorageView {
                node: n,
                connectors: c,
                targets: t,
            },
            cinder,
        )
    }

    #[test]
    fn noop_always_writes_an_image_and_validates() {
        let n = node("noop", "pxe", "");
        assert!(should_write_image(&n, &[target("iscsi", 0)]));
        assert!(check(&n, &[], &[target("bogus", 0)], false).is_ok());
    }

    #[test]
    fn boot_volume_without_image_source_means_boot_from_volume() {
        let mut n = node("external", "ipxe", "");
        assert!(!should_write_image(&n, &[target("iscsi", 0)]));
        assert!(should_write_image(&n, &[target("iscsi", 1)]));
        n.instance_info.insert("image_source".into(), json!("img"));
        assert!(should_write_image(&n, &[target("iscsi", 0)]));
    }

    #[test]
    fn external_needs_ipxe_boot_only_for_boot_from_volume() {
        let t = [target("iscsi", 0)];
        assert!(check(&node("external", "ipxe", ""), &[], &t, false).is_ok());
        assert!(check(&node("external", "fake", ""), &[], &t, false).is_ok());
        let e = check(&node("external", "pxe", ""), &[], &t, false).unwrap_err();
        assert!(e.contains("``ipxe``"), "{e}");
        assert!(check(&node("external", "pxe", ""), &[], &[], false).is_ok());
    }

    #[test]
    fn cinder_checks_connectors_capabilities_and_targets() {
        let iqn = [connector("iqn", "iqn.2024-01.org:n1")];
        let t = [target("iscsi", 0)];
        // An iqn connector needs an iPXE-capable boot interface.
        let e = check(&node("cinder", "pxe", "iscsi_boot:true"), &iqn, &t, true).unwrap_err();
        assert!(e.contains("ipxe_enabled"), "{e}");
        // iscsi_boot without an iqn connector.
        let e = check(&node("cinder", "ipxe", "iscsi_boot:true"), &[], &[], true).unwrap_err();
        assert!(e.contains("'iscsi_boot' capability"), "{e}");
        // A boot volume without the capability.
        let e = check(&node("cinder", "ipxe", ""), &iqn, &t, true).unwrap_err();
        assert!(e.contains("capability 'iscsi_boot' is not set"), "{e}");
        // A target without a matching connector.
        let fc = [target("fibre_channel", 1)];
        let e = check(&node("cinder", "ipxe", ""), &[], &fc, true).unwrap_err();
        assert!(e.contains("no Fibre Channel connector"), "{e}");
        // Unknown volume types are refused.
        let e = check(&node("cinder", "ipxe", ""), &[], &[target("nfs", 1)], true).unwrap_err();
        assert!(e.contains("unknown type 'nfs'"), "{e}");
        // Mismatched FC connector counts.
        let wwxn = [
            connector("wwpn", "a"),
            connector("wwnn", "b"),
            connector("wwnn", "c"),
        ];
        let e = check(&node("cinder", "ipxe", ""), &wwxn, &[], true).unwrap_err();
        assert!(e.contains("differ"), "{e}");
        // A good configuration passes, unless no Cinder endpoint is configured.
        let good = node("cinder", "ipxe", "iscsi_boot:true");
        assert!(check(&good, &iqn, &t, true).is_ok());
        let e = check(&good, &iqn, &t, false).unwrap_err();
        assert!(e.contains("No Cinder endpoint"), "{e}");
    }

    #[test]
    fn deploy_records_the_boot_volume_when_the_boot_interface_can_boot_it() {
        let t = [target("iscsi", 0)];
        let mut info = JsonObject::new();
        let e = populate_internal_info(&node("external", "ipxe", ""), &t, &mut info).unwrap_err();
        assert!(e.contains("no iSCSI boot support"), "{e}");
        // The key's presence is enough, whatever its value.
        populate_internal_info(&node("external", "ipxe", "iscsi_boot:false"), &t, &mut info)
            .unwrap();
        assert_eq!(info.get("boot_from_volume"), Some(&json!("t-0")));
        let mut info = JsonObject::new();
        populate_internal_info(&node("external", "fake", "iscsi_boot:true"), &t, &mut info)
            .unwrap();
        assert!(info.is_empty());
    }
}
