//! The `redfish-virtual-media` and `redfish-https` boot interfaces: the BMC inserts a
//! boot image. sanlink checks their configuration; it boots no volume through them.

use super::{Boot, Capability, require_boot_volume_support, require_deploy_images};
use crate::drivers::validation::{NodeView, require};

/// `https` for `redfish-https`, which boots over UEFI HTTP and claims no volume boot.
pub struct RedfishVirtualMedia {
    pub https: bool,
}

impl Boot for RedfishVirtualMedia {
    fn capabilities(&self) -> &'static [Capability] {
        if self.https {
            &[]
        } else {
            &[Capability::IscsiVolumeBoot]
        }
    }

    fn boots_with_ipxe(&self) -> bool {
        false
    }

    fn validate(&self, view: &NodeView<'_>) -> Result<(), String> {
        require(view.node, "Redfish", &["redfish_address"])?;
        require_boot_volume_support(view)?;
        require_deploy_images(view)
    }
}
