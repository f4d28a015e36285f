//! The provision state machine subset (spec: node-subset.md §5). Every transition
//! completes before the reply: verification reads the power state, cleaning has no
//! automated steps, a deploy either boots an existing volume or (with the `fake` deploy
//! interface) does nothing, and a tear-down removes what the instance left behind.
//!
//! Refusals are errors (nothing changes); failures during a transition are states
//! (`deploy failed`, `error`, back to `enroll`) with `last_error` set.

use serde_json::Value;

use common::Error;
use common::db::{AnyConnection, nodes, ports, volume_connectors, volume_targets};
use common::model::node::Node;
use common::model::port::{Port, VIF_KEY};
use common::model::states::{
    ACTIVE, AVAILABLE, CLEAN_FAILED, CLEAN_WAIT, CLEANING, DELETING, DEPLOY_FAILED, DEPLOYING,
    ENROLL, ERROR, MANAGEABLE, POWER_OFF, POWER_ON, VERIFYING, WAIT_CALLBACK,
};
use common::model::volume::{VolumeConnector, VolumeTarget};
use common::model::{JsonObject, now};
use common::rpc::{Reply, Response};

use super::power::power_action;
use super::{node_id, save};
use crate::Conductor;
use crate::context::Context;
use crate::drivers::management;
use crate::drivers::power;
use crate::drivers::redfish::BootDevice;
use crate::drivers::storage::{self, INTERNAL_INFO_KEYS, should_write_image};
use crate::drivers::validation::{NodeView, validate_one};

/// The verbs this state machine knows, and the states each is allowed from.
fn allowed_from(action: &str) -> Option<&'static [&'static str]> {
    Some(match action {
        "manage" => &[ENROLL, AVAILABLE, CLEAN_FAILED],
        "provide" => &[MANAGEABLE],
        "clean" => &[MANAGEABLE],
        "active" => &[AVAILABLE, DEPLOY_FAILED],
        "rebuild" => &[ACTIVE, ERROR, DEPLOY_FAILED],
        "deleted" => &[ACTIVE, DEPLOY_FAILED, WAIT_CALLBACK, ERROR],
        "abort" => &[CLEAN_WAIT],
        _ => return None,
    })
}

fn check_allowed(node: &Node, action: &str) -> Result<(), Error> {
    let states = allowed_from(action).ok_or_else(|| {
        Error::invalid(format!(
            "The requested action \"{action}\" is not supported by sanlink."
        ))
    })?;
    if !states.contains(&node.provision_state.as_str()) {
        return Err(Error::invalid_state(
            action,
            &node.uuid,
            Some(&node.provision_state),
        ));
    }
    if node.maintenance && matches!(action, "active" | "rebuild") {
        return Err(Error::invalid(format!(
            "The requested action \"{action}\" can not be performed on node \"{}\" while it is in maintenance mode.",
            node.uuid
        )));
    }
    Ok(())
}

/// Enters `state`, with `target` as the goal of the transition (None when stable).
fn enter(node: &mut Node, state: &str, target: Option<&str>) {
    node.provision_state = state.to_string();
    node.target_provision_state = target.map(str::to_string);
    node.provision_updated_at = Some(now());
}

fn fail(node: &mut Node, state: &str, error: String) {
    enter(node, state, None);
    node.last_error = Some(error);
}

pub async fn do_provisioning_action(
    c: &Conductor,
    ctx: &Context,
    uuid: String,
    action: String,
    configdrive: Option<Value>,
) -> Response {
    let id = node_id(c, &uuid).await?;
    // BMC calls happen between reading and saving the node, under its lock but
    // outside any transaction.
    c.with_node_lock_io(id, "provision action", async {
        let (mut node, parts) =
            c.db.run(move |conn| {
                let node = nodes::get_by_id(conn, id)?;
                let parts = load_parts(conn, &node)?;
                Ok((node, parts))
            })
            .await?;
        check_allowed(&node, &action)?;
        let mut remove_instance = false;
        match action.as_str() {
            "manage" if node.provision_state == ENROLL => verify(&mut node).await,
            "manage" => enter(&mut node, MANAGEABLE, None),
            "provide" => clean(&mut node, AVAILABLE),
            "clean" => clean(&mut node, MANAGEABLE),
            "abort" => enter(&mut node, CLEAN_FAILED, None),
            "active" | "rebuild" => deploy(&mut node, &parts, configdrive).await?,
            _ => remove_instance = tear_down(&mut node, &parts.2).await,
        }
        c.write(ctx, move |conn| {
            if remove_instance {
                remove_instance_leftovers(conn, &mut node)?;
            }
            save(conn, &node)?;
            Ok(Reply::Done)
        })
        .await
    })
    .await
}

