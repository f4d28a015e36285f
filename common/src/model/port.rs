//! Ports: the node's NICs, to which VIFs are bound.

use chrono::NaiveDateTime;
use serde::{Deserialize, Serialize};

use super::{JsonObject, null_as_empty};
use crate::child::{New, NodeChild};
use crate::rpc::client::unexpected;
use crate::rpc::{Call, Reply};
use crate::schema::{Field, Kind, field};

#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
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
    /// The port group the port belongs to (1.24).
    pub portgroup_uuid: Option<String>,
    pub created_at: NaiveDateTime,
    pub updated_at: Option<NaiveDateTime>,
}

/// Where a port records the VIF bound to it.
pub const VIF_KEY: &str = "tenant_vif_port_id";

/// What a client sets on a port: the fields of a create body, and the document a JSON
/// Patch edits. Absent or null, `pxe_enabled` is true, as in Ironic.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct PortFields {
    pub address: String,
    pub node_uuid: String,
    #[serde(default, deserialize_with = "null_as_empty")]
    pub extra: JsonObject,
    #[serde(default, deserialize_with = "null_as_empty")]
    pub local_link_connection: JsonObject,
    #[serde(default = "pxe_default", deserialize_with = "null_as_pxe_default")]
    pub pxe_enabled: bool,
    #[serde(default)]
    pub physical_network: Option<String>,
    /// A port group of the same node.
    #[serde(default)]
    pub portgroup_uuid: Option<String>,
}

fn pxe_default() -> bool {
    true
}

fn null_as_pxe_default<'de, D: serde::Deserializer<'de>>(d: D) -> Result<bool, D::Error> {
    Ok(Option::<bool>::deserialize(d)?.unwrap_or_else(pxe_default))
}

impl Port {
    pub fn vif(&self) -> Option<&str> {
        self.internal_info.get(VIF_KEY).and_then(|v| v.as_str())
    }
}

impl NodeChild for Port {
    type Fields = PortFields;

    const NAME: &'static str = "Port";
    const SCHEMA_NAME: &'static str = "port";
    const PATH: &'static str = "ports";
    const KEY: &'static str = "ports";
    const FIELDS: &'static [&'static str] = &[
        "uuid",
        "address",
        "node_uuid",
        "extra",
        "internal_info",
        "local_link_connection",
        "pxe_enabled",
        "physical_network",
        "portgroup_uuid",
        "created_at",
        "updated_at",
    ];
    const DEFAULT_FIELDS: &'static [&'static str] = &["uuid", "address"];
    const SORT_KEYS: &'static [&'static str] =
        &["id", "uuid", "address", "created_at", "updated_at"];
    const PATCHABLE: &'static [&'static str] = &[
        "address",
        "node_uuid",
        "extra",
        "local_link_connection",
        "pxe_enabled",
        "physical_network",
        "portgroup_uuid",
    ];
    const CREATE_SCHEMA: &'static [Field] = &CREATE_SCHEMA;
    const PATCH_SCHEMA: &'static [Field] = &PATCH_SCHEMA;

    fn uuid(&self) -> &str {
        &self.uuid
    }

    fn node_id(&self) -> i64 {
        self.node_id
    }

    fn new(uuid: String, fields: PortFields) -> Port {
        let created = Port {
            uuid,
            created_at: super::now(),
            ..Default::default()
        };
        created.with_fields(fields, 0)
    }

    fn fields(&self) -> PortFields {
        PortFields {
            address: self.address.clone(),
            node_uuid: self.node_uuid.clone(),
            extra: self.extra.clone(),
            local_link_connection: self.local_link_connection.clone(),
            pxe_enabled: self.pxe_enabled,
            physical_network: self.physical_network.clone(),
            portgroup_uuid: self.portgroup_uuid.clone(),
        }
    }

    fn with_fields(self, f: PortFields, node_id: i64) -> Port {
        Port {
            address: f.address,
            node_id,
            node_uuid: f.node_uuid,
            extra: f.extra,
            local_link_connection: f.local_link_connection,
            pxe_enabled: f.pxe_enabled,
            physical_network: f.physical_network,
            portgroup_uuid: f.portgroup_uuid,
            ..self
        }
    }

    fn node_uuid(fields: &PortFields) -> &str {
        &fields.node_uuid
    }

    fn set_node_uuid(fields: &mut PortFields, uuid: String) {
        fields.node_uuid = uuid;
    }

    fn create_call(port: New<PortFields>) -> Call {
        Call::CreatePort { port }
    }

    fn update_call(uuid: String, patch: Vec<json_patch::PatchOperation>) -> Call {
        Call::UpdatePort { uuid, patch }
    }

    fn destroy_call(uuid: String) -> Call {
        Call::DestroyPort { uuid }
    }

    fn into_reply(self) -> Reply {
        Reply::Port(self)
    }

    fn from_reply(reply: Reply) -> Result<Self, crate::Error> {
        match reply {
            Reply::Port(p) => Ok(p),
            other => Err(unexpected(other)),
        }
    }
}

