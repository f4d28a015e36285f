//! The `fake` boot interface: boots nothing and needs nothing. It claims iPXE so that
//! the storage checks pass, but renders no boot-from-volume script.

use super::{Boot, Capability};
use crate::drivers::validation::NodeView;

pub struct Fake;

impl Boot for Fake {
    fn capabilities(&self) -> &'static [Capability] {
        &[Capability::IpxeBoot]
    }

    fn boots_with_ipxe(&self) -> bool {
        false
    }

    fn validate(&self, _view: &NodeView<'_>) -> Result<(), String> {
        Ok(())
    }
}
