//! Power interfaces: `fake` takes the state it is asked for, `redfish` drives the
//! node's BMC, and `ipmitool` is not spoken yet, so its actions fail the way an
//! unreachable BMC would. [`power_action`] is the action API requests, deploys and
//! tear-downs share (Ironic's `node_power_action`).
//!
//! Reads and actions are async network I/O: callers run them outside any database
//! transaction.

mod fake;
mod ipmi;
mod redfish;

use std::sync::Arc;
use std::time::Duration;

use common::model::node::Node;
use common::model::states::{PowerState, PowerTarget, ProvisionState};

use super::Driver;
use super::redfish::Connector;
use super::storage::{DetachReason, Volumes};

#[async_trait::async_trait]
pub trait Power: Send + Sync {
    /// Checks that the node's driver_info lets the interface reach the BMC.
    fn validate(&self, node: &Node) -> Result<(), String>;

    /// The node's power state, as the BMC reports it.
    async fn get_power_state(&self, node: &Node) -> Result<Option<PowerState>, String>;

    /// Drives the node to `target`, waiting up to `wait` (a default when None) for the
    /// BMC to report the result; returns the state read back.
    async fn set_power_state(
        &self,
        node: &Node,
        target: PowerTarget,
        wait: Option<Duration>,
    ) -> Result<PowerState, String>;
}

/// The implementation named `name`; `bmcs` reaches the BMCs of Redfish nodes.
pub fn select(name: &str, bmcs: &Arc<dyn Connector>) -> Option<Box<dyn Power>> {
    Some(match name {
        "fake" => Box::new(fake::Fake),
        "ipmitool" => Box::new(ipmi::Ipmitool),
        "redfish" => Box::new(redfish::Redfish::new(bmcs.clone())),
        _ => return None,
    })
}

/// Drives the node to `target`, attaching volumes first when an active node powers on,
/// and detaching them after an active node powered off (a failure to detach is only
/// logged), as Ironic's `node_power_action` does. Deploys and tear-downs run with the
/// node in `deploying` and `deleting`, so they do neither here. On failure the node
/// keeps its power state and `last_error` says why; either way `target_power_state`
/// ends cleared.
pub async fn power_action(
    driver: &Driver,
    node: &mut Node,
    volumes: &mut Volumes,
    target: PowerTarget,
    wait: Option<Duration>,
) -> Result<(), String> {
    let powering_on = target.resulting_state() == PowerState::On;
    let active = node.provision_state == ProvisionState::Active;
    let attached = if powering_on && active {
        driver.storage.attach_volumes(node, volumes).await
    } else {
        Ok(())
    };
    let result = match attached {
        Ok(()) => driver.power.set_power_state(node, target, wait).await,
        Err(e) => Err(e),
    };
    node.target_power_state = None;
    match result {
        Ok(state) => {
            node.power_state = Some(state);
            node.last_error = None;
            if target.resulting_state() == PowerState::Off && active {
                let reason = DetachReason::PowerOff;
                if let Err(e) = driver.storage.detach_volumes(node, volumes, reason).await {
                    tracing::warn!(node = %node.uuid, error = %e, "volume detachment failed");
                }
            }
            Ok(())
        }
        Err(reason) => {
            let error = format!(
                "Failed to change power state to '{target}' by '{}'. Error: {reason}",
                node.interfaces.power.as_deref().unwrap_or_default()
            );
            tracing::warn!(node = %node.uuid, error, "power action failed");
            node.last_error = Some(error.clone());
            Err(error)
        }
    }
}
