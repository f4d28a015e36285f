//! Update and destroy of a node's connectors, targets and ports: under the lock of the
//! node that owns them, with each resource's own rules ([`Guarded`]).

use json_patch::PatchOperation;

use common::Error;
use common::child::NodeChild;
use common::db::{AnyConnection, nodes};
use common::error::Found;
use common::model::node::Node;
use common::rpc::Response;

use crate::Conductor;
use crate::context::Context;

/// What the conductor enforces on one kind of a node's resources.
pub trait Guarded: NodeChild {
    /// Whether a patch that changes nothing is still written (and `updated_at` moves).
    /// Ironic leaves volume resources alone then; ports are always saved.
    const SAVES_UNCHANGED: bool;

    /// Refuses a patch before the resource is looked up; by default nothing is.
    fn check_patch(_ops: &[PatchOperation]) -> Result<(), Error> {
        Ok(())
    }

    /// `current` with `ops` applied, on the node it then belongs to.
    fn patched(
        conn: &mut AnyConnection,
        current: &Self,
        ops: &[PatchOperation],
    ) -> Result<Self, Error>;

    /// Whether the node, locked, allows the update.
    fn check_update(node: &Node, current: &Self, updated: &Self) -> Result<(), Error>;

    /// Whether the node, locked, allows the deletion.
    fn check_destroy(node: &Node, current: &Self) -> Result<(), Error>;

    /// Whether what refers to the resource in the database allows the deletion; by
    /// default nothing does.
    fn check_destroy_stored(_conn: &mut AnyConnection, _current: &Self) -> Result<(), Error> {
        Ok(())
    }
}

/// The node a resource names must exist; `missing` words its absence.
pub fn resolve_node(
    conn: &mut AnyConnection,
    node_uuid: &str,
    missing: impl FnOnce() -> Error,
) -> Result<i64, Error> {
    nodes::id_of(conn, node_uuid).found()?.ok_or_else(missing)
}

/// A concurrent re-home moved the resource to another node between planning and locking.
fn moved<R: NodeChild>(uuid: &str) -> Error {
    Error::conflict(format!(
        "The {} {uuid} was changed concurrently, please retry.",
        R::kind()
    ))
}

pub async fn update<R: Guarded>(
    c: &Conductor,
    ctx: &Context,
    uuid: String,
    ops: Vec<PatchOperation>,
) -> Response {
    R::check_patch(&ops)?;
    // The node to lock is the one the patched resource belongs to, a new one if the
    // patch moves it; the patch is applied again under the lock, to the current row.
    let (planned_uuid, planned_ops) = (uuid.clone(), ops.clone());
    let plan = move |conn: &mut AnyConnection| {
        let current = R::get(conn, &planned_uuid)?;
        Ok(R::patched(conn, &current, &planned_ops)?.node_id())
    };
    let purpose = format!("{} update", R::kind());
    c.with_planned_lock(ctx, &purpose, plan, move |conn, node| {
        let current = R::get(conn, &uuid)?;
        let updated = R::patched(conn, &current, &ops)?;
        if updated.node_id() != node.id {
            return Err(moved::<R>(&uuid));
        }
        R::check_update(&node, &current, &updated)?;
        if updated == current && !R::SAVES_UNCHANGED {
            return Ok(updated.into_reply());
        }
        Ok(R::save(conn, &updated)?.into_reply())
    })
    .await
}

pub async fn destroy<R: Guarded>(c: &Conductor, ctx: &Context, uuid: String) -> Response {
    let planned_uuid = uuid.clone();
    let plan = move |conn: &mut AnyConnection| Ok(R::get(conn, &planned_uuid)?.node_id());
    let purpose = format!("{} deletion", R::kind());
    c.with_planned_lock(ctx, &purpose, plan, move |conn, node| {
        let current = R::get(conn, &uuid)?;
        if current.node_id() != node.id {
            return Err(moved::<R>(&uuid));
        }
        R::check_destroy(&node, &current)?;
        R::check_destroy_stored(conn, &current)?;
        R::delete(conn, &uuid)?;
        Ok(common::rpc::Reply::Done)
    })
    .await
}