/// enroll -> verifying -> manageable: the power credentials work and the power state
/// can be read; otherwise back to enroll.
async fn verify(node: &mut Node) {
    enter(node, VERIFYING, Some(MANAGEABLE));
    let read = match power::validate(node) {
        Ok(()) => power::get_power_state(node).await,
        Err(e) => Err(e),
    };
    match read {
        Ok(state) => {
            node.power_state = state;
            node.last_error = None;
            enter(node, MANAGEABLE, None);
        }
        Err(e) => fail(
            node,
            ENROLL,
            format!("Failed to verify node {}: {e}", node.uuid),
        ),
    }
}

/// cleaning -> `done`. No automated or manual step does anything yet.
fn clean(node: &mut Node, done: &str) {
    enter(node, CLEANING, Some(done));
    node.last_error = None;
    enter(node, done, None);
}

type NodeParts = (Vec<Port>, Vec<VolumeConnector>, Vec<VolumeTarget>);

fn load_parts(conn: &mut AnyConnection, node: &Node) -> Result<NodeParts, Error> {
    Ok((
        ports::list_for_node(conn, node.id)?,
        volume_connectors::list_for_node(conn, node.id)?,
        volume_targets::list_for_node(conn, node.id)?,
    ))
}

/// available/deploy failed/active -> deploying -> active or deploy failed.
async fn deploy(
    node: &mut Node,
    (ports, connectors, targets): &NodeParts,
    configdrive: Option<Value>,
) -> Result<(), Error> {
    let view = NodeView {
        node,
        ports,
        connectors,
        targets,
        cinder_configured: false,
    };
    for kind in ["power", "deploy"] {
        if let Err(e) = validate_one(&view, kind) {
            return Err(Error::invalid(format!(
                "Failed to validate deploy or power info for node {}. Error: {e}",
                node.uuid
            )));
        }
    }
    enter(node, DEPLOYING, Some(ACTIVE));
    if let Some(configdrive) = configdrive {
        node.instance_info.insert("configdrive".into(), configdrive);
    }
    let fake = node.interfaces.deploy.as_deref() == Some("fake");
    let outcome = if fake {
        Ok(())
    } else {
        boot_existing_volume(node, targets).await
    };
    match outcome {
        Ok(()) => {
            node.last_error = None;
            enter(node, ACTIVE, None);
        }
        Err(e) => fail(node, DEPLOY_FAILED, e),
    }
    Ok(())
}

/// What an agent-based deploy does when the instance boots from its volume: record the
/// boot volume, attach the volumes and power on. Writing images needs the agent
/// ramdisk, which sanlink does not drive.
async fn boot_existing_volume(node: &mut Node, targets: &[VolumeTarget]) -> Result<(), String> {
    if should_write_image(node, targets) {
        return Err(format!(
            "Node {} needs an image written by the {} deploy interface, which sanlink does not support; only boot from an existing volume is.",
            node.uuid,
            node.interfaces.deploy.as_deref().unwrap_or_default()
        ));
    }
    let mut info = node.driver_internal_info.clone();
    storage::populate_internal_info(node, targets, &mut info)?;
    node.driver_internal_info = info;
    crate::boot::check_deploy(node, targets)?;
    storage::attach_volumes(node, targets)?;
    if management::boots_from_network(node) {
        management::set_boot_device(node, BootDevice::Pxe, true)
            .await
            .map_err(|e| format!("Failed to set the boot device of node {}: {e}", node.uuid))?;
    }
    power_action(node, targets, POWER_ON, None).await
}

/// active/deploy failed/error -> deleting: powers the node off. True when that worked
/// and the instance's leftovers are to be removed; otherwise the node is in `error`.
async fn tear_down(node: &mut Node, targets: &[VolumeTarget]) -> bool {
    enter(node, DELETING, Some(AVAILABLE));
    if node.interfaces.deploy.as_deref() != Some("fake")
        && let Err(e) = power_action(node, targets, POWER_OFF, None).await
    {
        fail(node, ERROR, e);
        return false;
    }
    true
}

/// deleting -> cleaning -> available. Volume targets (by deploy interfaces that really
/// deploy: as in Ironic, the fake one leaves them to Nova, which deletes them), VIFs, the
/// instance's fields and the boot-from-volume records are removed; volume connectors
/// stay, since they describe the hardware.
fn remove_instance_leftovers(conn: &mut AnyConnection, node: &mut Node) -> Result<(), Error> {
    if node.interfaces.deploy.as_deref() != Some("fake") {
        for target in volume_targets::list_for_node(conn, node.id)? {
            volume_targets::delete(conn, &target.uuid)?;
        }
    }
    for mut port in ports::list_for_node(conn, node.id)? {
        if port.internal_info.remove(VIF_KEY).is_some() {
            ports::update(conn, &port)?;
        }
    }
    for key in INTERNAL_INFO_KEYS {
        node.driver_internal_info.remove(key);
    }
    node.instance_info = JsonObject::new();
    node.instance_uuid = None;
    clean(node, AVAILABLE);
    Ok(())
}
