//! The `ramdisk` deploy interface: the instance is a ramdisk, so no `image_source` is
//! needed to validate; deploys otherwise go as for the agent-based interfaces.

use async_trait::async_trait;

use common::model::node::Node;
use common::model::volume::VolumeTarget;

use super::{Deploy, boot_existing_volume, power_off, validate_common};
use crate::drivers::Driver;
use crate::drivers::validation::NodeView;

pub struct Ramdisk;

#[async_trait]
impl Deploy for Ramdisk {
    fn validate(&self, view: &NodeView) -> Result<(), String> {
        validate_common(view, false)
    }

    async fn deploy(
        &self,
        driver: &Driver,
        node: &mut Node,
        targets: &[VolumeTarget],
    ) -> Result<(), String> {
        boot_existing_volume(driver, node, targets).await
    }

    async fn tear_down(
        &self,
        driver: &Driver,
        node: &mut Node,
        targets: &[VolumeTarget],
    ) -> Result<(), String> {
        power_off(driver, node, targets).await
    }

    fn deletes_volume_targets(&self) -> bool {
        true
    }
}
