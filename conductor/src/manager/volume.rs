//! The rules of volume connectors and targets: changed only while the node's power and
//! provision state allow it (spec: conductor.md §2). Update and destroy themselves are
//! [`super::child`]'s.

use json_patch::PatchOperation;
use serde_json::Value;

use common::Error;
use common::child::{New, NodeChild};
use common::db::AnyConnection;
use common::model::node::Node;
use common::model::states::{PowerState, VOLUME_DELETE_ALLOWED_STATES};
use common::model::volume::{VolumeConnector, VolumeTarget};
use common::model::{JsonObject, canonical_uuid};
use common::patch;
use common::rpc::Response;
use common::schema;

use super::child::{Guarded, resolve_node};
use crate::Conductor;
use crate::context::Context;

/// Connectors and targets: changed only while their node allows it.
pub trait Volume: NodeChild {}

impl Volume for VolumeConnector {}
impl Volume for VolumeTarget {}

impl<R: Volume> Guarded for R {
    const SAVES_UNCHANGED: bool = false;
    const PLAN_HOLDS: bool = true;

    /// Ironic's rules for `node_uuid`: it must stay UUID-shaped, removing it is silently
    /// undone, and the node it names must exist.
    fn patched(conn: &mut AnyConnection, current: &R, ops: &[PatchOperation]) -> Result<R, Error> {
        patch::check_allowed(ops, R::PATCHABLE)?;
        check_node_uuid_values(ops)?;
        let fields = current.fields();
        let current_node = R::node_uuid(&fields).to_string();
        let undo_removal = |doc: &mut JsonObject| {
            doc.entry("node_uuid")
                .or_insert_with(|| Value::String(current_node.clone()));
        };
        let mut patched = patch::apply_typed(&fields, ops, R::PATCH_SCHEMA, undo_removal)?;
        let requested = R::node_uuid(&patched).to_string();
        let canonical = canonical_uuid(&requested).unwrap_or(requested.clone());
        // Only a new node needs looking up: the current one exists while its child does.
        let node_id = if canonical == current_node {
            current.node_id()
        } else {
            resolve_node(conn, &canonical, || {
                Error::invalid(format!(
                    "Unable to apply the requested node_uuid '{requested}'. Requested value was invalid."
                ))
            })?
        };
        R::set_node_uuid(&mut patched, canonical);
        Ok(current.clone().with_fields(patched, node_id))
    }

    fn check_update(node: &Node, _: &R, _: &R) -> Result<(), Error> {
        check_powered_off(node, &format!("{} update", R::kind()))
    }

    fn check_destroy(node: &Node, _: &R) -> Result<(), Error> {
        check_deletable(node, &format!("{} deletion", R::kind()))
    }
}

/// Every non-remove value for exactly `/node_uuid` must be UUID-shaped.
fn check_node_uuid_values(ops: &[PatchOperation]) -> Result<(), Error> {
    for op in ops {
        let value = match op {
            PatchOperation::Add(o) if o.path == "/node_uuid" => &o.value,
            PatchOperation::Replace(o) if o.path == "/node_uuid" => &o.value,
            _ => continue,
        };
        if value.as_str().and_then(canonical_uuid).is_none() {
            return Err(Error::invalid(format!(
                "Expected a UUID for node_uuid, but received {}.",
                schema::py_repr(value).trim_matches('\'')
            )));
        }
    }
    Ok(())
}

/// Updates need the node powered off: the volume may be in use otherwise.
fn check_powered_off(node: &Node, action: &str) -> Result<(), Error> {
    if node.power_state == Some(PowerState::Off) {
        Ok(())
    } else {
        Err(Error::invalid_state(
            action,
            &node.uuid,
            node.power_state.map(PowerState::as_str),
        ))
    }
}

/// Deletes are allowed while the node is powered off or not yet in service.
fn check_deletable(node: &Node, action: &str) -> Result<(), Error> {
    if VOLUME_DELETE_ALLOWED_STATES.contains(&node.provision_state) {
        return Ok(());
    }
    check_powered_off(node, action)
}

/// Stores a new connector or target; no lock and no state check, as in Ironic. The
/// insert finds the node itself (`Stored::insert`), and records the request where it
/// can: one statement in all on PostgreSQL.
pub async fn create<R: NodeChild>(c: &Conductor, ctx: &Context, new: New<R::Fields>) -> Response {
    c.write_one(ctx, move |conn, request| {
        let node_uuid = R::node_uuid(&new.fields).to_string();
        match R::insert(conn, &R::new(new.uuid, new.fields), request) {
            Ok(item) => Ok(item.into_reply()),
            Err(Error::NotFound(_)) => Err(Error::invalid(format!(
                "Invalid input for field/attribute node_uuid. Value: '{node_uuid}'. "
            ))),
            Err(e) => Err(e),
        }
    })
    .await
}
