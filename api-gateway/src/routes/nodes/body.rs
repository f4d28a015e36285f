//! A node as the API shows it: every field with the microversion that introduced it,
//! hidden from older requests, and secrets masked.

use serde_json::{Map, Value, json};

use common::model::isoformat;
use common::model::mask::mask_secrets;
use common::model::node::{INTERFACES, Node};

use crate::app::Ctx;
use crate::error::{ApiError, ApiResult};
use crate::version::Version;

/// Every node field, in the order Ironic lists them.
pub const FIELDS: [&str; 44] = [
    "uuid",
    "name",
    "driver",
    "driver_info",
    "driver_internal_info",
    "extra",
    "properties",
    "instance_info",
    "instance_uuid",
    "chassis_uuid",
    "power_state",
    "target_power_state",
    "provision_state",
    "target_provision_state",
    "provision_updated_at",
    "last_error",
    "maintenance",
    "maintenance_reason",
    "reservation",
    "console_enabled",
    "inspection_started_at",
    "inspection_finished_at",
    "clean_step",
    "raid_config",
    "target_raid_config",
    "network_interface",
    "resource_class",
    "boot_interface",
    "console_interface",
    "deploy_interface",
    "inspect_interface",
    "management_interface",
    "power_interface",
    "raid_interface",
    "vendor_interface",
    "storage_interface",
    "traits",
    "rescue_interface",
    "bios_interface",
    "fault",
    "deploy_step",
    "conductor_group",
    "created_at",
    "updated_at",
];

/// The minor version that introduced a field (1 for the original ones).
fn since(field: &str) -> u32 {
    match field {
        "driver_internal_info" => 3,
        "name" => 5,
        "inspection_started_at" | "inspection_finished_at" => 6,
        "clean_step" => 7,
        "raid_config" | "target_raid_config" => 12,
        "network_interface" => 20,
        "resource_class" => 21,
        "boot_interface"
        | "console_interface"
        | "deploy_interface"
        | "inspect_interface"
        | "management_interface"
        | "power_interface"
        | "raid_interface"
        | "vendor_interface" => 31,
        "storage_interface" => 33,
        "traits" => 37,
        "rescue_interface" => 38,
        "bios_interface" => 40,
        "fault" => 42,
        "deploy_step" => 44,
        "conductor_group" => 46,
        _ => 1,
    }
}

/// Link arrays to sub-resources and the version that introduced each.
const LINK_ARRAYS: [(&str, u32); 4] = [
    ("ports", 1),
    ("states", 14),
    ("portgroups", 24),
    ("volume", 32),
];

pub fn field_allowed(field: &str, version: Version) -> bool {
    version.0 >= since(field)
}

/// 406 for fields newer than the request (Ironic's `check_allowed_fields`).
pub fn check_allowed_fields<'a>(
    fields: impl IntoIterator<Item = &'a str>,
    version: Version,
) -> ApiResult<()> {
    let too_new: Vec<&str> = fields
        .into_iter()
        .filter(|f| !field_allowed(f, version))
        .collect();
    if too_new.is_empty() {
        return Ok(());
    }
    // Ironic names neither the fields nor the version.
    tracing::debug!(fields = ?too_new, %version, "fields newer than the request's version");
    Err(ApiError::from(common::Error::NotAcceptable(
        "Request not acceptable.".into(),
    )))
}

fn ts(t: &Option<chrono::NaiveDateTime>) -> Value {
    t.as_ref()
        .map(|t| Value::String(isoformat(t)))
        .unwrap_or(Value::Null)
}

fn object_or_empty(obj: &Map<String, Value>) -> Value {
    Value::Object(obj.clone())
}

