//! Management interfaces: where a node boots from. `redfish` overrides the boot source
//! on the BMC; `fake` and `noop` have nothing to set.

use common::model::node::Node;

use super::redfish::{Bmc, BootDevice};

/// Makes the node boot from `device`, on every boot when `persistent`, else once.
pub async fn set_boot_device(
    node: &Node,
    device: BootDevice,
    persistent: bool,
) -> Result<(), String> {
    match node.interfaces.management.as_deref().unwrap_or_default() {
        "redfish" => {
            Bmc::for_node(node)?
                .set_boot_device(device, persistent)
                .await
        }
        "fake" | "noop" | "" => Ok(()),
        other => Err(format!(
            "The {other} management interface is not implemented by sanlink yet."
        )),
    }
}

/// Whether a deploy must point the node at the network first: the iPXE and PXE boot
/// interfaces boot the instance through the network, on every boot.
pub fn boots_from_network(node: &Node) -> bool {
    matches!(node.interfaces.boot.as_deref(), Some("ipxe" | "pxe"))
}
