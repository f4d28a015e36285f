//! Port groups: a node's ports bonded together, to which VIFs can be bound as to ports.

use chrono::NaiveDateTime;
use serde::{Deserialize, Serialize};

use super::{JsonObject, null_as_empty};
use crate::child::{New, NodeChild};
use crate::error::Error;
use crate::rpc::client::unexpected;
use crate::rpc::{Call, Reply};
use crate::schema::{Field, Kind, field};

#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct Portgroup {
    pub id: i64,
    pub uuid: String,
    pub name: Option<String>,
    pub address: Option<String>,
    pub node_id: i64,
    pub node_uuid: String,
    pub standalone_ports_supported: bool,
    pub mode: String,
    pub properties: JsonObject,
    pub extra: JsonObject,
    pub internal_info: JsonObject,
    pub created_at: NaiveDateTime,
    pub updated_at: Option<NaiveDateTime>,
}

/// The bonding mode of a port group created without one: Ironic's default for
/// `[DEFAULT] default_portgroup_mode`.
pub const DEFAULT_MODE: &str = "active-backup";

/// What a client sets on a port group: the fields of a create body, and the document a
/// JSON Patch edits. Absent or null, `mode` is [`DEFAULT_MODE`] and
/// `standalone_ports_supported` true, as Ironic stores them.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct PortgroupFields {
    #[serde(default)]
    pub address: Option<String>,
    #[serde(default)]
    pub name: Option<String>,
    pub node_uuid: String,
    #[serde(default, deserialize_with = "null_as_empty")]
    pub extra: JsonObject,
    #[serde(default = "default_mode", deserialize_with = "null_as_default_mode")]
    pub mode: String,
    #[serde(default, deserialize_with = "null_as_empty")]
    pub properties: JsonObject,
    #[serde(default = "yes", deserialize_with = "null_as_yes")]
    pub standalone_ports_supported: bool,
}

fn yes() -> bool {
    true
}

fn null_as_yes<'de, D: serde::Deserializer<'de>>(d: D) -> Result<bool, D::Error> {
    Ok(Option::<bool>::deserialize(d)?.unwrap_or(true))
}

fn default_mode() -> String {
    DEFAULT_MODE.to_string()
}

fn null_as_default_mode<'de, D: serde::Deserializer<'de>>(d: D) -> Result<String, D::Error> {
    Ok(Option::<String>::deserialize(d)?.unwrap_or_else(|| DEFAULT_MODE.to_string()))
}

impl Default for PortgroupFields {
    fn default() -> Self {
        PortgroupFields {
            address: None,
            name: None,
            node_uuid: String::new(),
            extra: JsonObject::new(),
            mode: DEFAULT_MODE.to_string(),
            properties: JsonObject::new(),
            standalone_ports_supported: true,
        }
    }
}

impl NodeChild for Portgroup {
    type Fields = PortgroupFields;

    const NAME: &'static str = "Portgroup";
    const SCHEMA_NAME: &'static str = "portgroup";
    const PATH: &'static str = "portgroups";
    const KEY: &'static str = "portgroups";
    const FIELDS: &'static [&'static str] = &[
        "uuid",
        "address",
        "name",
        "node_uuid",
        "standalone_ports_supported",
        "mode",
        "properties",
        "extra",
        "internal_info",
        "created_at",
        "updated_at",
        "ports",
    ];
    const DEFAULT_FIELDS: &'static [&'static str] = &["uuid", "address", "name"];
    const SORT_KEYS: &'static [&'static str] = &[
        "id",
        "uuid",
        "name",
        "address",
        "node_id",
        "standalone_ports_supported",
        "mode",
        "created_at",
        "updated_at",
    ];
    const PATCHABLE: &'static [&'static str] = &[
        "address",
        "extra",
        "mode",
        "name",
        "node_uuid",
        "properties",
        "standalone_ports_supported",
    ];
    const CREATE_SCHEMA: &'static [Field] = &CREATE_SCHEMA;
    const PATCH_SCHEMA: &'static [Field] = &PATCH_SCHEMA;

    fn uuid(&self) -> &str {
        &self.uuid
    }

    fn node_id(&self) -> i64 {
        self.node_id
    }

    fn new(uuid: String, fields: PortgroupFields) -> Portgroup {
        let created = Portgroup {
            uuid,
            created_at: super::now(),
            ..Default::default()
        };
        created.with_fields(fields, 0)
    }

    fn fields(&self) -> PortgroupFields {
        PortgroupFields {
            address: self.address.clone(),
            name: self.name.clone(),
            node_uuid: self.node_uuid.clone(),
            extra: self.extra.clone(),
            mode: self.mode.clone(),
            properties: self.properties.clone(),
            standalone_ports_supported: self.standalone_ports_supported,
        }
    }

    fn with_fields(self, f: PortgroupFields, node_id: i64) -> Portgroup {
        Portgroup {
            address: f.address,
            name: f.name,
            node_id,
            node_uuid: f.node_uuid,
            extra: f.extra,
            mode: f.mode,
            properties: f.properties,
            standalone_ports_supported: f.standalone_ports_supported,
            ..self
        }
    }

    fn node_uuid(fields: &PortgroupFields) -> &str {
        &fields.node_uuid
    }

    fn set_node_uuid(fields: &mut PortgroupFields, uuid: String) {
        fields.node_uuid = uuid;
    }

    fn create_call(portgroup: New<PortgroupFields>) -> Call {
        Call::CreatePortgroup { portgroup }
    }

    fn update_call(uuid: String, patch: Vec<json_patch::PatchOperation>) -> Call {
        Call::UpdatePortgroup { uuid, patch }
    }

    fn destroy_call(uuid: String) -> Call {
        Call::DestroyPortgroup { uuid }
    }

    fn into_reply(self) -> Reply {
        Reply::Portgroup(self)
    }

    fn from_reply(reply: Reply) -> Result<Self, Error> {
        match reply {
            Reply::Portgroup(p) => Ok(p),
            other => Err(unexpected(other)),
        }
    }
}

