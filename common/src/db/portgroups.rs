//! The `portgroups` table.

use chrono::NaiveDateTime;
use diesel::prelude::*;

use super::schema::{nodes, portgroups};
use super::timestamp::{MaybeStamp, Stamp};
use super::{AnyConnection, Page};
use crate::error::{Error, Found, is_foreign_key_violation, is_unique_violation};
use crate::model::portgroup::Portgroup;
use crate::model::{StoredAt, canonical_uuid, from_column, object_to_column};

/// A `portgroups` row as stored: JSON documents as text.
#[derive(Queryable, Selectable, Insertable, AsChangeset, Debug, Clone)]
#[diesel(table_name = portgroups)]
// An absent value is stored as NULL (no column has a default), which also keeps the
// INSERT one statement diesel can prepare once: `DEFAULT` in it would not be.
#[diesel(treat_none_as_null = true, treat_none_as_default_value = false)]
pub struct PortgroupRow {
    #[diesel(skip_insertion)]
    pub id: i64,
    pub uuid: String,
    pub name: Option<String>,
    pub address: Option<String>,
    pub node_id: i64,
    pub standalone_ports_supported: bool,
    pub mode: String,
    pub properties: Option<String>,
    pub extra: Option<String>,
    pub internal_info: Option<String>,
    #[diesel(deserialize_as = Stamp)]
    pub created_at: NaiveDateTime,
    #[diesel(deserialize_as = MaybeStamp)]
    pub updated_at: Option<NaiveDateTime>,
}

impl TryFrom<(PortgroupRow, String)> for Portgroup {
    type Error = Error;

    fn try_from((r, node_uuid): (PortgroupRow, String)) -> Result<Portgroup, Error> {
        let at = StoredAt {
            table: "portgroups",
            row: r.id,
        };
        Ok(Portgroup {
            id: r.id,
            uuid: r.uuid,
            name: r.name,
            address: r.address,
            node_id: r.node_id,
            node_uuid,
            standalone_ports_supported: r.standalone_ports_supported,
            mode: r.mode,
            properties: from_column(r.properties.as_deref(), at, "properties")?,
            extra: from_column(r.extra.as_deref(), at, "extra")?,
            internal_info: from_column(r.internal_info.as_deref(), at, "internal_info")?,
            created_at: r.created_at,
            updated_at: r.updated_at,
        })
    }
}

impl From<&Portgroup> for PortgroupRow {
    fn from(p: &Portgroup) -> PortgroupRow {
        PortgroupRow {
            id: p.id,
            uuid: p.uuid.clone(),
            name: p.name.clone(),
            address: p.address.clone(),
            node_id: p.node_id,
            standalone_ports_supported: p.standalone_ports_supported,
            mode: p.mode.clone(),
            properties: object_to_column(&p.properties),
            extra: object_to_column(&p.extra),
            internal_info: object_to_column(&p.internal_info),
            created_at: p.created_at,
            updated_at: p.updated_at,
        }
    }
}

crate::child_queries!(
    portgroups,
    PortgroupRow,
    Portgroup,
    [
        uuid,
        name,
        address,
        standalone_ports_supported,
        mode,
        properties,
        extra,
        internal_info,
        created_at,
        updated_at
    ]
);

/// A port group by UUID or name.
pub fn get_by_ident(conn: &mut AnyConnection, ident: &str) -> Result<Portgroup, Error> {
    // A name may look like a UUID: a UUID that names no port group is tried as a name.
    if let Some(uuid) = canonical_uuid(ident)
        && let Some(found) = get_by_uuid(conn, &uuid).found()?
    {
        return Ok(found);
    }
    let uuid: Option<String> = portgroups::table
        .filter(portgroups::name.eq(ident))
        .select(portgroups::uuid)
        .first(conn)
        .optional()?;
    match uuid {
        Some(uuid) => get_by_uuid(conn, &uuid),
        None => Err(not_found(ident)),
    }
}

/// Which port groups a list shows; one filter at a time, as Ironic applies them.
#[derive(Clone, Copy, Debug)]
pub enum Scope<'a> {
    All,
    Node(i64),
    /// A MAC address, in canonical form.
    Address(&'a str),
}

pub fn list(
    conn: &mut AnyConnection,
    scope: Scope<'_>,
    page: &Page,
) -> Result<Vec<Portgroup>, Error> {
    let mut query = portgroups::table
        .inner_join(nodes::table)
        .select((PortgroupRow::as_select(), nodes::uuid))
        .into_boxed();
    query = match scope {
        Scope::All => query,
        Scope::Node(node_id) => query.filter(portgroups::node_id.eq(node_id)),
        Scope::Address(address) => query.filter(portgroups::address.eq(address.to_string())),
    };
    let query = crate::paginate!(conn, portgroups, query, page, [id: i64, uuid: String,
        name: Option<String>, address: Option<String>, node_id: i64,
        standalone_ports_supported: bool, mode: String,
        created_at: NaiveDateTime, updated_at: Option<NaiveDateTime>]);
    query
        .load::<(PortgroupRow, String)>(conn)?
        .into_iter()
        .map(Portgroup::try_from)
        .collect()
}

/// The first uniqueness rule `p` breaks against the other port groups, in Ironic's
/// words. Asked before writing so that the answer can name the rule; the constraints
/// still hold against a concurrent writer.
pub fn duplicate_of(conn: &mut AnyConnection, p: &Portgroup) -> Result<Option<Error>, Error> {
    if let Some(name) = &p.name {
        let taken: i64 = portgroups::table
            .filter(portgroups::name.eq(name))
            .filter(portgroups::uuid.ne(&p.uuid))
            .count()
            .get_result(conn)?;
        if taken > 0 {
            return Ok(Some(Error::conflict(format!(
                "A portgroup with name {name} already exists."
            ))));
        }
    }
    if let Some(address) = &p.address {
        let taken: i64 = portgroups::table
            .filter(portgroups::address.eq(address))
            .filter(portgroups::uuid.ne(&p.uuid))
            .count()
            .get_result(conn)?;
        if taken > 0 {
            return Ok(Some(duplicate(p)));
        }
    }
    Ok(None)
}

/// A broken uniqueness constraint found by the database: the address's, or the name's
/// when there is no address.
fn duplicate(p: &Portgroup) -> Error {
    match (&p.address, &p.name) {
        (Some(address), _) => Error::conflict(format!(
            "A portgroup with MAC address {address} already exists."
        )),
        (None, Some(name)) => {
            Error::conflict(format!("A portgroup with name {name} already exists."))
        }
        (None, None) => {
            Error::conflict(format!("A portgroup with UUID {} already exists.", p.uuid))
        }
    }
}
