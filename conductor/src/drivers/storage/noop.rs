//! The `noop` storage interface, which also serves as `fake`: it accepts any
//! configuration, attaches nothing, and the node never boots from a volume.

use common::model::node::Node;
use common::model::volume::VolumeTarget;

use super::Storage;
use crate::drivers::validation::NodeView;

pub struct Noop;

#[async_trait::async_trait]
impl Storage for Noop {
    fn should_write_image(&self, _: &Node, _: &[VolumeTarget]) -> bool {
        true
    }

    fn validate(&self, _view: &NodeView<'_>) -> Result<(), String> {
        Ok(())
    }
}
