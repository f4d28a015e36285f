//! The `external` storage interface: volumes are attached by someone else (the SAN's
//! operator); the node only has to be able to boot them.

use common::model::node::Node;
use common::model::volume::VolumeTarget;

use super::{Storage, boot_name, has_ipxe_boot, image_requested};
use crate::drivers::validation::NodeView;

pub struct External;

#[async_trait::async_trait]
impl Storage for External {
    fn should_write_image(&self, node: &Node, targets: &[VolumeTarget]) -> bool {
        image_requested(node, targets)
    }

    fn validate(&self, view: &NodeView<'_>) -> Result<(), String> {
        if !self.should_write_image(view.node, view.targets) && !has_ipxe_boot(view) {
            return Err(format!(
                "The node {} is configured to boot from a remote volume, which requires the boot interface to be set to ``ipxe``; its boot interface is '{}'.",
                view.node.uuid,
                boot_name(view.node)
            ));
        }
        Ok(())
    }
}
