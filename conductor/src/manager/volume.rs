//! update/destroy of volume connectors and targets: under the owning node's lock, and
//! only while the node's power and provision state allow it (spec: conductor.md §2).

use json_patch::PatchOperation;
use serde_json::Value;

use common::Error;
use common::db::{AnyConnection, nodes, volume_connectors, volume_targets};
use common::error::Found;
use common::model::node::Node;
use common::model::states::{PowerState, VOLUME_DELETE_ALLOWED_STATES};
use common::model::volume::{self as limits, VolumeConnector, VolumeTarget};
use common::model::{JsonObject, now};
use common::patch;
use common::rpc::{Reply, Response};
use common::schema;

use crate::Conductor;
use crate::context::Context;

pub const CONNECTOR_PATCHABLE: [&str; 4] = ["connector_id", "extra", "node_uuid", "type"];
pub const TARGET_PATCHABLE: [&str; 6] = [
    "boot_index",
    "extra",
    "node_uuid",
    "properties",
    "volume_id",
    "volume_type",
];

/// Applies `ops` to a resource's patchable document, with Ironic's rules for `node_uuid`.
/// Returns the patched document and the id of the node that owns the result.
fn patch_document(
    conn: &mut AnyConnection,
    doc: JsonObject,
    ops: &[PatchOperation],
    allowed: &[&str],
    fields: &[schema::Field],
) -> Result<(JsonObject, i64), Error> {
    patch::check_allowed(ops, allowed)?;
    check_node_uuid_values(ops)?;
    let current_node = doc["node_uuid"].clone();
    let mut patched = patch::apply(&doc, ops)?;
    // Removing node_uuid is silently undone, as in Ironic.
    if !patched.contains_key("node_uuid") {
        patched.insert("node_uuid".into(), current_node.clone());
    }
    schema::check(&patched, fields, "patch")?;
    let node_uuid = patched["node_uuid"]
        .as_str()
        .unwrap_or_default()
        .to_string();
    let canonical = common::model::canonical_uuid(&node_uuid).unwrap_or_default();
    patched.insert("node_uuid".into(), Value::String(canonical.clone()));
    let node_id = nodes::id_of(conn, &canonical).found()?.ok_or_else(|| {
        Error::invalid(format!(
            "Unable to apply the requested node_uuid '{node_uuid}'. Requested value was invalid."
        ))
    })?;
    Ok((patched, node_id))
}

/// Every non-remove value for exactly `/node_uuid` must be UUID-shaped.
fn check_node_uuid_values(ops: &[PatchOperation]) -> Result<(), Error> {
    for op in ops {
        let value = match op {
            PatchOperation::Add(o) if o.path == "/node_uuid" => &o.value,
            PatchOperation::Replace(o) if o.path == "/node_uuid" => &o.value,
            _ => continue,
        };
        let ok = value
            .as_str()
            .and_then(common::model::canonical_uuid)
            .is_some();
        if !ok {
            return Err(Error::invalid(format!(
                "Expected a UUID for node_uuid, but received {}.",
                schema::py_repr(value).trim_matches('\'')
            )));
        }
    }
    Ok(())
}

fn connector_document(c: &VolumeConnector) -> JsonObject {
    let mut doc = JsonObject::new();
    doc.insert("node_uuid".into(), c.node_uuid.clone().into());
    doc.insert("type".into(), c.connector_type.clone().into());
    doc.insert("connector_id".into(), c.connector_id.clone().into());
    doc.insert("extra".into(), Value::Object(c.extra.clone()));
    doc
}

fn target_document(t: &VolumeTarget) -> JsonObject {
    let mut doc = JsonObject::new();
    doc.insert("node_uuid".into(), t.node_uuid.clone().into());
    doc.insert("volume_type".into(), t.volume_type.clone().into());
    doc.insert("boot_index".into(), t.boot_index.into());
    doc.insert("volume_id".into(), t.volume_id.clone().into());
    doc.insert("properties".into(), Value::Object(t.properties.clone()));
    doc.insert("extra".into(), Value::Object(t.extra.clone()));
    doc
}

