//! The `fake` storage interface: accepts any configuration and attaches nothing.

use common::model::node::Node;
use common::model::volume::VolumeTarget;

use super::Storage;
use crate::drivers::validation::NodeView;

pub struct Fake;

impl Storage for Fake {
    fn should_write_image(&self, _: &Node, _: &[VolumeTarget]) -> bool {
        true
    }

    fn validate(&self, _view: &NodeView) -> Result<(), String> {
        Ok(())
    }

    fn attach_volumes(&self, _: &Node, _: &[VolumeTarget]) -> Result<(), String> {
        Ok(())
    }
}
