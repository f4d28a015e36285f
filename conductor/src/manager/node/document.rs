//! A node as the JSON document a PATCH applies to, and the checks every stored node
//! passes (names, conductor groups), whether created or updated.

use json_patch::PatchOperation;
use serde_json::Value;

use common::Error;
use common::model::JsonObject;
use common::model::node::{GROUP_SYMBOLS, INTERFACES, Node, is_valid_name};
use common::patch;
use common::schema::{self, Kind, field};

/// Column sizes of the nodes table.
pub const NAME_MAX: usize = 255;
pub const DRIVER_MAX: usize = 255;
pub const INTERFACE_MAX: usize = 255;
pub const RESOURCE_CLASS_MAX: usize = 80;
pub const CONDUCTOR_GROUP_MAX: usize = 255;

/// The fields a node PATCH may change.
pub const PATCHABLE: [&str; 23] = [
    "name",
    "driver",
    "driver_info",
    "extra",
    "properties",
    "instance_info",
    "instance_uuid",
    "chassis_uuid",
    "maintenance",
    "resource_class",
    "conductor_group",
    "bios_interface",
    "boot_interface",
    "console_interface",
    "deploy_interface",
    "inspect_interface",
    "management_interface",
    "network_interface",
    "power_interface",
    "raid_interface",
    "rescue_interface",
    "storage_interface",
    "vendor_interface",
];

const FIELDS: [schema::Field; 23] = [
    field("name", Kind::Str(NAME_MAX), false, true),
    field("driver", Kind::Str(DRIVER_MAX), true, false),
    field("driver_info", Kind::Object, false, false).secret(),
    field("extra", Kind::Object, false, false),
    field("properties", Kind::Object, false, false),
    field("instance_info", Kind::Object, false, false).secret(),
    field("instance_uuid", Kind::Uuid, false, true),
    field("chassis_uuid", Kind::Uuid, false, true),
    // Nullable as in Ironic's schema, so that type errors read the same; null is taken
    // as false (Ironic fails with a 500 there).
    field("maintenance", Kind::Bool, false, true),
    field("resource_class", Kind::Str(RESOURCE_CLASS_MAX), false, true),
    field(
        "conductor_group",
        Kind::Str(CONDUCTOR_GROUP_MAX),
        false,
        true,
    ),
    field("bios_interface", Kind::Str(INTERFACE_MAX), false, true),
    field("boot_interface", Kind::Str(INTERFACE_MAX), false, true),
    field("console_interface", Kind::Str(INTERFACE_MAX), false, true),
    field("deploy_interface", Kind::Str(INTERFACE_MAX), false, true),
    field("inspect_interface", Kind::Str(INTERFACE_MAX), false, true),
    field(
        "management_interface",
        Kind::Str(INTERFACE_MAX),
        false,
        true,
    ),
    field("network_interface", Kind::Str(INTERFACE_MAX), false, true),
    field("power_interface", Kind::Str(INTERFACE_MAX), false, true),
    field("raid_interface", Kind::Str(INTERFACE_MAX), false, true),
    field("rescue_interface", Kind::Str(INTERFACE_MAX), false, true),
    field("storage_interface", Kind::Str(INTERFACE_MAX), false, true),
    field("vendor_interface", Kind::Str(INTERFACE_MAX), false, true),
];

fn opt(v: &Option<String>) -> Value {
    v.clone().map(Value::String).unwrap_or(Value::Null)
}

/// The patchable fields of a node; unset ones are present as null, so `add` sets them.
pub fn document(node: &Node) -> JsonObject {
    let mut doc = JsonObject::new();
    doc.insert("name".into(), opt(&node.name));
    doc.insert("driver".into(), node.driver.clone().into());
    doc.insert("driver_info".into(), node.driver_info.clone().into());
    doc.insert("extra".into(), node.extra.clone().into());
    doc.insert("properties".into(), node.properties.clone().into());
    doc.insert("instance_info".into(), node.instance_info.clone().into());
    doc.insert("instance_uuid".into(), opt(&node.instance_uuid));
    doc.insert("chassis_uuid".into(), opt(&node.chassis_uuid));
    doc.insert("maintenance".into(), node.maintenance.into());
    doc.insert("resource_class".into(), opt(&node.resource_class));
    doc.insert(
        "conductor_group".into(),
        node.conductor_group.clone().into(),
    );
    for kind in INTERFACES {
        let value = node.interfaces.get(kind).map(str::to_string);
        doc.insert(format!("{kind}_interface"), opt(&value));
    }
    doc
}

fn str_of(doc: &JsonObject, key: &str) -> Option<String> {
    doc.get(key).and_then(|v| v.as_str()).map(str::to_string)
}