/// Column size of `ports.address`.
pub const ADDRESS_MAX: usize = 18;

/// Column size of `ports.physical_network`.
pub const PHYSICAL_NETWORK_MAX: usize = 64;

const ADDRESS: Field = field("address", Kind::Str(ADDRESS_MAX), true, false);
const NODE_UUID: Field = field("node_uuid", Kind::Uuid, true, false);
const EXTRA: Field = field("extra", Kind::Object, false, true);
const LOCAL_LINK_CONNECTION: Field = field("local_link_connection", Kind::Object, false, true);
const PXE_ENABLED: Field = field("pxe_enabled", Kind::Bool, false, true);
const PHYSICAL_NETWORK: Field = field(
    "physical_network",
    Kind::Str(PHYSICAL_NETWORK_MAX),
    false,
    true,
);
const PORTGROUP_UUID: Field = field("portgroup_uuid", Kind::Uuid, false, true);

/// A port's fields as a create body may give them.
pub const CREATE_SCHEMA: [Field; 8] = [
    field("uuid", Kind::Uuid, false, true),
    ADDRESS,
    NODE_UUID,
    EXTRA,
    LOCAL_LINK_CONNECTION,
    PXE_ENABLED,
    PHYSICAL_NETWORK,
    PORTGROUP_UUID,
];

/// The rules for a patched port: its documents and `pxe_enabled` cannot be null.
pub const PATCH_SCHEMA: [Field; 7] = [
    ADDRESS,
    NODE_UUID,
    EXTRA.not_null(),
    LOCAL_LINK_CONNECTION.not_null(),
    PXE_ENABLED.not_null(),
    PHYSICAL_NETWORK,
    PORTGROUP_UUID,
];

/// A MAC address in Ironic's canonical form (lower case, colon-separated), or None when
/// `value` is not a MAC address (six hex pairs separated by `:` or `-`).
pub fn normalize_mac(value: &str) -> Option<String> {
    let lower = value.to_ascii_lowercase();
    let sep = if lower.contains('-') { '-' } else { ':' };
    let parts: Vec<&str> = lower.split(sep).collect();
    let valid = parts.len() == 6
        && parts
            .iter()
            .all(|p| p.len() == 2 && p.chars().all(|c| c.is_ascii_hexdigit()));
    valid.then(|| parts.join(":"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn macs_are_validated_and_lower_cased() {
        assert_eq!(
            normalize_mac("52:54:00:AB:cd:01").as_deref(),
            Some("52:54:00:ab:cd:01")
        );
        assert_eq!(
            normalize_mac("52-54-00-ab-cd-01").as_deref(),
            Some("52:54:00:ab:cd:01")
        );
        for bad in [
            "",
            "52:54:00:ab:cd",
            "52:54:00:ab:cd:0g",
            "52:54-00:ab:cd:01",
            "525400abcd01",
        ] {
            assert_eq!(normalize_mac(bad), None, "{bad}");
        }
    }
}
