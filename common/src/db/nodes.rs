//! The `nodes` table.

use std::str::FromStr;

use chrono::NaiveDateTime;
use diesel::prelude::*;

use super::schema::{chassis, nodes};
use super::timestamp::{MaybeStamp, Stamp};
use super::update::update_where;
use super::{AnyConnection, Page};
use crate::error::{Error, Found, is_foreign_key_violation, is_unique_violation};
use crate::model::node::{Interfaces, Node};
use crate::model::states::{ProvisionState, UnknownName};
use crate::model::{StoredAt, from_column, object_to_column};

/// A `nodes` row as stored: JSON documents as text.
#[derive(Queryable, Selectable, Insertable, AsChangeset, Debug, Clone)]
#[diesel(table_name = nodes)]
// An absent value is stored as NULL (no column has a default), which also keeps the
// INSERT one statement diesel can prepare once: `DEFAULT` in it would not be.
#[diesel(treat_none_as_null = true, treat_none_as_default_value = false)]
pub struct NodeRow {
    #[diesel(skip_insertion)]
    pub id: i64,
    pub uuid: String,
    pub name: Option<String>,
    pub driver: String,
    pub driver_info: Option<String>,
    pub driver_internal_info: Option<String>,
    pub extra: Option<String>,
    pub properties: Option<String>,
    pub instance_info: Option<String>,
    pub instance_uuid: Option<String>,
    pub power_state: Option<String>,
    pub target_power_state: Option<String>,
    pub provision_state: String,
    pub target_provision_state: Option<String>,
    #[diesel(deserialize_as = MaybeStamp)]
    pub provision_updated_at: Option<NaiveDateTime>,
    pub last_error: Option<String>,
    pub maintenance: bool,
    pub maintenance_reason: Option<String>,
    pub fault: Option<String>,
    /// Written only by the lock functions (`reservation.rs`).
    #[diesel(skip_update)]
    pub reservation: Option<String>,
    pub console_enabled: bool,
    pub conductor_group: String,
    pub conductor_affinity: Option<String>,
    pub resource_class: Option<String>,
    pub traits: Option<String>,
    pub clean_step: Option<String>,
    pub deploy_step: Option<String>,
    pub raid_config: Option<String>,
    pub target_raid_config: Option<String>,
    #[diesel(deserialize_as = MaybeStamp)]
    pub inspection_started_at: Option<NaiveDateTime>,
    #[diesel(deserialize_as = MaybeStamp)]
    pub inspection_finished_at: Option<NaiveDateTime>,
    pub bios_interface: Option<String>,
    pub boot_interface: Option<String>,
    pub console_interface: Option<String>,
    pub deploy_interface: Option<String>,
    pub inspect_interface: Option<String>,
    pub management_interface: Option<String>,
    pub network_interface: Option<String>,
    pub power_interface: Option<String>,
    pub raid_interface: Option<String>,
    pub rescue_interface: Option<String>,
    pub storage_interface: Option<String>,
    pub vendor_interface: Option<String>,
    #[diesel(deserialize_as = Stamp)]
    pub created_at: NaiveDateTime,
    #[diesel(deserialize_as = MaybeStamp)]
    pub updated_at: Option<NaiveDateTime>,
    pub chassis_id: Option<i64>,
}

/// A state column's text as its enum. Any other text is a fault: never read as a default.
fn state_column<T: FromStr<Err = UnknownName>>(
    uuid: &str,
    column: &str,
    text: &str,
) -> Result<T, Error> {
    text.parse()
        .map_err(|e| Error::Internal(format!("node {uuid}: column {column} holds an {e}")))
}

fn optional_state_column<T: FromStr<Err = UnknownName>>(
    uuid: &str,
    column: &str,
    text: Option<&str>,
) -> Result<Option<T>, Error> {
    text.map(|t| state_column(uuid, column, t)).transpose()
}

impl TryFrom<NodeRow> for Node {
    type Error = Error;

