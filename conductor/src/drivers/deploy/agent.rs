//! The agent-based deploy interfaces (`autodetect`, `direct`, `bootc`, `anaconda`): they
//! need an image to write unless the node boots an existing volume.

use async_trait::async_trait;

use common::model::node::Node;
use common::model::volume::VolumeTarget;

use super::{Deploy, boot_existing_volume, power_off, validate_common};
use crate::drivers::Driver;
use crate::drivers::validation::NodeView;

pub struct Agent;

#[async_trait]
impl Deploy for Agent {
    fn validate(&self, view: &NodeView) -> Result<(), String> {
        validate_common(view, true)
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
