//! The `fake` power interface: the node is in whatever state it was last asked for.

use std::time::Duration;

use common::model::node::Node;
use common::model::states::{PowerState, PowerTarget};

use super::Power;

pub struct Fake;

#[async_trait::async_trait]
impl Power for Fake {
    fn validate(&self, _node: &Node) -> Result<(), String> {
        Ok(())
    }

    async fn get_power_state(&self, node: &Node) -> Result<Option<PowerState>, String> {
        Ok(node.power_state)
    }

    async fn set_power_state(
        &self,
        _node: &Node,
        target: PowerTarget,
        _wait: Option<Duration>,
    ) -> Result<PowerState, String> {
        Ok(target.resulting_state())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn reports_the_stored_state_and_takes_the_requested_one() {
        let mut node = Node::default();
        assert_eq!(Fake.get_power_state(&node).await.unwrap(), None);
        let state = Fake.set_power_state(&node, PowerTarget::Reboot, None).await;
        assert_eq!(state, Ok(PowerState::On));
        node.power_state = Some(PowerState::Off);
        assert_eq!(
            Fake.get_power_state(&node).await.unwrap(),
            Some(PowerState::Off)
        );
    }
}
