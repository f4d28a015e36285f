//! Management interfaces: where a node boots from. `redfish` overrides the boot source
//! on the BMC; `fake` and `noop` have nothing to set; `ipmitool` is not spoken yet.

mod fake;
mod ipmi;
mod noop;
mod redfish;

use std::sync::Arc;

use common::model::node::Node;

use super::redfish::Connector;

/// Where the next boot goes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum BootDevice {
    Pxe,
    Disk,
}

#[async_trait::async_trait]
pub trait Management: Send + Sync {
    /// Checks that the node's driver_info lets the interface reach the BMC.
    fn validate(&self, node: &Node) -> Result<(), String>;

    /// Makes the node boot from `device`, on every boot when `persistent`, else once.
    async fn set_boot_device(
        &self,
        node: &Node,
        device: BootDevice,
        persistent: bool,
    ) -> Result<(), String>;
}

/// The implementation named `name`; `bmcs` reaches the BMCs of Redfish nodes.
pub fn select(name: &str, bmcs: &Arc<dyn Connector>) -> Option<Box<dyn Management>> {
    Some(match name {
        "fake" => Box::new(fake::Fake),
        "noop" => Box::new(noop::Noop),
        "ipmitool" => Box::new(ipmi::Ipmitool),
        "redfish" => Box::new(redfish::Redfish::new(bmcs.clone())),
        _ => return None,
    })
}
