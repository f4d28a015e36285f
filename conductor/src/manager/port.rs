//! The rules of ports: a MAC address, an existing node, and a VIF binding that pins
//! both. Update and destroy themselves are [`super::child`]'s.

use json_patch::PatchOperation;

use common::Error;
use common::child::{New, NodeChild};
use common::db::{AnyConnection, portgroups, ports};
use common::error::Found;
use common::model::canonical_uuid;
use common::model::node::Node;
use common::model::port::{Port, PortFields, normalize_mac};
use common::patch;
use common::rpc::Response;

use super::child::{Guarded, resolve_node};
use crate::Conductor;
use crate::context::Context;

impl Guarded for Port {
    const SAVES_UNCHANGED: bool = true;
    // The port's group takes part in its checks.
    const PLAN_HOLDS: bool = false;

    fn check_patch(ops: &[PatchOperation]) -> Result<(), Error> {
        patch::check_allowed(ops, Port::PATCHABLE)
    }

    fn patched(
        conn: &mut AnyConnection,
        current: &Port,
        ops: &[PatchOperation],
    ) -> Result<Port, Error> {
        let fields = patch::apply_typed(&current.fields(), ops, Port::PATCH_SCHEMA, |_| {})?;
        let fields = checked_fields(fields)?;
        let node_id = resolve_node(conn, &fields.node_uuid, || missing_node(&fields.node_uuid))?;
        check_portgroup(conn, &fields, node_id)?;
        let updated = current.clone().with_fields(fields, node_id);
        check_standalone(conn, current, &updated)?;
        Ok(updated)
    }

    /// A port bound to a VIF keeps its address and node: the network side relies on them.
    fn check_update(_: &Node, current: &Port, updated: &Port) -> Result<(), Error> {
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

    fn check_destroy(node: &Node, port: &Port) -> Result<(), Error> {
        match port.vif() {
            Some(vif) if !node.maintenance => Err(Error::conflict(format!(
                "Cannot delete the port {} as it is bound to VIF {vif} for tenant use.",
                port.uuid
            ))),
            _ => Ok(()),
        }
    }
}

/// A port's address must be a MAC address; it is stored lower-case.
pub fn checked_mac(address: &str) -> Result<String, Error> {
    normalize_mac(address)
        .ok_or_else(|| Error::invalid(format!("Expected valid MAC address for address: {address}")))
}

/// The fields as stored: the address in canonical form, the node's and the port
/// group's UUIDs canonical.
fn checked_fields(mut fields: PortFields) -> Result<PortFields, Error> {
    if let Some(uuid) = fields.portgroup_uuid.as_deref().and_then(canonical_uuid) {
        fields.portgroup_uuid = Some(uuid);
    }
    fields.address = checked_mac(&fields.address)?;
    if let Some(uuid) = canonical_uuid(&fields.node_uuid) {
        fields.node_uuid = uuid;
    }
    Ok(fields)
}

/// A port's port group must exist and belong to the port's node.
fn check_portgroup(
    conn: &mut AnyConnection,
    fields: &PortFields,
    node_id: i64,
) -> Result<(), Error> {
    let Some(uuid) = &fields.portgroup_uuid else {
        return Ok(());
    };
    let portgroup = portgroups::get_by_uuid(conn, uuid)
        .found()?
        .ok_or_else(|| Error::invalid(format!("Portgroup {uuid} could not be found.")))?;
    if portgroup.node_id != node_id {
        return Err(Error::invalid(
            "Port can not be added to a portgroup belonging to a different node.",
        ));
    }
    Ok(())
}

/// A port joining a port group without standalone ports, or changing `pxe_enabled` in
/// one, must neither boot by PXE nor have a VIF, where the node's network interface
/// holds port groups to that (Ironic's `port_changed`).
fn check_standalone(conn: &mut AnyConnection, current: &Port, updated: &Port) -> Result<(), Error> {
    let Some(pg) = &updated.portgroup_uuid else {
        return Ok(());
    };
    let changed = current.portgroup_uuid != updated.portgroup_uuid
        || current.pxe_enabled != updated.pxe_enabled;
    if !changed && updated.vif().is_none() {
        return Ok(());
    }
    let portgroup = portgroups::get_by_uuid(conn, pg)?;
    let node = common::db::nodes::get_by_id(conn, updated.node_id)?;
    if portgroup.standalone_ports_supported || !super::portgroup::enforces_standalone(&node) {
        return Ok(());
    }
    let mut reasons = Vec::new();
    if updated.pxe_enabled {
        reasons.push("'pxe_enabled' was set to True".to_string());
    }
    if let Some(vif) = updated.vif() {
        reasons.push(format!("VIF {vif} is attached to the port"));
    }
    if reasons.is_empty() {
        return Ok(());
    }
    // Ironic's text, with its two spaces.
    Err(Error::conflict(format!(
        "Port group {pg} doesn't support standalone ports. This port {} cannot be  a member of that port group because of: {}",
        updated.uuid,
        reasons.join(", ")
    )))
}

fn missing_node(node_uuid: &str) -> Error {
    Error::invalid(format!("Node {node_uuid} could not be found."))
}

pub async fn create_port(c: &Conductor, ctx: &Context, new: New<PortFields>) -> Response {
    let fields = checked_fields(new.fields)?;
    let node_uuid = fields.node_uuid.clone();
    let node_id = {
        let node_uuid = node_uuid.clone();
        c.db.run(move |conn| resolve_node(conn, &node_uuid, || missing_node(&node_uuid)))
            .await?
    };
    let created = c
        .with_node_lock(ctx, node_id, "port create", move |conn, node| {
            check_portgroup(conn, &fields, node.id)?;
            let port = Port::new(new.uuid, fields);
            Ok(ports::create(conn, &port)?.into_reply())
        })
        .await;
    // The node was deleted between the lookup and the lock (or the insert): answered as
    // a node that never existed.
    created.map_err(|e| match e {
        Error::NotFound(_) => missing_node(&node_uuid),
        other => other,
    })
}
