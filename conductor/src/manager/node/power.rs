//! `change_node_power_state`, and the power action that deploys and tear-downs share
//! (Ironic's `node_power_action`): volumes are attached before an active node powers
//! on, and a failure is recorded in `last_error` rather than returned.

use common::Error;
use common::db::{AnyConnection, volume_targets};
use common::model::node::Node;
use common::model::states::{ACTIVE, CLEAN_WAIT, CLEANING, POWER_OFF};
use common::rpc::{Reply, Response};

use super::{node_id, save};
use crate::Conductor;
use crate::drivers::{power, storage};

/// Drives the node to `target`, attaching volumes first when an active node powers on.
/// On failure the node keeps its power state and `last_error` says why.
pub(super) fn power_action(
    conn: &mut AnyConnection,
    node: &mut Node,
    target: &str,
) -> Result<(), String> {
    let powering_on = power::resulting_state(target) != POWER_OFF;
    let result = attach_if_needed(conn, node, powering_on)
        .and_then(|()| power::set_power_state(node, target));
    node.target_power_state = None;
    match result {
        Ok(()) => {
            node.last_error = None;
            Ok(())
        }
        Err(reason) => {
            let error = format!(
                "Failed to change power state to '{target}' by '{}'. Error: {reason}",
                node.interfaces.power.as_deref().unwrap_or_default()
            );
            node.last_error = Some(error.clone());
            Err(error)
        }
    }
}

fn attach_if_needed(
    conn: &mut AnyConnection,
    node: &Node,
    powering_on: bool,
) -> Result<(), String> {
    if !powering_on || node.provision_state != ACTIVE {
        return Ok(());
    }
    let targets = volume_targets::list_for_node(conn, node.id).map_err(|e| e.to_string())?;
    storage::attach_volumes(node, &targets)
}

pub async fn change_node_power_state(
    c: &Conductor,
    uuid: String,
    target: String,
    _timeout: Option<u64>,
) -> Response {
    if !power::TARGETS.contains(&target.as_str()) {
        return Err(Error::invalid_state(&target, &uuid, None));
    }
    let id = node_id(c, &uuid).await?;
    c.with_node_lock(id, "changing node power state", move |conn, mut node| {
        if matches!(node.provision_state.as_str(), CLEANING | CLEAN_WAIT) {
            return Err(Error::invalid_state(
                &target,
                &node.uuid,
                Some(&node.provision_state),
            ));
        }
        power::validate(&node).map_err(Error::Invalid)?;
        // The change completes before the reply; a failure is the node's last_error,
        // as it would be after Ironic's asynchronous worker.
        let _ = power_action(conn, &mut node, &target);
        save(conn, &node)?;
        Ok(Reply::Done)
    })
    .await
}
