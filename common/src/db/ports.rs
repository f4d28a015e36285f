//! The `ports` table.

use chrono::NaiveDateTime;
use diesel::prelude::*;

use super::schema::{nodes, ports};
use super::timestamp::{MaybeStamp, Stamp};
use super::{AnyConnection, Page};
use crate::error::{Error, is_foreign_key_violation, is_unique_violation};
use crate::model::port::Port;
use crate::model::{StoredAt, from_column, object_to_column};

/// A `ports` row as stored: JSON documents as text.
#[derive(Queryable, Selectable, Insertable, AsChangeset, Debug, Clone)]
#[diesel(table_name = ports)]
// An absent value is stored as NULL (no column has a default), which also keeps the
// INSERT one statement diesel can prepare once: `DEFAULT` in it would not be.
#[diesel(treat_none_as_null = true, treat_none_as_default_value = false)]
pub struct PortRow {
    #[diesel(skip_insertion)]
    pub id: i64,
    pub uuid: String,
    pub address: String,
    pub node_id: i64,
    pub extra: Option<String>,
    pub internal_info: Option<String>,
    pub local_link_connection: Option<String>,
    pub pxe_enabled: bool,
    pub physical_network: Option<String>,
    #[diesel(deserialize_as = Stamp)]
    pub created_at: NaiveDateTime,
    #[diesel(deserialize_as = MaybeStamp)]
    pub updated_at: Option<NaiveDateTime>,
    pub portgroup_uuid: Option<String>,
}

impl TryFrom<(PortRow, String)> for Port {
    type Error = Error;

    fn try_from((r, node_uuid): (PortRow, String)) -> Result<Port, Error> {
        let at = StoredAt {
            table: "ports",
            row: r.id,
        };
        Ok(Port {
            id: r.id,
            uuid: r.uuid,
            address: r.address,
            node_id: r.node_id,
            node_uuid,
            extra: from_column(r.extra.as_deref(), at, "extra")?,
            internal_info: from_column(r.internal_info.as_deref(), at, "internal_info")?,
            local_link_connection: from_column(
                r.local_link_connection.as_deref(),
                at,
                "local_link_connection",
            )?,
            pxe_enabled: r.pxe_enabled,
            physical_network: r.physical_network,
            portgroup_uuid: r.portgroup_uuid,
            created_at: r.created_at,
            updated_at: r.updated_at,
        })
    }
}

impl From<&Port> for PortRow {
    fn from(p: &Port) -> PortRow {
        PortRow {
            id: p.id,
            uuid: p.uuid.clone(),
            address: p.address.clone(),
            node_id: p.node_id,
            extra: object_to_column(&p.extra),
            internal_info: object_to_column(&p.internal_info),
            local_link_connection: object_to_column(&p.local_link_connection),
            pxe_enabled: p.pxe_enabled,
            physical_network: p.physical_network.clone(),
            created_at: p.created_at,
            updated_at: p.updated_at,
            portgroup_uuid: p.portgroup_uuid.clone(),
        }
    }
}

crate::child_queries!(
    ports,
    PortRow,
    Port,
    [
        uuid,
        address,
        extra,
        internal_info,
        local_link_connection,
        pxe_enabled,
        physical_network,
        created_at,
        updated_at,
        portgroup_uuid
    ]
);

/// Which ports a list shows; one filter at a time, as Ironic applies them.
#[derive(Clone, Copy, Debug)]
pub enum Scope<'a> {
    All,
    Node(i64),
    /// A port group's UUID.
    Portgroup(&'a str),
    /// A MAC address, in canonical form.
    Address(&'a str),
}

pub fn list(conn: &mut AnyConnection, scope: Scope<'_>, page: &Page) -> Result<Vec<Port>, Error> {
    let mut query = ports::table
        .inner_join(nodes::table)
        .select((PortRow::as_select(), nodes::uuid))
        .into_boxed();
    query = match scope {
        Scope::All => query,
        Scope::Node(node_id) => query.filter(ports::node_id.eq(node_id)),
        Scope::Portgroup(uuid) => query.filter(ports::portgroup_uuid.eq(uuid.to_string())),
        Scope::Address(address) => query.filter(ports::address.eq(address.to_lowercase())),
    };
    let query = crate::paginate!(conn, ports, query, page, [id: i64, uuid: String, address: String,
        created_at: NaiveDateTime, updated_at: Option<NaiveDateTime>]);
    query
        .load::<(PortRow, String)>(conn)?
        .into_iter()
        .map(Port::try_from)
        .collect()
}

/// Whether any port belongs to port group `uuid`.
pub fn portgroup_has_ports(conn: &mut AnyConnection, uuid: &str) -> Result<bool, Error> {
    let n: i64 = ports::table
        .filter(ports::portgroup_uuid.eq(uuid))
        .count()
        .get_result(conn)?;
    Ok(n > 0)
}

/// The port a VIF is bound to, on any node.
pub fn find_by_vif(conn: &mut AnyConnection, vif: &str) -> Result<Option<Port>, Error> {
    // LIKE narrows the rows (its wildcards only widen the match); the exact test is ours.
    let candidates = ports::table
        .inner_join(nodes::table)
        .filter(ports::internal_info.like(format!("%{vif}%")))
        .select((PortRow::as_select(), nodes::uuid))
        .load::<(PortRow, String)>(conn)?;
    for candidate in candidates {
        let port = Port::try_from(candidate)?;
        if port.vif() == Some(vif) {
            return Ok(Some(port));
        }
    }
    Ok(None)
}

fn duplicate(p: &Port) -> Error {
    Error::conflict(format!(
        "A port with MAC address {} already exists.",
        p.address
    ))
}
