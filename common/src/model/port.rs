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

/// Column size of `ports.address`.
pub const ADDRESS_MAX: usize = 18;

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
