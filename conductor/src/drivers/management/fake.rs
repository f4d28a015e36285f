//! The `fake` management interface, as Ironic's: it supports PXE only, accepts it and
//! forgets it, and always reports a one-time PXE boot.

use common::model::node::Node;
use common::rpc::BootDeviceState;

use super::{BootDevice, Management};

pub struct Fake;

#[async_trait::async_trait]
impl Management for Fake {
    fn validate(&self, _node: &Node) -> Result<(), String> {
        Ok(())
    }

    async fn supported_boot_devices(&self, _: &Node) -> Result<Vec<BootDevice>, String> {
        Ok(vec![BootDevice::Pxe])
    }

    async fn get_boot_device(&self, _: &Node) -> Result<BootDeviceState, String> {
        Ok(BootDeviceState {
            boot_device: Some(BootDevice::Pxe),
            persistent: Some(false),
        })
    }

    async fn set_boot_device(&self, _: &Node, _: BootDevice, _: bool) -> Result<(), String> {
        Ok(())
    }
}