fn object_of(doc: &JsonObject, key: &str) -> JsonObject {
    doc.get(key)
        .and_then(|v| v.as_object())
        .cloned()
        .unwrap_or_default()
}

/// `node` with `ops` applied. Removing a document field resets it to its default, and a
/// removed interface is recomputed from the hardware type later.
pub fn patched(node: &Node, ops: &[PatchOperation]) -> Result<Node, Error> {
    patch::check_allowed(ops, &PATCHABLE)?;
    let mut doc = patch::apply(&document(node), ops)?;
    schema::check(&mut doc, &FIELDS, "patch")?;
    let mut updated = node.clone();
    updated.name = str_of(&doc, "name");
    updated.driver = str_of(&doc, "driver").unwrap_or_default();
    updated.driver_info = object_of(&doc, "driver_info");
    updated.extra = object_of(&doc, "extra");
    updated.properties = object_of(&doc, "properties");
    updated.instance_info = object_of(&doc, "instance_info");
    updated.instance_uuid = str_of(&doc, "instance_uuid");
    // Saving the node resolves the chassis to its id, and refuses an unknown one.
    updated.chassis_uuid =
        str_of(&doc, "chassis_uuid").map(|u| common::model::canonical_uuid(&u).unwrap_or(u));
    updated.maintenance = doc
        .get("maintenance")
        .and_then(|v| v.as_bool())
        .unwrap_or(false);
    updated.resource_class = str_of(&doc, "resource_class");
    updated.conductor_group = str_of(&doc, "conductor_group").unwrap_or_default();
    for kind in INTERFACES {
        updated
            .interfaces
            .set(kind, str_of(&doc, &format!("{kind}_interface")));
    }
    Ok(updated)
}

/// Checks and normalises the fields a client sets freely.
pub fn check_fields(node: &mut Node) -> Result<(), Error> {
    if let Some(name) = &node.name
        && !is_valid_name(name)
    {
        return Err(Error::invalid(format!(
            "Cannot create node with invalid name '{name}'"
        )));
    }
    let group = node.conductor_group.to_lowercase();
    let group_ok = group
        .chars()
        .all(|c| c.is_ascii_alphanumeric() || GROUP_SYMBOLS.contains(c));
    if !group_ok {
        return Err(Error::invalid(format!(
            "Invalid conductor group {}: only letters, digits, '_', '-' and '.' are allowed.",
            node.conductor_group
        )));
    }
    node.conductor_group = group;
    if let Some(instance) = &node.instance_uuid {
        let canonical = common::model::canonical_uuid(instance).ok_or_else(|| {
            Error::invalid(format!(
                "Expected a UUID for instance_uuid but received {instance}."
            ))
        })?;
        node.instance_uuid = Some(canonical);
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn ops(v: Value) -> Vec<PatchOperation> {
        patch::parse(&v).unwrap()
    }

    fn node() -> Node {
        let mut n = Node {
            driver: "fake-hardware".into(),
            ..Node::default()
        };
        n.interfaces.boot = Some("fake".into());
        n
    }

    #[test]
    fn add_sets_null_fields_and_remove_resets() {
        let patched = patched(
            &node(),
            &ops(json!([
                {"op": "add", "path": "/instance_uuid", "value": "8d2b1b0e-8a57-4c44-9d50-6c6c4b0c0a01"},
                {"op": "add", "path": "/instance_info/root_gb", "value": "10"},
                {"op": "remove", "path": "/boot_interface"},
            ])),
        )
        .unwrap();
        assert!(patched.instance_uuid.is_some());
        assert_eq!(patched.instance_info["root_gb"], json!("10"));
        assert_eq!(patched.interfaces.boot, None);
    }

    #[test]
    fn bad_values_and_read_only_fields_are_400() {
        for bad in [
            json!([{"op": "replace", "path": "/driver_info", "value": "x"}]),
            json!([{"op": "replace", "path": "/resource_class", "value": "x".repeat(81)}]),
            json!([{"op": "replace", "path": "/instance_uuid", "value": "nope"}]),
            json!([{"op": "replace", "path": "/provision_state", "value": "active"}]),
            json!([{"op": "remove", "path": "/driver"}]),
        ] {
            let e = patched(&node(), &ops(bad.clone())).unwrap_err();
            assert!(matches!(e, Error::Invalid(_)), "{bad}: {e:?}");
        }
    }

    #[test]
    fn names_and_groups_are_checked() {
        let mut n = node();
        n.name = Some("detail".into());
        assert!(check_fields(&mut n).is_err());
        n.name = Some("node-1".into());
        n.conductor_group = "Rack_1".into();
        check_fields(&mut n).unwrap();
        assert_eq!(n.conductor_group, "rack_1");
        n.conductor_group = "rack 1".into();
        assert!(check_fields(&mut n).is_err());
    }
}
