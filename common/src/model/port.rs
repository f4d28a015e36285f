//! Ports: the node's NICs, to which VIFs are bound.

use chrono::NaiveDateTime;
use serde::{Deserialize, Serialize};

use super::JsonObject;

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Port {
    pub id: i64,
    pub uuid: String,
    pub address: String,
    pub node_id: i64,
    pub node_uuid: String,
    pub extra: JsonObject,
    pub internal_info: JsonObject,
    pub local_link_connection: JsonObject,
    pub pxe_enabled: bool,
    pub physical_network: Option<String>,
    pub created_at: NaiveDateTime,
    pub updated_at: Option<NaiveDateTime>,
}

/// Where a port records the VIF bound to it.
pub const VIF_KEY: &str = "tenant_vif_port_id";

impl Port {
    pub fn vif(&self) -> Option<&str> {
        self.internal_info.get(VIF_KEY).and_then(|v| v.as_str())
    }
}
