//! Boot interfaces: how a node boots its instance. Whether a node boots through iPXE,
//! from the script the boot server renders, is [`Boot::boots_with_ipxe`], and only the
//! `ipxe` implementation says yes.

mod fake;
mod ipxe;
mod pxe;
mod redfish_virtual_media;

use common::model::node::Node;

use super::storage::boot_volume;
use super::validation::{NodeView, require};

/// What a boot interface can do, as Ironic's `capabilities` class attributes say:
/// `IpxeBoot` lets the storage interfaces boot a volume over iPXE, the volume kinds let
/// the boot interface boot a volume of that type.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Capability {
    IpxeBoot,
    IscsiVolumeBoot,
    FibreChannelVolumeBoot,
}

pub trait Boot: Send + Sync {
    fn capabilities(&self) -> &'static [Capability];

    /// Whether the node boots its volume through iPXE, from the boot server's script.
    fn boots_with_ipxe(&self) -> bool;

    /// Checks what the interface needs to boot the node.
    fn validate(&self, view: &NodeView<'_>) -> Result<(), String>;
}

/// The implementation named `name`.
pub fn select(name: &str) -> Option<Box<dyn Boot>> {
    Some(match name {
        "fake" => Box::new(fake::Fake),
        // http-ipxe only loads iPXE over UEFI HTTP instead of PXE: from there on it is iPXE.
        "ipxe" | "http-ipxe" => Box::new(ipxe::Ipxe),
        "pxe" | "http" => Box::new(pxe::Pxe),
        "redfish-virtual-media" => {
            Box::new(redfish_virtual_media::RedfishVirtualMedia { https: false })
        }
        "redfish-https" => Box::new(redfish_virtual_media::RedfishVirtualMedia { https: true }),
        _ => return None,
    })
}

/// The boot interface of a node, as messages name it.
fn name_of(node: &Node) -> &str {
    node.interfaces.boot.as_deref().unwrap_or_default()
}

/// A node that boots from its volume needs a boot interface that can really boot that
/// kind of volume. Only iPXE's `sanboot` can here (iSCSI); Fibre Channel needs a vendor
/// driver programming the HBA, and Redfish offers no standard way to set up SAN boot.
fn require_boot_volume_support(view: &NodeView<'_>) -> Result<(), String> {
    let node = view.node;
    if view.driver.storage.should_write_image(node, view.targets) {
        return Ok(());
    }
    let Some(volume) = boot_volume(view.targets) else {
        return Ok(());
    };
    let boot = name_of(node);
    match volume.volume_type.to_lowercase().as_str() {
        "iscsi" if view.driver.boot.boots_with_ipxe() => Ok(()),
        "iscsi" => Err(format!(
            "Node {} boots from an iSCSI volume, which boot interface '{boot}' cannot do; set boot_interface to 'ipxe'.",
            node.uuid
        )),
        "fibre_channel" => Err(format!(
            "Node {} boots from a Fibre Channel volume, but no driver available here can program Fibre Channel boot on the node's HBA; boot it from an iSCSI volume instead.",
            node.uuid
        )),
        other => Err(format!(
            "Node {} boots from a volume of type '{other}', which sanlink cannot boot; supported: 'iscsi'.",
            node.uuid
        )),
    }
}

/// The network boot interfaces find the node by its ports' MACs.
fn require_ports(view: &NodeView<'_>) -> Result<(), String> {
    if view.ports.is_empty() {
        return Err(format!(
            "Node {} does not have any port associated with it.",
            view.node.uuid
        ));
    }
    Ok(())
}

/// The agent ramdisk is only booted when an image is written.
fn require_deploy_images(view: &NodeView<'_>) -> Result<(), String> {
    if view
        .driver
        .storage
        .should_write_image(view.node, view.targets)
    {
        require(view.node, "deploy", &["deploy_kernel", "deploy_ramdisk"])
    } else {
        Ok(())
    }
}
