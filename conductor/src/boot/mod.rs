//! Network boot: the iPXE scripts that boot a node from its SAN volume, and the HTTP
//! server that hands them to booting nodes.

pub mod ipxe;
pub mod server;

use common::model::node::Node;
use common::model::volume::VolumeTarget;

use crate::drivers::boot::Boot;

/// Checked at deploy: the script is rendered only when the node boots, so targets it
/// cannot be rendered from (an extra volume without CHAP credentials, a LUN that is not
/// a number) fail the deploy instead of the boot.
pub fn check_deploy(boot: &dyn Boot, node: &Node, targets: &[VolumeTarget]) -> Result<(), String> {
    if !boot.boots_with_ipxe() || !node.driver_internal_info.contains_key("boot_from_volume") {
        return Ok(());
    }
    ipxe::bfv_options(&[], targets).map(|_| ())
}
