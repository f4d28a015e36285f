//! The `ipmitool` power interface. IPMI is not spoken yet: the driver_info is checked,
//! and actions fail the way an unreachable BMC would.

use std::time::Duration;

use common::model::node::Node;
use common::model::states::{PowerState, PowerTarget};

use super::Power;
use crate::drivers::validation::require;

pub struct Ipmitool;

const NOT_SPOKEN: &str = "The ipmitool power interface is not implemented by sanlink yet.";

#[async_trait::async_trait]
impl Power for Ipmitool {
    fn validate(&self, node: &Node) -> Result<(), String> {
        require(node, "ipmitool", &["ipmi_address"])
    }

    async fn get_power_state(&self, _node: &Node) -> Result<Option<PowerState>, String> {
        Err(NOT_SPOKEN.into())
    }

    async fn set_power_state(
        &self,
        _node: &Node,
        _target: PowerTarget,
        _wait: Option<Duration>,
    ) -> Result<PowerState, String> {
        Err(NOT_SPOKEN.into())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn needs_an_address_and_is_not_spoken_yet() {
        let mut node = Node::default();
        assert!(
            Ipmitool
                .validate(&node)
                .unwrap_err()
                .contains("ipmi_address")
        );
        node.driver_info
            .insert("ipmi_address".into(), "10.0.0.1".into());
        assert!(Ipmitool.validate(&node).is_ok());
        let result = Ipmitool
            .set_power_state(&node, PowerTarget::PowerOn, None)
            .await;
        assert_eq!(result, Err(NOT_SPOKEN.to_string()));
    }
}
