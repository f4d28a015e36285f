//! The `fake` deploy interface: deploys and tear-downs touch no hardware, and volume
//! targets are left to Nova, which deletes them itself.

use async_trait::async_trait;

use common::model::node::Node;

use super::Deploy;
use crate::drivers::Driver;
use crate::drivers::storage::Volumes;
use crate::drivers::validation::NodeView;

pub struct Fake;

#[async_trait]
impl Deploy for Fake {
    fn validate(&self, _view: &NodeView<'_>) -> Result<(), String> {
        Ok(())
    }

    async fn deploy(&self, _: &Driver, _: &mut Node, _: &mut Volumes) -> Result<(), String> {
        Ok(())
    }

    async fn tear_down(&self, _: &Driver, _: &mut Node, _: &mut Volumes) -> Result<(), String> {
        Ok(())
    }

    fn deletes_volume_targets(&self) -> bool {
        false
    }
}
