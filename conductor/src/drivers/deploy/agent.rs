//! The agent-based deploy interfaces (`autodetect`, `direct`, `bootc`, `anaconda`) and
//! `ramdisk`: they deploy alike, and differ in whether validation needs an image to
//! write (the agent-based ones do unless the node boots an existing volume; a ramdisk
//! instance never does).

use async_trait::async_trait;

use common::model::node::Node;

use super::{Deploy, boot_existing_volume, power_off_and_detach, validate_common};
use crate::drivers::Driver;
use crate::drivers::storage::Volumes;
use crate::drivers::validation::NodeView;

pub struct Agent {
    /// Whether `instance_info.image_source` is needed when an image is to be written.
    pub needs_image_source: bool,
}

#[async_trait]
impl Deploy for Agent {
    fn validate(&self, view: &NodeView<'_>) -> Result<(), String> {
        validate_common(view, self.needs_image_source)
    }

    async fn deploy(
        &self,
        driver: &Driver,
        node: &mut Node,
        volumes: &mut Volumes,
    ) -> Result<(), String> {
        boot_existing_volume(driver, node, volumes).await
    }

    async fn tear_down(
        &self,
        driver: &Driver,
        node: &mut Node,
        volumes: &mut Volumes,
    ) -> Result<(), String> {
        power_off_and_detach(driver, node, volumes).await
    }

    fn deletes_volume_targets(&self) -> bool {
        true
    }
}
