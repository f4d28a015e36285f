//! The `ipmitool` management interface. IPMI is not spoken yet: the driver_info is
//! checked, and reading or setting a boot device fails.

use common::model::node::Node;
use common::rpc::BootDeviceState;

use super::{BootDevice, Management};
use crate::drivers::validation::require;

pub struct Ipmitool;

const NOT_SPOKEN: &str = "The ipmitool management interface is not implemented by sanlink yet.";

#[async_trait::async_trait]
impl Management for Ipmitool {
    fn validate(&self, node: &Node) -> Result<(), String> {
        require(node, "IPMI", &["ipmi_address"])
    }

    /// Ironic's list for ipmitool: what `ipmitool chassis bootdev` takes.
    async fn supported_boot_devices(&self, _: &Node) -> Result<Vec<BootDevice>, String> {
        Ok(vec![
            BootDevice::Pxe,
            BootDevice::Disk,
            BootDevice::Cdrom,
            BootDevice::Bios,
            BootDevice::Safe,
        ])
    }

    async fn get_boot_device(&self, _: &Node) -> Result<BootDeviceState, String> {
        Err(NOT_SPOKEN.into())
    }

    async fn set_boot_device(&self, _: &Node, _: BootDevice, _: bool) -> Result<(), String> {
        Err(NOT_SPOKEN.into())
    }

    // Ironic's ipmitool interface injects NMIs: the call is accepted, and fails.
    fn supports_nmi(&self) -> bool {
        true
    }

    async fn inject_nmi(&self, _: &Node) -> Result<(), String> {
        Err(NOT_SPOKEN.into())
    }
}