    fn try_from(r: NodeRow) -> Result<Node, Error> {
        let uuid = r.uuid.as_str();
        let power_state = optional_state_column(uuid, "power_state", r.power_state.as_deref())?;
        let target_power_state =
            optional_state_column(uuid, "target_power_state", r.target_power_state.as_deref())?;
        let provision_state = state_column(uuid, "provision_state", &r.provision_state)?;
        let target_provision_state = optional_state_column(
            uuid,
            "target_provision_state",
            r.target_provision_state.as_deref(),
        )?;
        let at = StoredAt {
            table: "nodes",
            row: r.id,
        };
        let object = |text: &Option<String>, column| from_column(text.as_deref(), at, column);
        Ok(Node {
            id: r.id,
            uuid: r.uuid,
            name: r.name,
            driver: r.driver,
            driver_info: object(&r.driver_info, "driver_info")?,
            driver_internal_info: object(&r.driver_internal_info, "driver_internal_info")?,
            extra: object(&r.extra, "extra")?,
            properties: object(&r.properties, "properties")?,
            instance_info: object(&r.instance_info, "instance_info")?,
            instance_uuid: r.instance_uuid,
            power_state,
            target_power_state,
            provision_state,
            target_provision_state,
            provision_updated_at: r.provision_updated_at,
            last_error: r.last_error,
            maintenance: r.maintenance,
            maintenance_reason: r.maintenance_reason,
            fault: r.fault,
            reservation: r.reservation,
            console_enabled: r.console_enabled,
            conductor_group: r.conductor_group,
            conductor_affinity: r.conductor_affinity,
            resource_class: r.resource_class,
            traits: from_column(r.traits.as_deref(), at, "traits")?,
            clean_step: object(&r.clean_step, "clean_step")?,
            deploy_step: object(&r.deploy_step, "deploy_step")?,
            raid_config: object(&r.raid_config, "raid_config")?,
            target_raid_config: object(&r.target_raid_config, "target_raid_config")?,
            inspection_started_at: r.inspection_started_at,
            inspection_finished_at: r.inspection_finished_at,
            interfaces: Interfaces {
                bios: r.bios_interface,
                boot: r.boot_interface,
                console: r.console_interface,
                deploy: r.deploy_interface,
                inspect: r.inspect_interface,
                management: r.management_interface,
                network: r.network_interface,
                power: r.power_interface,
                raid: r.raid_interface,
                rescue: r.rescue_interface,
                storage: r.storage_interface,
                vendor: r.vendor_interface,
            },
            created_at: r.created_at,
            updated_at: r.updated_at,
            chassis_id: r.chassis_id,
            chassis_uuid: None,
        })
    }
}

impl From<&Node> for NodeRow {
    fn from(n: &Node) -> NodeRow {
        let i = n.interfaces.clone();
        NodeRow {
            id: n.id,
            uuid: n.uuid.clone(),
            name: n.name.clone(),
            driver: n.driver.clone(),
            driver_info: object_to_column(&n.driver_info),
            driver_internal_info: object_to_column(&n.driver_internal_info),
            extra: object_to_column(&n.extra),
            properties: object_to_column(&n.properties),
            instance_info: object_to_column(&n.instance_info),
            instance_uuid: n.instance_uuid.clone(),
            power_state: n.power_state.map(|s| s.to_string()),
            target_power_state: n.target_power_state.map(|s| s.to_string()),
            provision_state: n.provision_state.to_string(),
            target_provision_state: n.target_provision_state.map(|s| s.to_string()),
            provision_updated_at: n.provision_updated_at,
            last_error: n.last_error.clone(),
            maintenance: n.maintenance,
            maintenance_reason: n.maintenance_reason.clone(),
            fault: n.fault.clone(),
            reservation: n.reservation.clone(),
            console_enabled: n.console_enabled,
            conductor_group: n.conductor_group.clone(),
            conductor_affinity: n.conductor_affinity.clone(),
            resource_class: n.resource_class.clone(),
            traits: (!n.traits.is_empty())
                .then(|| serde_json::to_string(&n.traits).unwrap_or_default()),
            clean_step: object_to_column(&n.clean_step),
            deploy_step: object_to_column(&n.deploy_step),
            raid_config: object_to_column(&n.raid_config),
            target_raid_config: object_to_column(&n.target_raid_config),
            inspection_started_at: n.inspection_started_at,
            inspection_finished_at: n.inspection_finished_at,
            bios_interface: i.bios,
            boot_interface: i.boot,
            console_interface: i.console,
            deploy_interface: i.deploy,
            inspect_interface: i.inspect,
            management_interface: i.management,
            network_interface: i.network,
            power_interface: i.power,
            raid_interface: i.raid,
            rescue_interface: i.rescue,
            storage_interface: i.storage,
            vendor_interface: i.vendor,
            created_at: n.created_at,
            updated_at: n.updated_at,
            chassis_id: n.chassis_id,
        }
    }
}

/// A node row with the UUID of its chassis, as every read selects it.
pub(super) type Joined = (NodeRow, Option<String>);

/// The node a read found, with its chassis's UUID.
pub(super) fn joined((row, chassis_uuid): Joined) -> Result<Node, Error> {
    let mut node = Node::try_from(row)?;
    node.chassis_uuid = chassis_uuid;
    Ok(node)
}

