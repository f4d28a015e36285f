//! The `redfish` management interface: reads and sets the boot source override on the
//! node's BMC, and injects NMIs with the ComputerSystem's `Nmi` reset.

use std::sync::Arc;

use common::model::node::Node;
use common::rpc::BootDeviceState;

use super::{BootDevice, Management};
use crate::drivers::redfish::{self, BOOT_TARGETS, Connector, ResetType};
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

    /// What the BMC allows, of the devices Ironic maps to Redfish targets; all of
    /// them when the BMC does not list its allowable targets.
    async fn supported_boot_devices(&self, node: &Node) -> Result<Vec<BootDevice>, String> {
        let current = self.bmcs.connect(node)?.boot_override().await?;
        Ok(current
            .allowed
            .unwrap_or_else(|| BOOT_TARGETS.iter().map(|(d, _)| *d).collect()))
    }

    async fn get_boot_device(&self, node: &Node) -> Result<BootDeviceState, String> {
        let current = self.bmcs.connect(node)?.boot_override().await?;
        Ok(BootDeviceState {
            boot_device: current.device,
            persistent: current.persistent,
        })
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

    fn supports_nmi(&self) -> bool {
        true
    }

    async fn inject_nmi(&self, node: &Node) -> Result<(), String> {
        self.bmcs.connect(node)?.reset(ResetType::Nmi).await
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::drivers::redfish::fake::FakeBmc;
    use common::model::states::PowerState;

    fn redfish(bmc: &FakeBmc) -> Redfish {
        Redfish::new(Arc::new(bmc.clone()))
    }

    #[tokio::test]
    async fn the_boot_device_is_overridden_on_the_bmc_and_read_back() {
        let bmc = FakeBmc::new(PowerState::Off);
        let management = redfish(&bmc);
        let node = Node::default();
        let unknown = BootDeviceState {
            boot_device: None,
            persistent: None,
        };
        assert_eq!(management.get_boot_device(&node).await, Ok(unknown));
        management
            .set_boot_device(&node, BootDevice::Pxe, true)
            .await
            .unwrap();
        assert_eq!(bmc.system().boot, Some((BootDevice::Pxe, true)));
        management
            .set_boot_device(&node, BootDevice::Cdrom, false)
            .await
            .unwrap();
        let read = management.get_boot_device(&node).await.unwrap();
        assert_eq!(read.boot_device, Some(BootDevice::Cdrom));
        assert_eq!(read.persistent, Some(false));
    }

    #[tokio::test]
    async fn supported_devices_are_those_the_bmc_allows() {
        let bmc = FakeBmc::new(PowerState::Off);
        let management = redfish(&bmc);
        let node = Node::default();
        bmc.edit(|s| s.allowed = Some(vec![BootDevice::Pxe, BootDevice::Disk]));
        assert_eq!(
            management.supported_boot_devices(&node).await,
            Ok(vec![BootDevice::Pxe, BootDevice::Disk])
        );
        bmc.edit(|s| s.allowed = None);
        let all = management.supported_boot_devices(&node).await.unwrap();
        assert_eq!(all.len(), BOOT_TARGETS.len());
        assert_eq!(all[0], BootDevice::Pxe);
    }

    #[tokio::test]
    async fn an_nmi_is_a_reset_that_keeps_the_power_state() {
        let bmc = FakeBmc::new(PowerState::On);
        let management = redfish(&bmc);
        assert!(management.supports_nmi());
        management.inject_nmi(&Node::default()).await.unwrap();
        assert_eq!(bmc.system().resets, [ResetType::Nmi]);
        assert_eq!(bmc.system().power, PowerState::On);
    }

    #[tokio::test]
    async fn an_unreachable_bmc_is_a_failure() {
        let bmc = FakeBmc::new(PowerState::On);
        bmc.edit(|s| s.failure = Some("BMC unreachable at https://fake-bmc".into()));
        let management = redfish(&bmc);
        let node = Node::default();
        assert!(management.get_boot_device(&node).await.is_err());
        assert!(management.inject_nmi(&node).await.is_err());
    }
}
