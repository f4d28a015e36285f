//! The `ipxe` and `http-ipxe` boot interfaces: the node's firmware loads iPXE, which
//! fetches the node's script from the boot server and boots the iSCSI volume.

use super::{Boot, Capability, require_boot_volume_support, require_deploy_images, require_ports};
use crate::drivers::validation::NodeView;

pub struct Ipxe;

impl Boot for Ipxe {
    fn capabilities(&self) -> &'static [Capability] {
        &[Capability::IpxeBoot, Capability::IscsiVolumeBoot]
    }

    fn boots_with_ipxe(&self) -> bool {
        true
    }

    fn validate(&self, view: &NodeView<'_>) -> Result<(), String> {
        require_boot_volume_support(view)?;
        require_ports(view)?;
        require_deploy_images(view)
    }
}