/// The fields Ironic names when it refuses a patch path: its own list, which also holds
/// two fields of microversions after 1.46 that sanlink does not have.
pub const PATCHABLE_AS_NAMED: &str = "address, extra, mode, name, node_uuid, properties, standalone_ports_supported, physical_network, category";

/// Refuses a patch of a field a client may not change, in Ironic's words.
pub fn check_patch_paths(ops: &[json_patch::PatchOperation]) -> Result<(), Error> {
    for op in ops {
        let field = crate::patch::top_field(op);
        if !Portgroup::PATCHABLE.contains(&field.as_str()) {
            return Err(Error::invalid(format!(
                "Cannot patch /{field}. Only the following can be updated: {PATCHABLE_AS_NAMED}"
            )));
        }
    }
    Ok(())
}

/// Longest port group name.
pub const NAME_MAX: usize = 255;

/// Column size of `portgroups.mode`.
pub const MODE_MAX: usize = 255;

/// Ironic's logical names: RFC 3986 unreserved characters, at most [`NAME_MAX`]. Unlike
/// a node's, a port group's name may look like a UUID.
pub fn is_valid_name(name: &str) -> bool {
    !name.is_empty()
        && name.len() <= NAME_MAX
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || super::node::NAME_SYMBOLS.contains(c))
}

/// A port group identifier in a path or a filter: a UUID or a valid name; Ironic's
/// words otherwise.
pub fn checked_ident(ident: &str) -> Result<String, Error> {
    if let Some(uuid) = super::canonical_uuid(ident) {
        return Ok(uuid);
    }
    if is_valid_name(ident) {
        return Ok(ident.to_string());
    }
    Err(Error::invalid(format!(
        "Expected UUID or name for portgroup: {ident}"
    )))
}

const ADDRESS: Field = field("address", Kind::Str(usize::MAX), false, true);
const NAME: Field = field("name", Kind::Str(usize::MAX), false, true);
const NODE_UUID: Field = field("node_uuid", Kind::Uuid, true, false);
const EXTRA: Field = field("extra", Kind::Object, false, true);
const MODE: Field = field("mode", Kind::Str(MODE_MAX), false, true);
const PROPERTIES: Field = field("properties", Kind::Object, false, true);
const STANDALONE: Field = field("standalone_ports_supported", Kind::Bool, false, true);

/// A port group's fields as a create body may give them.
pub const CREATE_SCHEMA: [Field; 8] = [
    field("uuid", Kind::Uuid, false, true),
    ADDRESS,
    NAME,
    NODE_UUID,
    EXTRA,
    MODE,
    PROPERTIES,
    STANDALONE,
];

/// The rules for a patched port group: its documents, mode and flag cannot be null.
pub const PATCH_SCHEMA: [Field; 7] = [
    ADDRESS,
    NAME,
    NODE_UUID,
    EXTRA.not_null(),
    MODE.not_null(),
    PROPERTIES.not_null(),
    STANDALONE.not_null(),
];

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn names_may_look_like_uuids_but_not_hold_spaces() {
        assert!(is_valid_name("pg-1.a_b~c"));
        assert!(is_valid_name("5c5bf1c6-6c4a-4e5c-8a32-2f1e2b6a7c01"));
        assert!(!is_valid_name("bad name"));
        assert!(!is_valid_name(""));
        assert!(!is_valid_name(&"a".repeat(256)));
    }

    #[test]
    fn absent_or_null_fields_take_ironics_defaults() {
        let f: PortgroupFields = serde_json::from_value(
            json!({"node_uuid": "n", "mode": null, "standalone_ports_supported": null}),
        )
        .unwrap();
        assert_eq!(f.mode, DEFAULT_MODE);
        assert!(f.standalone_ports_supported);
        let f: PortgroupFields = serde_json::from_value(json!({"node_uuid": "n"})).unwrap();
        assert_eq!(
            f,
            PortgroupFields {
                node_uuid: "n".into(),
                ..Default::default()
            }
        );
    }
}
