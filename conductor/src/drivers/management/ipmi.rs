//! The `ipmitool` management interface. IPMI is not spoken yet: the driver_info is
//! checked, and setting a boot device fails.

use common::model::node::Node;

use super::{BootDevice, Management};
use crate::drivers::validation::require;

pub struct Ipmitool;

#[async_trait::async_trait]
impl Management for Ipmitool {
    fn validate(&self, node: &Node) -> Result<(), String> {
        require(node, "IPMI", &["ipmi_address"])
    }

    async fn set_boot_device(&self, _: &Node, _: BootDevice, _: bool) -> Result<(), String> {
        Err("The ipmitool management interface is not implemented by sanlink yet.".into())
    }
}