/// The node of a row read without its chassis: the chassis's UUID is looked up, when it
/// has one.
pub(super) fn with_chassis(conn: &mut AnyConnection, row: NodeRow) -> Result<Node, Error> {
    let chassis_uuid = match row.chassis_id {
        Some(id) => chassis::table
            .find(id)
            .select(chassis::uuid)
            .first::<String>(conn)
            .optional()?,
        None => None,
    };
    joined((row, chassis_uuid))
}

/// Sets the internal chassis reference from the chassis UUID a client gave. An unknown
/// chassis is the client's error (400), as in Ironic.
fn resolve_chassis(conn: &mut AnyConnection, node: &Node) -> Result<Option<i64>, Error> {
    let Some(uuid) = &node.chassis_uuid else {
        return Ok(None);
    };
    super::chassis::id_of(conn, uuid)
        .found()?
        .map(Some)
        .ok_or_else(|| chassis_missing(uuid))
}

fn chassis_missing(uuid: &str) -> Error {
    Error::invalid(format!("Chassis {uuid} could not be found."))
}

/// The node's chassis was deleted after it was looked up: answered as a chassis that
/// never existed.
fn chassis_gone(node: &Node) -> Error {
    chassis_missing(node.chassis_uuid.as_deref().unwrap_or_default())
}

pub fn not_found(ident: &str) -> Error {
    Error::node_not_found(ident)
}

// Every read joins the chassis, whose UUID a node shows: a node refers to its chassis by
// internal id, as in Ironic.

pub fn get_by_id(conn: &mut AnyConnection, id: i64) -> Result<Node, Error> {
    nodes::table
        .left_join(chassis::table)
        .filter(nodes::id.eq(id))
        .select((NodeRow::as_select(), chassis::uuid.nullable()))
        .first::<Joined>(conn)
        .optional()?
        .ok_or_else(|| not_found(&id.to_string()))
        .and_then(joined)
}

pub fn get_by_uuid(conn: &mut AnyConnection, uuid: &str) -> Result<Node, Error> {
    nodes::table
        .left_join(chassis::table)
        .filter(nodes::uuid.eq(uuid))
        .select((NodeRow::as_select(), chassis::uuid.nullable()))
        .first::<Joined>(conn)
        .optional()?
        .ok_or_else(|| not_found(uuid))
        .and_then(joined)
}

/// Looks a node up by UUID or by name, as every node URL allows.
pub fn get_by_ident(conn: &mut AnyConnection, ident: &str) -> Result<Node, Error> {
    match crate::model::canonical_uuid(ident) {
        // As in Ironic, a UUID is looked up as written: no node has an upper-case one.
        Some(uuid) if uuid != ident => Err(not_found(ident)),
        Some(uuid) => get_by_uuid(conn, &uuid)
            .found()?
            .ok_or_else(|| not_found(ident)),
        None => nodes::table
            .left_join(chassis::table)
            .filter(nodes::name.eq(ident))
            .select((NodeRow::as_select(), chassis::uuid.nullable()))
            .first::<Joined>(conn)
            .optional()?
            .ok_or_else(|| not_found(ident))
            .and_then(joined),
    }
}

/// The internal id of a node, by UUID or name.
pub fn id_of(conn: &mut AnyConnection, ident: &str) -> Result<i64, Error> {
    let query = nodes::table.select(nodes::id).into_boxed();
    let query = match crate::model::canonical_uuid(ident) {
        Some(uuid) if uuid != ident => return Err(not_found(ident)),
        Some(uuid) => query.filter(nodes::uuid.eq(uuid)),
        None => query.filter(nodes::name.eq(ident.to_string())),
    };
    query
        .first(conn)
        .optional()?
        .ok_or_else(|| not_found(ident))
}

/// Columns a node list may be sorted on.
pub const SORT_KEYS: [&str; 12] = [
    "id",
    "uuid",
    "name",
    "driver",
    "instance_uuid",
    "power_state",
    "provision_state",
    "maintenance",
    "resource_class",
    "conductor_group",
    "created_at",
    "updated_at",
];

/// Filters of `GET /v1/nodes`.
#[derive(Clone, Debug, Default)]
pub struct NodeFilter {
    pub instance_uuid: Option<String>,
    pub associated: Option<bool>,
    pub maintenance: Option<bool>,
    pub provision_state: Option<ProvisionState>,
    pub driver: Option<String>,
    pub resource_class: Option<String>,
    pub conductor_group: Option<String>,
    pub fault: Option<String>,
    /// A chassis's UUID: unknown is 404, as in Ironic.
    pub chassis_uuid: Option<String>,
}

