//! The `noop` management interface: the node's boot order is left to the operator.

use common::model::node::Node;

use super::{BootDevice, Management};

pub struct Noop;

#[async_trait::async_trait]
impl Management for Noop {
    fn validate(&self, _node: &Node) -> Result<(), String> {
        Ok(())
    }

    async fn set_boot_device(&self, _: &Node, _: BootDevice, _: bool) -> Result<(), String> {
        Ok(())
    }
}
