//! Management interfaces: where a node boots from, and its non-maskable interrupt.
//! `redfish` reads and overrides the boot source on the BMC and resets with `Nmi`;
//! `fake` and `noop` answer as Ironic's do without hardware; `ipmitool` is not spoken
//! yet.

mod fake;
mod ipmi;
mod noop;
mod redfish;

use std::sync::Arc;

use common::model::node::Node;
use common::rpc::BootDeviceState;

pub use common::model::states::BootDevice;

use super::redfish::Connector;

#[async_trait::async_trait]
pub trait Management: Send + Sync {
    /// Checks that the node's driver_info lets the interface reach the BMC.
    fn validate(&self, node: &Node) -> Result<(), String>;

    /// The devices [`Management::set_boot_device`] accepts, in Ironic's order.
    async fn supported_boot_devices(&self, node: &Node) -> Result<Vec<BootDevice>, String>;

    /// The device the node boots from next, and whether that persists.
    async fn get_boot_device(&self, node: &Node) -> Result<BootDeviceState, String>;

    /// Makes the node boot from `device`, on every boot when `persistent`, else once.
    async fn set_boot_device(
        &self,
        node: &Node,
        device: BootDevice,
        persistent: bool,
    ) -> Result<(), String>;

    /// Whether [`Management::inject_nmi`] does anything: Ironic's management
    /// interfaces refuse it unless they implement it.
    fn supports_nmi(&self) -> bool {
        false
    }

    /// Sends the node a non-maskable interrupt, now.
    async fn inject_nmi(&self, _node: &Node) -> Result<(), String> {
        Err("this management interface cannot inject an NMI".into())
    }
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
