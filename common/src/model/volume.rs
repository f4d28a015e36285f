//! Volume connectors and targets: how a node reaches its SAN volumes.

use chrono::NaiveDateTime;
use serde::{Deserialize, Serialize};

use super::JsonObject;

/// An initiator identity of a node (iSCSI IQN, IP, MAC, FC WWPN/WWNN).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
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
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
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

/// Column sizes, checked by the API so that over-long values get a 400, never a DB error.
pub const CONNECTOR_TYPE_MAX: usize = 32;
pub const CONNECTOR_ID_MAX: usize = 255;
pub const VOLUME_TYPE_MAX: usize = 64;
pub const VOLUME_ID_MAX: usize = 36;

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
