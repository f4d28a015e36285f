//! Nodes: the bare-metal machines, with the fields the volume subsystem and
//! Nova's boot-from-volume flow use (spec: node-subset.md).

use chrono::NaiveDateTime;
use serde::{Deserialize, Serialize};

use super::JsonObject;
use super::states::{PowerState, ProvisionState};

/// The hardware interfaces a node has, in Ironic's order.
pub const INTERFACES: [&str; 12] = [
    "bios",
    "boot",
    "console",
    "deploy",
    "inspect",
    "management",
    "network",
    "power",
    "raid",
    "rescue",
    "storage",
    "vendor",
];

#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct Interfaces {
    pub bios: Option<String>,
    pub boot: Option<String>,
    pub console: Option<String>,
    pub deploy: Option<String>,
    pub inspect: Option<String>,
    pub management: Option<String>,
    pub network: Option<String>,
    pub power: Option<String>,
    pub raid: Option<String>,
    pub rescue: Option<String>,
    pub storage: Option<String>,
    pub vendor: Option<String>,
}

impl Interfaces {
    /// The interface named `kind` (one of [`INTERFACES`]).
    pub fn get(&self, kind: &str) -> Option<&str> {
        self.slot(kind).and_then(|s| s.as_deref())
    }

    pub fn set(&mut self, kind: &str, value: Option<String>) {
        if let Some(slot) = self.slot_mut(kind) {
            *slot = value;
        }
    }

    fn slot(&self, kind: &str) -> Option<&Option<String>> {
        Some(match kind {
            "bios" => &self.bios,
            "boot" => &self.boot,
            "console" => &self.console,
            "deploy" => &self.deploy,
            "inspect" => &self.inspect,
            "management" => &self.management,
            "network" => &self.network,
            "power" => &self.power,
            "raid" => &self.raid,
            "rescue" => &self.rescue,
            "storage" => &self.storage,
            "vendor" => &self.vendor,
            _ => return None,
        })
    }

    fn slot_mut(&mut self, kind: &str) -> Option<&mut Option<String>> {
        Some(match kind {
            "bios" => &mut self.bios,
            "boot" => &mut self.boot,
            "console" => &mut self.console,
            "deploy" => &mut self.deploy,
            "inspect" => &mut self.inspect,
            "management" => &mut self.management,
            "network" => &mut self.network,
            "power" => &mut self.power,
            "raid" => &mut self.raid,
            "rescue" => &mut self.rescue,
            "storage" => &mut self.storage,
            "vendor" => &mut self.vendor,
            _ => return None,
        })
    }
}

#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct Node {
    pub id: i64,
    pub uuid: String,
    pub name: Option<String>,
    pub driver: String,
    pub driver_info: JsonObject,
    pub driver_internal_info: JsonObject,
    pub extra: JsonObject,
    pub properties: JsonObject,
    pub instance_info: JsonObject,
    pub instance_uuid: Option<String>,
    pub power_state: Option<PowerState>,
    pub target_power_state: Option<PowerState>,
    pub provision_state: ProvisionState,
    pub target_provision_state: Option<ProvisionState>,
    pub provision_updated_at: Option<NaiveDateTime>,
    pub last_error: Option<String>,
    pub maintenance: bool,
    pub maintenance_reason: Option<String>,
    pub fault: Option<String>,
    pub reservation: Option<String>,
    pub console_enabled: bool,
    pub conductor_group: String,
    pub conductor_affinity: Option<String>,
    pub resource_class: Option<String>,
    pub traits: Vec<String>,
    pub clean_step: JsonObject,
    pub deploy_step: JsonObject,
    pub raid_config: JsonObject,
    pub target_raid_config: JsonObject,
    pub inspection_started_at: Option<NaiveDateTime>,
    pub inspection_finished_at: Option<NaiveDateTime>,
    pub interfaces: Interfaces,
    pub created_at: NaiveDateTime,
    pub updated_at: Option<NaiveDateTime>,
    /// The node's chassis, by internal id (stored) and by UUID (what clients see and set;
    /// a save resolves it to the id).
    pub chassis_id: Option<i64>,
    pub chassis_uuid: Option<String>,
}

impl Node {
    /// Whether the node's network interface binds VIFs to its ports. The `noop`
    /// interface binds none: attaching and detaching succeed and change nothing, and
    /// the node lists no VIFs, as in Ironic.
    pub fn binds_vifs(&self) -> bool {
        self.interfaces.network.as_deref() != Some("noop")
    }

    /// The value of one `properties.capabilities` entry (`"k1:v1,k2:v2"`); malformed
    /// entries are skipped, as Ironic's `get_node_capability` does.
    pub fn capability(&self, key: &str) -> Option<String> {
        let caps = self.properties.get("capabilities")?.as_str()?;
        caps.split(',').find_map(|entry| {
            let (k, v) = entry.split_once(':')?;
            (k.trim() == key).then(|| v.trim().to_string())
        })
    }
}

/// Ironic's `bool_from_string` for capability values and query flags.
pub fn truthy(value: &str) -> bool {
    crate::schema::TRUE_WORDS.contains(&value.trim().to_ascii_lowercase().as_str())
}

/// The faults Ironic records on a node, in its order; the `fault` filter (1.42) takes
/// only these.
pub const FAULTS: [&str; 4] = [
    "power failure",
    "clean failure",
    "rescue abort failure",
    "service failure",
];

/// Words that cannot be node names because they are API paths.
pub const RESERVED_NAMES: [&str; 4] = ["detail", "validate", "volume", "vifs"];

/// Longest node name.
pub const NAME_MAX: usize = 255;

/// The characters of a node name besides ASCII letters and digits (RFC 3986's
/// unreserved ones); `-` last, so that the set reads the same in a regex class.
pub const NAME_SYMBOLS: &str = "._~-";

/// The characters of a conductor group besides ASCII letters and digits (`-` last, as
/// in [`NAME_SYMBOLS`]).
pub const GROUP_SYMBOLS: &str = "_.-";

/// A regular expression for a valid conductor group.
pub fn group_pattern() -> String {
    format!("^[A-Za-z0-9{GROUP_SYMBOLS}]*$")
}

/// A regular expression for what [`is_valid_ident`] accepts, as far as one can say it:
/// the characters and length of a name, which a hyphenated UUID also matches.
pub fn ident_pattern() -> String {
    format!("^[A-Za-z0-9{NAME_SYMBOLS}]{{1,{NAME_MAX}}}$")
}

/// A valid node name: RFC 3986 unreserved characters, not UUID-shaped, not reserved.
pub fn is_valid_name(name: &str) -> bool {
    !name.is_empty()
        && name.len() <= NAME_MAX
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || NAME_SYMBOLS.contains(c))
        && crate::model::canonical_uuid(name).is_none()
        && !RESERVED_NAMES.contains(&name.to_ascii_lowercase().as_str())
}

/// A syntactically valid node identifier: a UUID or a valid name.
pub fn is_valid_ident(ident: &str) -> bool {
    crate::model::canonical_uuid(ident).is_some() || is_valid_name(ident)
}
