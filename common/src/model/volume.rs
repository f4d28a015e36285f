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
