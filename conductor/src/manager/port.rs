//! Port RPCs: each change happens under the lock of the port's node.

use json_patch::PatchOperation;
use serde_json::Value;

use common::Error;
use common::db::{AnyConnection, nodes, ports};
use common::error::Found;
use common::model::port::{ADDRESS_MAX, Port, normalize_mac};
use common::model::{JsonObject, now};
use common::patch;
use common::rpc::{Reply, Response};
use common::schema::{self, Kind, field};

use crate::Conductor;
use crate::context::Context;

pub const PATCHABLE: [&str; 7] = [
    "address",
    "node_uuid",
    "extra",
    "local_link_connection",
    "pxe_enabled",
    "physical_network",
    "portgroup_uuid",
];

/// Column size of `ports.physical_network`.
pub const PHYSICAL_NETWORK_MAX: usize = 64;

const FIELDS: [schema::Field; 7] = [
    field("address", Kind::Str(ADDRESS_MAX), true, false),
    field("node_uuid", Kind::Uuid, true, false),
    field("extra", Kind::Object, false, false),
    field("local_link_connection", Kind::Object, false, false),
    field("pxe_enabled", Kind::Bool, false, false),
    field(
        "physical_network",
        Kind::Str(PHYSICAL_NETWORK_MAX),
        false,
        true,
    ),
    field("portgroup_uuid", Kind::Uuid, false, true),
];

/// A port's address must be a MAC address; it is stored lower-case.
pub fn checked_mac(address: &str) -> Result<String, Error> {
    normalize_mac(address)
        .ok_or_else(|| Error::invalid(format!("Expected valid MAC address for address: {address}")))
}

/// Portgroups do not exist in sanlink, so a port can name none.
fn check_no_portgroup(doc: &JsonObject) -> Result<(), Error> {
    match doc.get("portgroup_uuid").and_then(|v| v.as_str()) {
        Some(pg) => Err(Error::invalid(format!(
            "Portgroup {pg} could not be found."
        ))),
        None => Ok(()),
    }
}

/// The node a port names must exist; a missing node is bad input (400), not 404.
fn resolve_node(conn: &mut AnyConnection, node_uuid: &str) -> Result<i64, Error> {
    nodes::id_of(conn, node_uuid)
        .found()?
        .ok_or_else(|| missing_node(node_uuid))
}

fn missing_node(node_uuid: &str) -> Error {
    Error::invalid(format!("Node {node_uuid} could not be found."))
}

fn document(p: &Port) -> JsonObject {
    let mut doc = JsonObject::new();
    doc.insert("address".into(), p.address.clone().into());
    doc.insert("node_uuid".into(), p.node_uuid.clone().into());
    doc.insert("extra".into(), p.extra.clone().into());
    doc.insert(
        "local_link_connection".into(),
        p.local_link_connection.clone().into(),
    );
    doc.insert("pxe_enabled".into(), p.pxe_enabled.into());
    doc.insert(
        "physical_network".into(),
        p.physical_network
            .clone()
            .map(Value::String)
            .unwrap_or(Value::Null),
    );
    doc.insert("portgroup_uuid".into(), Value::Null);
    doc
}

fn object_of(doc: &JsonObject, key: &str) -> JsonObject {
    doc.get(key)
        .and_then(|v| v.as_object())
        .cloned()
        .unwrap_or_default()
}

/// The port as stored and with `ops` applied.
fn patched(
    conn: &mut AnyConnection,
    uuid: &str,
    ops: &[PatchOperation],
) -> Result<(Port, Port), Error> {
    let current = ports::get_by_uuid(conn, uuid)?;
    let doc = patch::apply(&document(&current), ops)?;
    schema::check(&doc, &FIELDS, "patch")?;
    check_no_portgroup(&doc)?;
    let address = checked_mac(doc["address"].as_str().unwrap_or_default())?;
    let node_uuid = common::model::canonical_uuid(doc["node_uuid"].as_str().unwrap_or_default())
        .unwrap_or_default();
    let node_id = resolve_node(conn, &node_uuid)?;
    let updated = Port {
        address,
        node_id,
        node_uuid,
        extra: object_of(&doc, "extra"),
        local_link_connection: object_of(&doc, "local_link_connection"),
        pxe_enabled: doc
            .get("pxe_enabled")
            .and_then(|v| v.as_bool())
            .unwrap_or(true),
        physical_network: doc
            .get("physical_network")
            .and_then(|v| v.as_str())
            .map(str::to_string),
        updated_at: Some(now()),
        ..current.clone()
    };
    Ok((current, updated))
}

/// A port bound to a VIF keeps its address and node: the network side relies on them.
fn check_vif_binding(current: &Port, updated: &Port) -> Result<(), Error> {
    let Some(vif) = current.vif() else {
        return Ok(());
    };
    if current.address != updated.address || current.node_id != updated.node_id {
        return Err(Error::conflict(format!(
            "Cannot change the address or node of port {} while it is bound to VIF {vif}.",
            current.uuid
        )));
    }
    Ok(())
}

pub async fn create_port(c: &Conductor, ctx: &Context, mut port: Port) -> Response {
    port.address = checked_mac(&port.address)?;
    let node_uuid = port.node_uuid.clone();
    let node_id = {
        let node_uuid = node_uuid.clone();
        c.db.run(move |conn| resolve_node(conn, &node_uuid)).await?
    };
    let created = c
        .with_node_lock(ctx, node_id, "port create", move |conn, node| {
            port.node_id = node.id;
            Ok(Reply::Port(ports::create(conn, &port)?))
        })
        .await;
    // The node was deleted between the lookup and the lock (or the insert): answered as
    // a node that never existed.
    created.map_err(|e| match e {
        Error::NotFound(_) => missing_node(&node_uuid),
        other => other,
    })
}

pub async fn update_port(
    c: &Conductor,
    ctx: &Context,
    uuid: String,
    ops: Vec<PatchOperation>,
) -> Response {
    patch::check_allowed(&ops, &PATCHABLE)?;
    // Patch once unlocked to learn which node to lock, then again under the lock.
    let (uuid2, ops2) = (uuid.clone(), ops.clone());
    let (_, planned) = c.db.run(move |conn| patched(conn, &uuid2, &ops2)).await?;
    c.with_node_lock(ctx, planned.node_id, "port update", move |conn, node| {
        let (current, updated) = patched(conn, &uuid, &ops)?;
        if updated.node_id != node.id {
            return Err(Error::conflict(format!(
                "The port {uuid} was changed concurrently, please retry."
            )));
        }
        check_vif_binding(&current, &updated)?;
        Ok(Reply::Port(ports::update(conn, &updated)?))
    })
    .await
}

pub async fn destroy_port(c: &Conductor, ctx: &Context, uuid: String) -> Response {
    let uuid2 = uuid.clone();
    let node_id =
        c.db.run(move |conn| Ok(ports::get_by_uuid(conn, &uuid2)?.node_id))
            .await?;
    c.with_node_lock(ctx, node_id, "port deletion", move |conn, node| {
        let port = ports::get_by_uuid(conn, &uuid)?;
        if let Some(vif) = port.vif()
            && !node.maintenance
        {
            return Err(Error::conflict(format!(
                "Cannot delete the port {uuid} as it is bound to VIF {vif} for tenant use."
            )));
        }
        ports::delete(conn, &uuid)?;
        Ok(Reply::Done)
    })
    .await
}