fn object_field(doc: &JsonObject, key: &str) -> JsonObject {
    doc.get(key)
        .and_then(|v| v.as_object())
        .cloned()
        .unwrap_or_default()
}

fn str_field(doc: &JsonObject, key: &str) -> String {
    doc.get(key)
        .and_then(|v| v.as_str())
        .unwrap_or_default()
        .to_string()
}

/// The patched connector, and the node whose lock its update needs.
fn patched_connector(
    conn: &mut AnyConnection,
    uuid: &str,
    ops: &[PatchOperation],
) -> Result<(VolumeConnector, i64, bool), Error> {
    let current = volume_connectors::get_by_uuid(conn, uuid)?;
    let (doc, node_id) = patch_document(
        conn,
        connector_document(&current),
        ops,
        &CONNECTOR_PATCHABLE,
        &limits::CONNECTOR_SCHEMA,
    )?;
    let updated = VolumeConnector {
        node_id,
        node_uuid: str_field(&doc, "node_uuid"),
        connector_type: str_field(&doc, "type"),
        connector_id: str_field(&doc, "connector_id"),
        extra: object_field(&doc, "extra"),
        ..current.clone()
    };
    Ok(patch_outcome(updated, &current, node_id))
}

fn patched_target(
    conn: &mut AnyConnection,
    uuid: &str,
    ops: &[PatchOperation],
) -> Result<(VolumeTarget, i64, bool), Error> {
    let current = volume_targets::get_by_uuid(conn, uuid)?;
    let (doc, node_id) = patch_document(
        conn,
        target_document(&current),
        ops,
        &TARGET_PATCHABLE,
        &limits::TARGET_SCHEMA,
    )?;
    let updated = VolumeTarget {
        node_id,
        node_uuid: str_field(&doc, "node_uuid"),
        volume_type: str_field(&doc, "volume_type"),
        boot_index: doc
            .get("boot_index")
            .and_then(|v| v.as_i64())
            .unwrap_or_default() as i32,
        volume_id: str_field(&doc, "volume_id"),
        properties: object_field(&doc, "properties"),
        extra: object_field(&doc, "extra"),
        ..current.clone()
    };
    Ok(patch_outcome(updated, &current, node_id))
}

