//! Update and destroy of a node's connectors, targets and ports: under the lock of the
//! node that owns them, with each resource's own rules ([`Guarded`]).

use json_patch::PatchOperation;

use common::Error;
use common::child::{Expect, NodeChild};
use common::db::{AnyConnection, nodes};
use common::error::Found;
use common::model::node::Node;
use common::rpc::{Reply, Response};

use crate::Conductor;
use crate::context::Context;
use crate::task::{Planned, Read};

/// What the conductor enforces on one kind of a node's resources.
pub trait Guarded: NodeChild {
    /// Whether a patch that changes nothing is still written (and `updated_at` moves).
    /// Ironic leaves volume resources alone then; ports are always saved.
    const SAVES_UNCHANGED: bool;

    /// Whether an update or deletion decided on the row as planned (before the lock)
    /// still holds while that row is unchanged: true when only the row and the locked
    /// node decide it. The change is then written on condition that the row is still
    /// as read, and the row is not read again under the lock. A resource whose checks
    /// read other rows (a port's group, say) is decided under the lock.
    const PLAN_HOLDS: bool;

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

/// Resource `uuid` as a plan reads it `how`, with its node when the read holds it.
fn plan_read<R: Guarded>(
    conn: &mut AnyConnection,
    uuid: &str,
    how: Read,
) -> Result<(R, Option<Node>), Error> {
    match how {
        Read::Plain => Ok((R::get(conn, uuid)?, None)),
        Read::Holding => R::get_holding_node(conn, uuid).map(|(read, node)| (read, Some(node))),
    }
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
    // patch moves it.
    let (planned_uuid, planned_ops) = (uuid.clone(), ops.clone());
    let plan = move |conn: &mut AnyConnection, how: Read| {
        let (read, held) = plan_read::<R>(conn, &planned_uuid, how)?;
        let patched = R::patched(conn, &read, &planned_ops)?;
        Ok(Planned {
            node_id: patched.node_id(),
            seen: (read, patched),
            held,
        })
    };
    let purpose = format!("{} update", R::kind());
    c.with_planned_lock(ctx, &purpose, plan, move |conn, node, (read, patched)| {
        if let Some(saved) = save_as_planned(conn, &node, &read, patched)? {
            return Ok(saved.into_reply());
        }
        // Decided again: the patch is applied to the row as it is under the lock.
        let current = R::get(conn, &uuid)?;
        let updated = R::patched(conn, &current, &ops)?;
        if updated.node_id() != node.id {
            return Err(moved::<R>(&uuid));
        }
        R::check_update(&node, &current, &updated)?;
        if updated == current && !R::SAVES_UNCHANGED {
            return Ok(updated.into_reply());
        }
        let saved = R::save(conn, &updated, Expect::Current)?;
        Ok(saved.ok_or_else(|| R::not_found(&uuid))?.into_reply())
    })
    .await
}

/// Writes the update planned on `read` if the node allows it and the row is still as
/// read, so that the row needs no second read under the lock; `None` when the update
/// must be decided again on the row as it is now. A refusal, or a patch that changes
/// nothing (and so writes nothing that would confirm the row), is not trusted on a row
/// that may have changed since.
fn save_as_planned<R: Guarded>(
    conn: &mut AnyConnection,
    node: &Node,
    read: &R,
    patched: R,
) -> Result<Option<R>, Error> {
    let writes = R::SAVES_UNCHANGED || patched != *read;
    if !R::PLAN_HOLDS || !writes || R::check_update(node, read, &patched).is_err() {
        return Ok(None);
    }
    R::save(conn, &patched, Expect::AsRead)
}

pub async fn destroy<R: Guarded>(c: &Conductor, ctx: &Context, uuid: String) -> Response {
    let planned_uuid = uuid.clone();
    let plan = move |conn: &mut AnyConnection, how: Read| {
        let (read, held) = plan_read::<R>(conn, &planned_uuid, how)?;
        Ok(Planned {
            node_id: read.node_id(),
            seen: read,
            held,
        })
    };
    let purpose = format!("{} deletion", R::kind());
    c.with_planned_lock(ctx, &purpose, plan, move |conn, node, read| {
        // As planned, if the node allows it and the row is still as read; else decided
        // again on the row as it is under the lock.
        let allowed = R::PLAN_HOLDS && R::check_destroy(&node, &read).is_ok();
        if allowed && R::delete(conn, &read, Expect::AsRead)? {
            return Ok(Reply::Done);
        }
        let current = R::get(conn, &uuid)?;
        if current.node_id() != node.id {
            return Err(moved::<R>(&uuid));
        }
        R::check_destroy(&node, &current)?;
        R::check_destroy_stored(conn, &current)?;
        if !R::delete(conn, &current, Expect::Current)? {
            return Err(R::not_found(&uuid));
        }
        Ok(Reply::Done)
    })
    .await
}
