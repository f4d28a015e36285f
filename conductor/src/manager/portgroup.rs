//! The rules of port groups: an existing node, a MAC address if any, a logical name if
//! any, each unique; a port group keeps its node while ports belong to it, and cannot be
//! deleted then. Update and destroy themselves are [`super::child`]'s.

use json_patch::PatchOperation;
use serde_json::Value;

use common::Error;
use common::child::{New, NodeChild};
use common::db::{AnyConnection, nodes, portgroups, ports};
use common::model::node::Node;
use common::model::portgroup::{Portgroup, PortgroupFields, check_patch_paths, is_valid_name};
use common::model::{JsonObject, canonical_uuid};
use common::patch;
use common::rpc::Response;
use common::schema::{self, schema_error};

use super::child::{Guarded, resolve_node};
use super::port::checked_mac;
use crate::Conductor;
use crate::context::Context;

impl Guarded for Portgroup {
    const SAVES_UNCHANGED: bool = true;
    // The group's ports take part in its checks.
    const PLAN_HOLDS: bool = false;

    fn check_patch(ops: &[PatchOperation]) -> Result<(), Error> {
        check_patch_paths(ops)
    }

    fn patched(
        conn: &mut AnyConnection,
        current: &Portgroup,
        ops: &[PatchOperation],
    ) -> Result<Portgroup, Error> {
        let fields = patched_fields(&current.fields(), ops)?;
        let fields = checked_fields(fields)?;
        let node_id = resolve_node(conn, &fields.node_uuid, || {
            Error::invalid(format!(
                "Unable to apply the requested node_uuid '{}'. Requested value was invalid.",
                fields.node_uuid
            ))
        })?;
        if node_id != current.node_id && ports::portgroup_has_ports(conn, &current.uuid)? {
            return Err(Error::invalid(format!(
                "Portgroup {} can not be associated with node {} because there are ports associated with this portgroup.",
                current.uuid, fields.node_uuid
            )));
        }
        let updated = current.clone().with_fields(fields, node_id);
        if let Some(duplicate) = portgroups::duplicate_of(conn, &updated)? {
            return Err(duplicate);
        }
        if current.standalone_ports_supported && !updated.standalone_ports_supported {
            check_members_without_standalone(conn, &updated)?;
        }
        Ok(updated)
    }

    fn check_update(_: &Node, _: &Portgroup, _: &Portgroup) -> Result<(), Error> {
        Ok(())
    }

    fn check_destroy(_: &Node, _: &Portgroup) -> Result<(), Error> {
        Ok(())
    }

    fn check_destroy_stored(conn: &mut AnyConnection, current: &Portgroup) -> Result<(), Error> {
        if ports::portgroup_has_ports(conn, &current.uuid)? {
            // Ironic names the port group by its internal id here.
            return Err(Error::invalid(format!(
                "Cannot complete the requested action because portgroup {} contains ports.",
                current.id
            )));
        }
        Ok(())
    }
}

/// Whether a node's network interface holds port groups to `standalone_ports_supported`:
/// Ironic's `flat` and `neutron` interfaces do, `noop` does not.
pub fn enforces_standalone(node: &Node) -> bool {
    node.interfaces.network.as_deref() != Some("noop")
}

/// A port group stops supporting standalone ports only when none of its ports boots
/// by PXE or has a VIF, as Ironic's network interfaces require.
fn check_members_without_standalone(
    conn: &mut AnyConnection,
    portgroup: &Portgroup,
) -> Result<(), Error> {
    if !enforces_standalone(&nodes::get_by_id(conn, portgroup.node_id)?) {
        return Ok(());
    }
    let members = ports::list_for_node(conn, portgroup.node_id)?;
    for port in members
        .iter()
        .filter(|p| p.portgroup_uuid.as_deref() == Some(portgroup.uuid.as_str()))
    {
        let mut reasons = Vec::new();
        if port.pxe_enabled {
            reasons.push("'pxe_enabled' is set to True".to_string());
        }
        if let Some(vif) = port.vif() {
            reasons.push(format!("VIF {vif} is attached to this port"));
        }
        if !reasons.is_empty() {
            return Err(Error::conflict(format!(
                "standalone_ports_supported can not be set to False, because the port group {} contains port with {}",
                portgroup.uuid,
                reasons.join(", ")
            )));
        }
    }
    Ok(())
}

/// The patched document, checked: `mode` cannot be removed, the flag may be a word.
fn patched_fields(
    current: &PortgroupFields,
    ops: &[PatchOperation],
) -> Result<PortgroupFields, Error> {
    let Value::Object(doc) = serde_json::to_value(current)
        .map_err(|e| Error::Internal(format!("a patch document does not serialise: {e}")))?
    else {
        return Err(Error::Internal("a patch document is not an object".into()));
    };
    let mut patched: JsonObject = patch::apply(&doc, ops)?;
    if !patched.contains_key("mode") {
        return Err(Error::invalid(
            "'mode' is a mandatory attribute and can not be removed",
        ));
    }
    schema::check(&mut patched, Portgroup::PATCH_SCHEMA, "patch")?;
    serde_json::from_value(Value::Object(patched)).map_err(|e| schema_error("patch", e))
}

/// The fields as stored: the address in canonical form, a logical name, the node's
/// UUID canonical.
fn checked_fields(mut fields: PortgroupFields) -> Result<PortgroupFields, Error> {
    if let Some(address) = &fields.address {
        fields.address = Some(checked_mac(address)?);
    }
    if let Some(name) = &fields.name
        && !name.is_empty()
        && !is_valid_name(name)
    {
        return Err(Error::invalid(format!(
            "Cannot create portgroup with invalid name '{name}'"
        )));
    }
    if let Some(uuid) = canonical_uuid(&fields.node_uuid) {
        fields.node_uuid = uuid;
    }
    Ok(fields)
}

fn missing_node(node_uuid: &str) -> Error {
    Error::invalid(format!("Node {node_uuid} could not be found."))
}

pub async fn create_portgroup(c: &Conductor, ctx: &Context, new: New<PortgroupFields>) -> Response {
    let fields = checked_fields(new.fields)?;
    let node_uuid = fields.node_uuid.clone();
    let node_id = {
        let node_uuid = node_uuid.clone();
        c.db.run(move |conn| resolve_node(conn, &node_uuid, || missing_node(&node_uuid)))
            .await?
    };
    let created = c
        .with_node_lock(ctx, node_id, "portgroup create", move |conn, _| {
            let portgroup = Portgroup::new(new.uuid, fields);
            if let Some(duplicate) = portgroups::duplicate_of(conn, &portgroup)? {
                return Err(duplicate);
            }
            Ok(portgroups::create(conn, &portgroup)?.into_reply())
        })
        .await;
    // The node was deleted between the lookup and the lock: answered as a node that
    // never existed.
    created.map_err(|e| match e {
        Error::NotFound(_) => missing_node(&node_uuid),
        other => other,
    })
}