/// A patch that changes nothing (`[]`, or values as they are) leaves the row and its
/// `updated_at` alone, as in Ironic: the result says whether there is anything to write.
fn patch_outcome<T: PartialEq>(updated: T, current: &T, node_id: i64) -> (T, i64, bool) {
    let changed = updated != *current;
    (updated, node_id, changed)
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

/// A concurrent re-home moved the resource to another node between planning and locking.
fn moved(kind: &str, uuid: &str) -> Error {
    Error::conflict(format!(
        "The {kind} {uuid} was changed concurrently, please retry."
    ))
}

pub async fn update_volume_connector(
    c: &Conductor,
    ctx: &Context,
    uuid: String,
    ops: Vec<PatchOperation>,
) -> Response {
    // Patch once unlocked to learn which node to lock (and to refuse bad patches fast),
    // then again under the lock against the current row.
    let (uuid2, ops2) = (uuid.clone(), ops.clone());
    let (_, node_id, _) =
        c.db.run(move |conn| patched_connector(conn, &uuid2, &ops2))
            .await?;
    c.with_node_lock(
        ctx,
        node_id,
        "volume connector update",
        move |conn, node| {
            let (mut updated, locked_node, changed) = patched_connector(conn, &uuid, &ops)?;
            if locked_node != node.id {
                return Err(moved("volume connector", &uuid));
            }
            check_powered_off(&node, "volume connector update")?;
            if !changed {
                return Ok(Reply::Connector(updated));
            }
            updated.updated_at = Some(now());
            Ok(Reply::Connector(volume_connectors::update(conn, &updated)?))
        },
    )
    .await
}

pub async fn destroy_volume_connector(c: &Conductor, ctx: &Context, uuid: String) -> Response {
    let uuid2 = uuid.clone();
    let node_id =
        c.db.run(move |conn| Ok(volume_connectors::get_by_uuid(conn, &uuid2)?.node_id))
            .await?;
    c.with_node_lock(
        ctx,
        node_id,
        "volume connector deletion",
        move |conn, node| {
            let current = volume_connectors::get_by_uuid(conn, &uuid)?;
            if current.node_id != node.id {
                return Err(moved("volume connector", &uuid));
            }
            check_deletable(&node, "volume connector deletion")?;
            volume_connectors::delete(conn, &uuid)?;
            Ok(Reply::Done)
        },
    )
    .await
}

pub async fn update_volume_target(
    c: &Conductor,
    ctx: &Context,
    uuid: String,
    ops: Vec<PatchOperation>,
) -> Response {
    let (uuid2, ops2) = (uuid.clone(), ops.clone());
    let (_, node_id, _) =
        c.db.run(move |conn| patched_target(conn, &uuid2, &ops2))
            .await?;
    c.with_node_lock(ctx, node_id, "volume target update", move |conn, node| {
        let (mut updated, locked_node, changed) = patched_target(conn, &uuid, &ops)?;
        if locked_node != node.id {
            return Err(moved("volume target", &uuid));
        }
        check_powered_off(&node, "volume target update")?;
        if !changed {
            return Ok(Reply::Target(updated));
        }
        updated.updated_at = Some(now());
        Ok(Reply::Target(volume_targets::update(conn, &updated)?))
    })
    .await
}

pub async fn destroy_volume_target(c: &Conductor, ctx: &Context, uuid: String) -> Response {
    let uuid2 = uuid.clone();
    let node_id =
        c.db.run(move |conn| Ok(volume_targets::get_by_uuid(conn, &uuid2)?.node_id))
            .await?;
    c.with_node_lock(ctx, node_id, "volume target deletion", move |conn, node| {
        let current = volume_targets::get_by_uuid(conn, &uuid)?;
        if current.node_id != node.id {
            return Err(moved("volume target", &uuid));
        }
        check_deletable(&node, "volume target deletion")?;
        volume_targets::delete(conn, &uuid)?;
        Ok(Reply::Done)
    })
    .await
}

/// The node a new resource names must exist; a missing node is bad input (400), not 404.
fn resolve_new_node(conn: &mut AnyConnection, node_uuid: &str) -> Result<i64, Error> {
    nodes::id_of(conn, node_uuid)
        .found()?
        .ok_or_else(|| missing_new_node(node_uuid))
}

fn missing_new_node(node_uuid: &str) -> Error {
    Error::invalid(format!(
        "Invalid input for field/attribute node_uuid. Value: '{node_uuid}'. "
    ))
}

/// A node deleted between the lookup and the insert is answered like one that never
/// existed (the insert reports it as the node's NotFound).
fn node_gone<T>(node_uuid: &str, inserted: Result<T, Error>) -> Result<T, Error> {
    inserted.map_err(|e| match e {
        Error::NotFound(_) => missing_new_node(node_uuid),
        other => other,
    })
}

pub async fn create_volume_connector(
    c: &Conductor,
    ctx: &Context,
    mut connector: VolumeConnector,
) -> Response {
    c.write(ctx, move |conn| {
        let node_uuid = connector.node_uuid.clone();
        connector.node_id = resolve_new_node(conn, &node_uuid)?;
        let created = node_gone(&node_uuid, volume_connectors::create(conn, &connector))?;
        Ok(Reply::Connector(created))
    })
    .await
}

pub async fn create_volume_target(
    c: &Conductor,
    ctx: &Context,
    mut target: VolumeTarget,
) -> Response {
    c.write(ctx, move |conn| {
        let node_uuid = target.node_uuid.clone();
        target.node_id = resolve_new_node(conn, &node_uuid)?;
        let created = node_gone(&node_uuid, volume_targets::create(conn, &target))?;
        Ok(Reply::Target(created))
    })
    .await
}
