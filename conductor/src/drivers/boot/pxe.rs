//! The `pxe` and `http` boot interfaces: plain network boot, which loads a kernel and
//! ramdisk but cannot boot a volume.

use super::{Boot, Capability, require_boot_volume_support, require_deploy_images, require_ports};
use crate::drivers::validation::NodeView;

pub struct Pxe;

impl Boot for Pxe {
    fn capabilities(&self) -> &'static [Capability] {
        &[]
    }

    fn boots_with_ipxe(&self) -> bool {
        false
    }

    fn validate(&self, view: &NodeView<'_>) -> Result<(), String> {
        require_boot_volume_support(view)?;
        require_ports(view)?;
        require_deploy_images(view)
    }
}