/// Every field of the node, whatever the version.
fn full(node: &Node) -> Map<String, Value> {
    let Value::Object(mut obj) = json!({
        "uuid": node.uuid,
        "name": node.name,
        "driver": node.driver,
        "driver_info": mask_secrets(&node.driver_info),
        "driver_internal_info": object_or_empty(&node.driver_internal_info),
        "extra": object_or_empty(&node.extra),
        "properties": object_or_empty(&node.properties),
        "instance_info": mask_secrets(&node.instance_info),
        "instance_uuid": node.instance_uuid,
        "chassis_uuid": node.chassis_uuid,
        "power_state": node.power_state,
        "target_power_state": node.target_power_state,
        "provision_state": node.provision_state,
        "target_provision_state": node.target_provision_state,
        "provision_updated_at": ts(&node.provision_updated_at),
        "last_error": node.last_error,
        "maintenance": node.maintenance,
        "maintenance_reason": node.maintenance_reason,
        "reservation": node.reservation,
        "console_enabled": node.console_enabled,
        "inspection_started_at": ts(&node.inspection_started_at),
        "inspection_finished_at": ts(&node.inspection_finished_at),
        "clean_step": object_or_empty(&node.clean_step),
        "raid_config": object_or_empty(&node.raid_config),
        "target_raid_config": object_or_empty(&node.target_raid_config),
        "resource_class": node.resource_class,
        "traits": node.traits,
        "fault": node.fault,
        "deploy_step": object_or_empty(&node.deploy_step),
        "conductor_group": node.conductor_group,
        "created_at": isoformat(&node.created_at),
        "updated_at": ts(&node.updated_at),
    }) else {
        unreachable!()
    };
    for kind in INTERFACES {
        obj.insert(
            format!("{kind}_interface"),
            node.interfaces
                .get(kind)
                .map(|v| Value::String(v.to_string()))
                .unwrap_or(Value::Null),
        );
    }
    obj
}

/// The node as a client of `ctx.version` sees it. Link arrays come only with full
/// bodies (no `fields`).
pub fn node_json(ctx: &Ctx, node: &Node, link_arrays: bool) -> Map<String, Value> {
    let mut obj = full(node);
    obj.retain(|k, _| field_allowed(k, ctx.version));
    as_named_at(ctx.version, &mut obj);
    obj.insert("links".into(), ctx.links(&format!("nodes/{}", node.uuid)));
    if link_arrays {
        for (name, since) in LINK_ARRAYS {
            if ctx.version.0 >= since {
                obj.insert(
                    name.into(),
                    ctx.links(&format!("nodes/{}/{name}", node.uuid)),
                );
            }
        }
    }
    obj
}

/// Keeps the requested fields (and `links`).
pub fn subset(mut item: Map<String, Value>, fields: &[String]) -> Map<String, Value> {
    item.retain(|k, _| k == "links" || fields.iter().any(|f| f == k));
    item
}

/// `GET /v1/nodes/{id}/states`.
pub fn states_json(ctx: &Ctx, node: &Node) -> Value {
    let mut doc = json!({
        "power_state": node.power_state,
        "target_power_state": node.target_power_state,
        "provision_state": node.provision_state,
        "target_provision_state": node.target_provision_state,
        "provision_updated_at": ts(&node.provision_updated_at),
        "last_error": node.last_error,
        "console_enabled": node.console_enabled,
    });
    if ctx.version.0 >= 12 {
        doc["raid_config"] = object_or_empty(&node.raid_config);
        doc["target_raid_config"] = object_or_empty(&node.target_raid_config);
    }
    if let Value::Object(obj) = &mut doc {
        as_named_at(ctx.version, obj);
    }
    doc
}

/// The current provision state under the name a client of `version` knows, as Ironic
/// shows it: before 1.2 `available` had no name (`null`), and before 1.39 `inspect wait`
/// was not told apart from `inspecting`.
fn as_named_at(version: crate::version::Version, obj: &mut Map<String, Value>) {
    let renamed = match obj.get("provision_state").and_then(Value::as_str) {
        Some("available") if version.0 < 2 => Value::Null,
        Some("inspect wait") if version.0 < 39 => json!("inspecting"),
        _ => return,
    };
    obj.insert("provision_state".into(), renamed);
}
