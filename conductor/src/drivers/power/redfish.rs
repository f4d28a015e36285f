//! The `redfish` power interface: resets the node's ComputerSystem and waits until its
//! BMC reports the state the action leads to.

use std::sync::Arc;
use std::time::{Duration, Instant};

use common::model::node::Node;
use common::model::states::{PowerState, PowerTarget};

use super::Power;
use crate::drivers::redfish::{self, Bmc, Connector, ResetType};
use crate::drivers::validation::require;

/// How long a power action may take to show in the BMC's power state. BMCs apply
/// resets asynchronously; this stays below the RPC timeout so the caller gets a reply.
const DEFAULT_POWER_WAIT: Duration = Duration::from_secs(30);
const POLL_INTERVAL: Duration = Duration::from_millis(500);

pub struct Redfish {
    bmcs: Arc<dyn Connector>,
}

impl Redfish {
    pub fn new(bmcs: Arc<dyn Connector>) -> Redfish {
        Redfish { bmcs }
    }
}

#[async_trait::async_trait]
impl Power for Redfish {
    fn validate(&self, node: &Node) -> Result<(), String> {
        require(node, "redfish", &["redfish_address"])?;
        redfish::validate(node)
    }

    async fn get_power_state(&self, node: &Node) -> Result<Option<PowerState>, String> {
        Ok(Some(self.bmcs.connect(node)?.power_state().await?))
    }

    async fn set_power_state(
        &self,
        node: &Node,
        target: PowerTarget,
        wait: Option<Duration>,
    ) -> Result<PowerState, String> {
        let bmc = self.bmcs.connect(node)?;
        let current = bmc.power_state().await?;
        let Some(reset) = reset_type(target, current) else {
            return Ok(current);
        };
        bmc.reset(reset).await?;
        let wait = wait.unwrap_or(DEFAULT_POWER_WAIT);
        await_power(bmc.as_ref(), target.resulting_state(), wait).await
    }
}

/// The ResetType that takes a system in `current` state to `target`; None when it is
/// there already. Reboots of a powered-off system power it on, as Ironic does.
fn reset_type(target: PowerTarget, current: PowerState) -> Option<ResetType> {
    let on = current == PowerState::On;
    match target {
        PowerTarget::PowerOn if on => None,
        PowerTarget::PowerOff | PowerTarget::SoftPowerOff if !on => None,
        PowerTarget::PowerOn => Some(ResetType::On),
        PowerTarget::PowerOff => Some(ResetType::ForceOff),
        PowerTarget::SoftPowerOff => Some(ResetType::GracefulShutdown),
        PowerTarget::Reboot | PowerTarget::SoftReboot if !on => Some(ResetType::On),
        PowerTarget::Reboot => Some(ResetType::ForceRestart),
        PowerTarget::SoftReboot => Some(ResetType::GracefulRestart),
    }
}

/// Polls the power state until it is `want`. A restart may read as off for a while.
async fn await_power(
    bmc: &dyn Bmc,
    want: PowerState,
    wait: Duration,
) -> Result<PowerState, String> {
    let deadline = Instant::now() + wait;
    loop {
        let state = bmc.power_state().await?;
        if state == want {
            return Ok(state);
        }
        if Instant::now() >= deadline {
            return Err(format!(
                "the BMC at {} still reports {state} {} s after the request for {want}",
                bmc.address(),
                wait.as_secs()
            ));
        }
        tokio::time::sleep(POLL_INTERVAL).await;
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::drivers::redfish::fake::FakeBmc;

    fn redfish(bmc: &FakeBmc) -> Redfish {
        Redfish::new(Arc::new(bmc.clone()))
    }

    #[test]
    fn resets_only_when_the_state_must_change() {
        use PowerState::{Off, On};
        assert_eq!(reset_type(PowerTarget::PowerOn, On), None);
        assert_eq!(reset_type(PowerTarget::PowerOn, Off), Some(ResetType::On));
        assert_eq!(
            reset_type(PowerTarget::PowerOff, On),
            Some(ResetType::ForceOff)
        );
        assert_eq!(
            reset_type(PowerTarget::SoftPowerOff, On),
            Some(ResetType::GracefulShutdown)
        );
        assert_eq!(reset_type(PowerTarget::Reboot, Off), Some(ResetType::On));
        assert_eq!(
            reset_type(PowerTarget::Reboot, On),
            Some(ResetType::ForceRestart)
        );
        assert_eq!(
            reset_type(PowerTarget::SoftReboot, On),
            Some(ResetType::GracefulRestart)
        );
    }

    #[tokio::test]
    async fn actions_reset_the_system_and_read_the_result_back() {
        let bmc = FakeBmc::new(PowerState::Off);
        let power = redfish(&bmc);
        let node = Node::default();
        assert_eq!(
            power.get_power_state(&node).await,
            Ok(Some(PowerState::Off))
        );
        let state = power
            .set_power_state(&node, PowerTarget::Reboot, None)
            .await;
        assert_eq!(state, Ok(PowerState::On));
        // Already on: nothing to reset.
        let state = power
            .set_power_state(&node, PowerTarget::PowerOn, None)
            .await;
        assert_eq!(state, Ok(PowerState::On));
        assert_eq!(bmc.system().resets, [ResetType::On]);
    }

    #[tokio::test]
    async fn a_reset_that_never_shows_is_a_failure_naming_the_bmc() {
        let bmc = FakeBmc::new(PowerState::On);
        bmc.edit(|s| s.stuck = true);
        let node = Node::default();
        let e = redfish(&bmc)
            .set_power_state(&node, PowerTarget::PowerOff, Some(Duration::ZERO))
            .await
            .unwrap_err();
        assert_eq!(
            e,
            "the BMC at https://fake-bmc still reports power on 0 s after the request for power off"
        );
    }

    #[test]
    fn the_address_must_be_an_http_url() {
        let power = redfish(&FakeBmc::new(PowerState::Off));
        let mut node = Node::default();
        assert!(
            power
                .validate(&node)
                .unwrap_err()
                .contains("redfish_address")
        );
        node.driver_info
            .insert("redfish_address".into(), "gopher://bmc".into());
        assert!(power.validate(&node).unwrap_err().contains("http"));
        node.driver_info
            .insert("redfish_address".into(), "https://bmc".into());
        assert!(power.validate(&node).is_ok());
    }
}
