//! The `noop` management interface: the node's boot order is left to the operator, who
//! is expected to have set PXE first, then disk; that is what it reports.

use common::model::node::Node;
use common::rpc::BootDeviceState;

use super::{BootDevice, Management};

pub struct Noop;

#[async_trait::async_trait]
impl Management for Noop {
    fn validate(&self, _node: &Node) -> Result<(), String> {
        Ok(())
    }

    async fn supported_boot_devices(&self, _: &Node) -> Result<Vec<BootDevice>, String> {
        Ok(vec![BootDevice::Pxe, BootDevice::Disk])
    }

    async fn get_boot_device(&self, _: &Node) -> Result<BootDeviceState, String> {
        Ok(BootDeviceState {
            boot_device: Some(BootDevice::Pxe),
            persistent: Some(true),
        })
    }

    async fn set_boot_device(&self, _: &Node, _: BootDevice, _: bool) -> Result<(), String> {
        Ok(())
    }
}
