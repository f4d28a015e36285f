//! Power interfaces. `fake` stores the requested state and reports the stored one;
//! `redfish` asks the node's BMC (see `redfish`). IPMI is not spoken yet, so its
//! actions fail the way an unreachable BMC would.
//!
//! Reads and actions are async network I/O: callers run them outside any database
//! transaction.

use std::time::Duration;

use common::model::node::Node;
use common::model::states::{POWER_OFF, POWER_ON, REBOOT, SOFT_POWER_OFF, SOFT_REBOOT};

use super::redfish::{self, Bmc};

/// Targets a power request may name.
pub const TARGETS: [&str; 5] = [POWER_ON, POWER_OFF, REBOOT, SOFT_POWER_OFF, SOFT_REBOOT];

fn power_of(node: &Node) -> &str {
    node.interfaces.power.as_deref().unwrap_or("")
}

fn unsupported(node: &Node) -> String {
    format!(
        "The {} power interface is not implemented by sanlink yet.",
        power_of(node)
    )
}

/// The state a node is in once `target` completed.
pub fn resulting_state(target: &str) -> &'static str {
    match target {
        POWER_OFF | SOFT_POWER_OFF => POWER_OFF,
        _ => POWER_ON,
    }
}

/// Reads the node's power state from its BMC.
pub async fn get_power_state(node: &Node) -> Result<Option<String>, String> {
    match power_of(node) {
        "fake" => Ok(node.power_state.clone()),
        "redfish" => Ok(Some(Bmc::for_node(node)?.power_state().await?)),
        _ => Err(unsupported(node)),
    }
}

/// Drives the node to `target`, waiting up to `wait` (a default when None) for the BMC
/// to report the result; on success `node.power_state` holds the state read back.
pub async fn set_power_state(
    node: &mut Node,
    target: &str,
    wait: Option<Duration>,
) -> Result<(), String> {
    match power_of(node) {
        "fake" => {
            node.power_state = Some(resulting_state(target).to_string());
            Ok(())
        }
        "redfish" => {
            let wait = wait.unwrap_or(redfish::DEFAULT_POWER_WAIT);
            let state = Bmc::for_node(node)?.set_power(target, wait).await?;
            node.power_state = Some(state);
            Ok(())
        }
        _ => Err(unsupported(node)),
    }
}

/// Checks that the node's driver_info lets the power interface reach the BMC.
pub fn validate(node: &Node) -> Result<(), String> {
    let required: &[&str] = match power_of(node) {
        "ipmitool" => &["ipmi_address"],
        "redfish" => &["redfish_address"],
        _ => &[],
    };
    let missing: Vec<&str> = required
        .iter()
        .copied()
        .filter(|k| !node.driver_info.contains_key(*k))
        .collect();
    if missing.is_empty() {
        if power_of(node) == "redfish" {
            redfish::validate(node)?;
        }
        Ok(())
    } else {
        Err(format!(
            "Missing the following {} properties in node {} driver_info: {}.",
            power_of(node),
            node.uuid,
            missing.join(", ")
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn fake_power_stores_the_requested_state() {
        let mut node = Node::default();
        node.interfaces.power = Some("fake".into());
        assert_eq!(get_power_state(&node).await.unwrap(), None);
        set_power_state(&mut node, REBOOT, None).await.unwrap();
        assert_eq!(node.power_state.as_deref(), Some(POWER_ON));
        set_power_state(&mut node, SOFT_POWER_OFF, None)
            .await
            .unwrap();
        assert_eq!(
            get_power_state(&node).await.unwrap().as_deref(),
            Some(POWER_OFF)
        );
    }

    #[test]
    fn a_redfish_address_must_be_an_http_url() {
        let mut node = Node::default();
        node.interfaces.power = Some("redfish".into());
        assert!(validate(&node).unwrap_err().contains("redfish_address"));
        node.driver_info
            .insert("redfish_address".into(), "gopher://bmc".into());
        assert!(validate(&node).unwrap_err().contains("http"));
        node.driver_info
            .insert("redfish_address".into(), "https://bmc".into());
        assert!(validate(&node).is_ok());
    }

    #[tokio::test]
    async fn ipmi_needs_an_address_and_is_not_spoken_yet() {
        let mut node = Node::default();
        node.interfaces.power = Some("ipmitool".into());
        assert!(validate(&node).unwrap_err().contains("ipmi_address"));
        node.driver_info
            .insert("ipmi_address".into(), "10.0.0.1".into());
        assert!(validate(&node).is_ok());
        assert!(set_power_state(&mut node, POWER_ON, None).await.is_err());
    }
}
