//! Volume connectors and targets: how a node reaches its SAN volumes.

use chrono::NaiveDateTime;
use serde::{Deserialize, Serialize};

use super::{JsonObject, null_as_empty};

/// An initiator identity of a node (iSCSI IQN, IP, MAC, FC WWPN/WWNN).
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct VolumeConnector {
    pub id: i64,
    pub uuid: String,
    pub node_id: i64,
    pub node_uuid: String,
    #[serde(rename = "type")]
    pub connector_type: String,
    pub connector_id: String,
    pub extra: JsonObject,
    pub created_at: NaiveDateTime,
    pub updated_at: Option<NaiveDateTime>,
}

/// A volume attached to a node; `boot_index` 0 is the boot volume.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct VolumeTarget {
    pub id: i64,
    pub uuid: String,
    pub node_id: i64,
    pub node_uuid: String,
    pub volume_type: String,
    pub properties: JsonObject,
    pub boot_index: i32,
    pub volume_id: String,
    pub extra: JsonObject,
    pub created_at: NaiveDateTime,
    pub updated_at: Option<NaiveDateTime>,
}

/// What a client sets on a connector: the fields of a create body, and the document a
/// JSON Patch edits.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ConnectorFields {
    pub node_uuid: String,
    #[serde(rename = "type")]
    pub connector_type: String,
    pub connector_id: String,
    #[serde(default, deserialize_with = "null_as_empty")]
    pub extra: JsonObject,
}

/// What a client sets on a target: the fields of a create body, and the document a
/// JSON Patch edits.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct TargetFields {
    pub node_uuid: String,
    pub volume_type: String,
    pub boot_index: i32,
    pub volume_id: String,
    #[serde(default, deserialize_with = "null_as_empty")]
    pub properties: JsonObject,
    #[serde(default, deserialize_with = "null_as_empty")]
    pub extra: JsonObject,
}

impl NodeChild for VolumeConnector {
    type Fields = ConnectorFields;

    const NAME: &'static str = "Volume connector";
    const SCHEMA_NAME: &'static str = "connector";
    const PATH: &'static str = "volume/connectors";
    const KEY: &'static str = "connectors";
    const FIELDS: &'static [&'static str] = &[
        "uuid",
        "node_uuid",
        "type",
        "connector_id",
        "extra",
        "created_at",
        "updated_at",
    ];
    const DEFAULT_FIELDS: &'static [&'static str] = &["uuid", "node_uuid", "type", "connector_id"];
    const SORT_KEYS: &'static [&'static str] = &[
        "id",
        "uuid",
        "node_id",
        "type",
        "connector_id",
        "created_at",
        "updated_at",
    ];
    const PATCHABLE: &'static [&'static str] = &["connector_id", "extra", "node_uuid", "type"];
    const CREATE_SCHEMA: &'static [Field] = &CONNECTOR_SCHEMA;
    const PATCH_SCHEMA: &'static [Field] = &CONNECTOR_SCHEMA;

    fn uuid(&self) -> &str {
        &self.uuid
    }

    fn node_id(&self) -> i64 {
        self.node_id
    }

    fn new(uuid: String, fields: ConnectorFields) -> VolumeConnector {
        let created = VolumeConnector {
            uuid,
            created_at: super::now(),
            ..Default::default()
        };
        created.with_fields(fields, 0)
    }

    fn fields(&self) -> ConnectorFields {
        ConnectorFields {
            node_uuid: self.node_uuid.clone(),
            connector_type: self.connector_type.clone(),
            connector_id: self.connector_id.clone(),
            extra: self.extra.clone(),
        }
    }

    fn with_fields(self, f: ConnectorFields, node_id: i64) -> VolumeConnector {
        VolumeConnector {
            node_id,
            node_uuid: f.node_uuid,
            connector_type: f.connector_type,
            connector_id: f.connector_id,
            extra: f.extra,
            ..self
        }
    }

    fn node_uuid(fields: &ConnectorFields) -> &str {
        &fields.node_uuid
    }

    fn set_node_uuid(fields: &mut ConnectorFields, uuid: String) {
        fields.node_uuid = uuid;
    }

    fn create_call(connector: New<ConnectorFields>) -> Call {
        Call::CreateVolumeConnector { connector }
    }

    fn update_call(uuid: String, patch: Vec<json_patch::PatchOperation>) -> Call {
        Call::UpdateVolumeConnector { uuid, patch }
    }

    fn destroy_call(uuid: String) -> Call {
        Call::DestroyVolumeConnector { uuid }
    }

    fn into_reply(self) -> Reply {
        Reply::Connector(self)
    }

    fn from_reply(reply: Reply) -> Result<Self, crate::Error> {
        match reply {
            Reply::Connector(c) => Ok(c),
            other => Err(unexpected(other)),
        }
    }
}

