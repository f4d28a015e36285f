//! The `redfish` management interface: sets the boot source override on the node's BMC.

use std::sync::Arc;

use common::model::node::Node;

use super::{BootDevice, Management};
use crate::drivers::redfish::{self, Connector};
use crate::drivers::validation::require;

pub struct Redfish {
    bmcs: Arc<dyn Connector>,
}

impl Redfish {
    pub fn new(bmcs: Arc<dyn Connector>) -> Redfish {
        Redfish { bmcs }
    }
}

#[async_trait::async_trait]
impl Management for Redfish {
    fn validate(&self, node: &Node) -> Result<(), String> {
        require(node, "Redfish", &["redfish_address"])?;
        redfish::validate(node)
    }

    async fn set_boot_device(
        &self,
        node: &Node,
        device: BootDevice,
        persistent: bool,
    ) -> Result<(), String> {
        let bmc = self.bmcs.connect(node)?;
        bmc.set_boot_override(device, persistent).await
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::drivers::redfish::fake::FakeBmc;
    use common::model::states::PowerState;

    #[tokio::test]
    async fn the_boot_device_is_overridden_on_the_bmc() {
        let bmc = FakeBmc::new(PowerState::Off);
        let management = Redfish::new(Arc::new(bmc.clone()));
        management
            .set_boot_device(&Node::default(), BootDevice::Pxe, true)
            .await
            .unwrap();
        assert_eq!(bmc.system().boot, Some((BootDevice::Pxe, true)));
    }
}
