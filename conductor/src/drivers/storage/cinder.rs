//! The `cinder` storage interface: checks connectors, capabilities and targets as
//! Ironic's does. Attaching needs a Cinder endpoint, and none is configured yet.

use common::model::node::{Node, truthy};
use common::model::volume::VolumeTarget;

use super::{Storage, has_ipxe_boot, image_requested};
use crate::drivers::validation::NodeView;

const ISCSI_CONNECTOR_TYPES: [&str; 1] = ["iqn"];
const FC_CONNECTOR_TYPES: [&str; 2] = ["wwpn", "wwnn"];

pub struct Cinder;

impl Storage for Cinder {
    fn should_write_image(&self, node: &Node, targets: &[VolumeTarget]) -> bool {
        image_requested(node, targets)
    }

    fn validate(&self, view: &NodeView<'_>) -> Result<(), String> {
        validate_cinder(view)
    }

    fn attach_volumes(&self, node: &Node, targets: &[VolumeTarget]) -> Result<(), String> {
        if targets.is_empty() {
            return Ok(());
        }
        Err(format!(
            "Unable to attach volumes of node {}: no Cinder endpoint is configured.",
            node.uuid
        ))
    }
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

fn check_connectors(view: &NodeView<'_>) -> Result<FoundConnectors, String> {
    let node = view.node;
    let mut iscsi = 0;
    let (mut wwpn, mut wwnn) = (0, 0);
    for c in view.connectors {
        let kind = c.connector_type.as_str();
        if ISCSI_CONNECTOR_TYPES.contains(&kind) {
            iscsi += 1;
            if !has_ipxe_boot(view) {
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

fn validate_cinder(view: &NodeView<'_>) -> Result<(), String> {
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
    if !view.cinder_configured {
        return Err(cinder_failure(
            node,
            "No Cinder endpoint is configured, so volumes cannot be attached through Cinder; use the 'external' storage interface.".into(),
        ));
    }
    Ok(())
}
