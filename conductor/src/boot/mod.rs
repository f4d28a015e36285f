//! Network boot: the iPXE scripts that boot a node from its SAN volume, and the HTTP
//! server that hands them to booting nodes.

pub mod ipxe;
pub mod server;

use common::model::node::Node;
use common::model::volume::VolumeTarget;

/// Boot interfaces that boot volumes through the iPXE script.
pub const IPXE_BOOT_INTERFACES: [&str; 2] = ["ipxe", "http-ipxe"];

/// True when the node's boot interface serves it the boot-from-volume script.
pub fn boots_with_ipxe(node: &Node) -> bool {
    IPXE_BOOT_INTERFACES.contains(&node.interfaces.boot.as_deref().unwrap_or(""))
}

/// Checked at deploy: the script is rendered only when the node boots, so targets it
/// cannot be rendered from (an extra volume without CHAP credentials, a LUN that is not
/// a number) fail the deploy instead of the boot.
pub fn check_deploy(node: &Node, targets: &[VolumeTarget]) -> Result<(), String> {
    if !boots_with_ipxe(node) || !node.driver_internal_info.contains_key("boot_from_volume") {
        return Ok(());
    }
    ipxe::bfv_options(&[], targets).map(|_| ())
}