pub fn list(
    conn: &mut AnyConnection,
    filter: &NodeFilter,
    page: &Page,
) -> Result<Vec<Node>, Error> {
    let mut query = nodes::table
        .left_join(chassis::table)
        .select((NodeRow::as_select(), chassis::uuid.nullable()))
        .into_boxed();
    if let Some(uuid) = &filter.chassis_uuid {
        let id = super::chassis::id_of(conn, uuid)?;
        query = query.filter(nodes::chassis_id.eq(id));
    }
    if let Some(v) = &filter.instance_uuid {
        query = query.filter(nodes::instance_uuid.eq(v.clone()));
    }
    match filter.associated {
        Some(true) => query = query.filter(nodes::instance_uuid.is_not_null()),
        Some(false) => query = query.filter(nodes::instance_uuid.is_null()),
        None => {}
    }
    if let Some(v) = filter.maintenance {
        query = query.filter(nodes::maintenance.eq(v));
    }
    if let Some(v) = &filter.provision_state {
        query = query.filter(nodes::provision_state.eq(v.as_str()));
    }
    if let Some(v) = &filter.driver {
        query = query.filter(nodes::driver.eq(v.clone()));
    }
    if let Some(v) = &filter.resource_class {
        query = query.filter(nodes::resource_class.eq(v.clone()));
    }
    if let Some(v) = &filter.conductor_group {
        query = query.filter(nodes::conductor_group.eq(v.to_lowercase()));
    }
    if let Some(v) = &filter.fault {
        query = query.filter(nodes::fault.eq(v.clone()));
    }
    let query = crate::paginate!(conn, nodes, query, page,
        [id: i64, uuid: String, name: Option<String>, driver: String,
         instance_uuid: Option<String>, power_state: Option<String>, provision_state: String,
         maintenance: bool, resource_class: Option<String>, conductor_group: String,
         created_at: NaiveDateTime, updated_at: Option<NaiveDateTime>]);
    query
        .load::<Joined>(conn)?
        .into_iter()
        .map(joined)
        .collect()
}

/// Inserts a node; name, UUID and instance UUID must be unique.
pub fn create(conn: &mut AnyConnection, node: &Node) -> Result<Node, Error> {
    if id_of(conn, &node.uuid).found()?.is_some() {
        return Err(Error::conflict(format!(
            "A node with UUID {} already exists.",
            node.uuid
        )));
    }
    let row = NodeRow {
        chassis_id: resolve_chassis(conn, node)?,
        ..NodeRow::from(node)
    };
    match diesel::insert_into(nodes::table).values(row).execute(conn) {
        Ok(_) => get_by_uuid(conn, &node.uuid),
        Err(e) if is_unique_violation(&e) => Err(duplicate(node)),
        Err(e) if is_foreign_key_violation(&e) => Err(chassis_gone(node)),
        Err(e) => Err(e.into()),
    }
}

/// Writes every field of the node but its reservation, which only the lock functions
/// touch, and returns the node as stored: `node` with the time of the change (to the
/// microsecond, as the databases keep it), read from the row written rather than read
/// back. Its reservation is `node`'s, not read either.
pub fn update(conn: &mut AnyConnection, node: &Node) -> Result<Node, Error> {
    let mut row = NodeRow::from(node);
    row.updated_at = Some(crate::model::now());
    row.chassis_id = resolve_chassis(conn, node)?;
    let result = update_where(nodes::table, nodes::id.eq(node.id), &row).execute(conn);
    match result {
        Ok(0) => Err(not_found(&node.uuid)),
        // The chassis is the one named: its UUID was found as written.
        Ok(_) => joined((row, node.chassis_uuid.clone())),
        Err(e) if is_unique_violation(&e) => Err(duplicate(node)),
        Err(e) if is_foreign_key_violation(&e) => Err(chassis_gone(node)),
        Err(e) => Err(e.into()),
    }
}

fn duplicate(node: &Node) -> Error {
    match (&node.name, &node.instance_uuid) {
        (_, Some(instance)) => Error::conflict(format!(
            "A node with name {} or instance UUID {instance} already exists.",
            node.name.as_deref().unwrap_or("None")
        )),
        (Some(name), None) => Error::conflict(format!("A node with name {name} already exists.")),
        (None, None) => Error::conflict(format!("A node with UUID {} already exists.", node.uuid)),
    }
}

/// Deletes a node; its ports, connectors and targets go with it (ON DELETE CASCADE).
pub fn delete(conn: &mut AnyConnection, id: i64) -> Result<(), Error> {
    let n = diesel::delete(nodes::table.find(id)).execute(conn)?;
    if n == 0 {
        Err(not_found(&id.to_string()))
    } else {
        Ok(())
    }
}
