//! `change_node_power_state`, and the power action that deploys and tear-downs share
//! (Ironic's `node_power_action`): volumes are attached before an active node powers
//! on, and a failure is recorded in `last_error` rather than returned.
//!
//! Power actions may talk to a BMC, so they run under the node lock but outside any
//! database transaction; the node is saved afterwards.

use std::time::Duration;

use common::Error;
use common::db::{nodes, volume_targets};
use common::model::node::Node;
use common::model::states::{ACTIVE, CLEAN_WAIT, CLEANING, POWER_OFF};
use common::model::volume::VolumeTarget;
use common::rpc::{Reply, Response};

use super::{node_id, save};
use crate::Conductor;
use crate::context::Context;
use crate::drivers::{power, storage};

/// Drives the node to `target`, attaching volumes first when an active node powers on.
/// On failure the node keeps its power state and `last_error` says why; either way
/// `target_power_state` ends cleared.
pub(super) async fn power_action(
    node: &mut Node,
    targets: &[VolumeTarget],
    target: &str,
    wait: Option<Duration>,
) -> Result<(), String> {
    let powering_on = power::resulting_state(target) != POWER_OFF;
    let result = match attach_if_needed(node, targets, powering_on) {
        Ok(()) => power::set_power_state(node, target, wait).await,
        Err(e) => Err(e),
    };
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
            tracing::warn!(node = %node.uuid, error, "power action failed");
            node.last_error = Some(error.clone());
            Err(error)
        }
    }
}

fn attach_if_needed(
    node: &Node,
    targets: &[VolumeTarget],
    powering_on: bool,
) -> Result<(), String> {
    if !powering_on || node.provision_state != ACTIVE {
        return Ok(());
    }
    storage::attach_volumes(node, targets)
}

fn check_power_allowed(node: &Node, target: &str) -> Result<(), Error> {
    if matches!(node.provision_state.as_str(), CLEANING | CLEAN_WAIT) {
        return Err(Error::invalid_state(
            target,
            &node.uuid,
            Some(&node.provision_state),
        ));
    }
    power::validate(node).map_err(Error::Invalid)
}

pub async fn change_node_power_state(
    c: &Conductor,
    ctx: &Context,
    uuid: String,
    target: String,
    timeout: Option<u64>,
) -> Response {
    if !power::TARGETS.contains(&target.as_str()) {
        return Err(Error::invalid_state(&target, &uuid, None));
    }
    let id = node_id(c, &uuid).await?;
    c.with_node_lock_io(id, "changing node power state", async {
        let (mut node, targets) =
            c.db.run(move |conn| {
                let node = nodes::get_by_id(conn, id)?;
                let targets = volume_targets::list_for_node(conn, id)?;
                Ok((node, targets))
            })
            .await?;
        check_power_allowed(&node, &target)?;
        // The change completes before the reply; a failure is the node's last_error,
        // as it would be after Ironic's asynchronous worker.
        let wait = timeout.map(Duration::from_secs);
        let _ = power_action(&mut node, &targets, &target, wait).await;
        c.write(ctx, move |conn| {
            save(conn, &node)?;
            Ok(Reply::Done)
        })
        .await
    })
    .await
}