impl NodeChild for VolumeTarget {
    type Fields = TargetFields;

    const NAME: &'static str = "Volume target";
    const SCHEMA_NAME: &'static str = "target";
    const PATH: &'static str = "volume/targets";
    const KEY: &'static str = "targets";
    const FIELDS: &'static [&'static str] = &[
        "uuid",
        "node_uuid",
        "volume_type",
        "properties",
        "boot_index",
        "volume_id",
        "extra",
        "created_at",
        "updated_at",
    ];
    const DEFAULT_FIELDS: &'static [&'static str] = &[
        "uuid",
        "node_uuid",
        "volume_type",
        "boot_index",
        "volume_id",
    ];
    const SORT_KEYS: &'static [&'static str] = &[
        "id",
        "uuid",
        "node_id",
        "volume_type",
        "boot_index",
        "volume_id",
        "created_at",
        "updated_at",
    ];
    const PATCHABLE: &'static [&'static str] = &[
        "boot_index",
        "extra",
        "node_uuid",
        "properties",
        "volume_id",
        "volume_type",
    ];
    const CREATE_SCHEMA: &'static [Field] = &TARGET_SCHEMA;
    const PATCH_SCHEMA: &'static [Field] = &TARGET_SCHEMA;

    fn uuid(&self) -> &str {
        &self.uuid
    }

    fn node_id(&self) -> i64 {
        self.node_id
    }

    fn new(uuid: String, fields: TargetFields) -> VolumeTarget {
        let created = VolumeTarget {
            uuid,
            created_at: super::now(),
            ..Default::default()
        };
        created.with_fields(fields, 0)
    }

    fn fields(&self) -> TargetFields {
        TargetFields {
            node_uuid: self.node_uuid.clone(),
            volume_type: self.volume_type.clone(),
            boot_index: self.boot_index,
            volume_id: self.volume_id.clone(),
            properties: self.properties.clone(),
            extra: self.extra.clone(),
        }
    }

    fn with_fields(self, f: TargetFields, node_id: i64) -> VolumeTarget {
        VolumeTarget {
            node_id,
            node_uuid: f.node_uuid,
            volume_type: f.volume_type,
            boot_index: f.boot_index,
            volume_id: f.volume_id,
            properties: f.properties,
            extra: f.extra,
            ..self
        }
    }

    fn node_uuid(fields: &TargetFields) -> &str {
        &fields.node_uuid
    }

    fn set_node_uuid(fields: &mut TargetFields, uuid: String) {
        fields.node_uuid = uuid;
    }

    fn create_call(target: New<TargetFields>) -> Call {
        Call::CreateVolumeTarget { target }
    }

    fn update_call(uuid: String, patch: Vec<json_patch::PatchOperation>) -> Call {
        Call::UpdateVolumeTarget { uuid, patch }
    }

    fn destroy_call(uuid: String) -> Call {
        Call::DestroyVolumeTarget { uuid }
    }

    fn into_reply(self) -> Reply {
        Reply::Target(self)
    }

    fn from_reply(reply: Reply) -> Result<Self, crate::Error> {
        match reply {
            Reply::Target(t) => Ok(t),
            other => Err(unexpected(other)),
        }
    }
}

/// Column sizes, checked by the API so that over-long values get a 400, never a DB error.
pub const CONNECTOR_TYPE_MAX: usize = 32;
pub const CONNECTOR_ID_MAX: usize = 255;
pub const VOLUME_TYPE_MAX: usize = 64;
pub const VOLUME_ID_MAX: usize = 36;

use crate::child::{New, NodeChild};
use crate::rpc::client::unexpected;
use crate::rpc::{Call, Reply};
use crate::schema::{Field, Kind, field};

/// A connector's fields as a create body may give them; a patched connector is checked
/// against the same rules.
pub const CONNECTOR_SCHEMA: [Field; 5] = [
    field("node_uuid", Kind::Uuid, true, false),
    field("type", Kind::Str(CONNECTOR_TYPE_MAX), true, false),
    field("connector_id", Kind::Str(CONNECTOR_ID_MAX), true, false),
    field("extra", Kind::Object, false, true),
    field("uuid", Kind::Uuid, false, true),
];

/// A target's fields as a create body may give them, and the rules for a patched one.
pub const TARGET_SCHEMA: [Field; 7] = [
    field("node_uuid", Kind::Uuid, true, false),
    field("volume_type", Kind::Str(VOLUME_TYPE_MAX), true, false),
    field("boot_index", Kind::Int, true, false),
    field("volume_id", Kind::Str(VOLUME_ID_MAX), true, false),
    field("properties", Kind::Object, false, true).secret(),
    field("extra", Kind::Object, false, true),
    field("uuid", Kind::Uuid, false, true),
];
