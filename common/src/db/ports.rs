//! The `ports` table.

use chrono::NaiveDateTime;
use diesel::prelude::*;

use super::schema::{nodes, ports};
use super::{AnyConnection, Page};
use crate::error::{Error, Found, is_foreign_key_violation, is_unique_violation};
use crate::model::port::Port;
use crate::model::{object_from_column, object_to_column};

type Row = (
    (
        i64,
        String,
        String,
        i64,
        Option<String>,
        Option<String>,
        Option<String>,
        bool,
        Option<String>,
        NaiveDateTime,
        Option<NaiveDateTime>,
    ),
    String,
);

fn from_row(
    (
        (
            id,
            uuid,
            address,
            node_id,
            extra,
            internal_info,
            llc,
            pxe_enabled,
            physical_network,
            created_at,
            updated_at,
        ),
        node_uuid,
    ): Row,
) -> Port {
    Port {
        id,
        uuid,
        address,
        node_id,
        node_uuid,
        extra: object_from_column(extra.as_deref()),
        internal_info: object_from_column(internal_info.as_deref()),
        local_link_connection: object_from_column(llc.as_deref()),
        pxe_enabled,
        physical_network,
        created_at,
        updated_at,
    }
}

macro_rules! columns {
    () => {
        (
            (
                ports::id,
                ports::uuid,
                ports::address,
                ports::node_id,
                ports::extra,
                ports::internal_info,
                ports::local_link_connection,
                ports::pxe_enabled,
                ports::physical_network,
                ports::created_at,
                ports::updated_at,
            ),
            nodes::uuid,
        )
    };
}

pub const SORT_KEYS: [&str; 5] = ["id", "uuid", "address", "created_at", "updated_at"];

pub fn not_found(ident: &str) -> Error {
    Error::not_found(format!("Port {ident} could not be found."))
}

pub fn get_by_uuid(conn: &mut AnyConnection, uuid: &str) -> Result<Port, Error> {
    ports::table
        .inner_join(nodes::table)
        .filter(ports::uuid.eq(uuid))
        .select(columns!())
        .first::<Row>(conn)
        .optional()?
        .map(from_row)
        .ok_or_else(|| not_found(uuid))
}

pub fn id_of(conn: &mut AnyConnection, uuid: &str) -> Result<i64, Error> {
    ports::table
        .filter(ports::uuid.eq(uuid))
        .select(ports::id)
        .first(conn)
        .optional()?
        .ok_or_else(|| not_found(uuid))
}

pub fn list(
    conn: &mut AnyConnection,
    node_id: Option<i64>,
    address: Option<&str>,
    page: &Page,
) -> Result<Vec<Port>, Error> {
    let mut query = ports::table
        .inner_join(nodes::table)
        .select(columns!())
        .into_boxed();
    if let Some(node_id) = node_id {
        query = query.filter(ports::node_id.eq(node_id));
    }
    if let Some(address) = address {
        query = query.filter(ports::address.eq(address.to_lowercase()));
    }
    let query = crate::paginate!(conn, ports, query, page, [id: i64, uuid: String, address: String,
        created_at: NaiveDateTime, updated_at: Option<NaiveDateTime>]);
    Ok(query.load::<Row>(conn)?.into_iter().map(from_row).collect())
}

pub fn list_for_node(conn: &mut AnyConnection, node_id: i64) -> Result<Vec<Port>, Error> {
    Ok(ports::table
        .inner_join(nodes::table)
        .filter(ports::node_id.eq(node_id))
        .order(ports::id.asc())
        .select(columns!())
        .load::<Row>(conn)?
        .into_iter()
        .map(from_row)
        .collect())
}

/// The port a VIF is bound to, on any node.
pub fn find_by_vif(conn: &mut AnyConnection, vif: &str) -> Result<Option<Port>, Error> {
    // LIKE narrows the rows (its wildcards only widen the match); the exact test is ours.
    let candidates = ports::table
        .inner_join(nodes::table)
        .filter(ports::internal_info.like(format!("%{vif}%")))
        .select(columns!())
        .load::<Row>(conn)?;
    Ok(candidates
        .into_iter()
        .map(from_row)
        .find(|p| p.vif() == Some(vif)))
}

pub fn create(conn: &mut AnyConnection, p: &Port) -> Result<Port, Error> {
    if id_of(conn, &p.uuid).found()?.is_some() {
        return Err(Error::conflict(format!(
            "A port with UUID {} already exists.",
            p.uuid
        )));
    }
    let inserted = diesel::insert_into(ports::table)
        .values((
            ports::uuid.eq(&p.uuid),
            ports::address.eq(&p.address),
            ports::node_id.eq(p.node_id),
            ports::extra.eq(object_to_column(&p.extra)),
            ports::internal_info.eq(object_to_column(&p.internal_info)),
            ports::local_link_connection.eq(object_to_column(&p.local_link_connection)),
            ports::pxe_enabled.eq(p.pxe_enabled),
            ports::physical_network.eq(&p.physical_network),
            ports::created_at.eq(p.created_at),
            ports::updated_at.eq(p.updated_at),
        ))
        .execute(conn);
    match inserted {
        Ok(_) => get_by_uuid(conn, &p.uuid),
        Err(e) if is_unique_violation(&e) => Err(Error::conflict(format!(
            "A port with MAC address {} already exists.",
            p.address
        ))),
        // The node was deleted after the caller looked it up: the row would be an orphan.
        Err(e) if is_foreign_key_violation(&e) => Err(super::nodes::not_found(&p.node_uuid)),
        Err(e) => Err(e.into()),
    }
}

/// Writes the mutable fields of a port.
pub fn update(conn: &mut AnyConnection, p: &Port) -> Result<Port, Error> {
    let updated = diesel::update(ports::table.filter(ports::uuid.eq(&p.uuid)))
        .set((
            ports::address.eq(&p.address),
            ports::node_id.eq(p.node_id),
            ports::extra.eq(object_to_column(&p.extra)),
            ports::internal_info.eq(object_to_column(&p.internal_info)),
            ports::local_link_connection.eq(object_to_column(&p.local_link_connection)),
            ports::pxe_enabled.eq(p.pxe_enabled),
            ports::physical_network.eq(&p.physical_network),
            ports::updated_at.eq(Some(crate::model::now())),
        ))
        .execute(conn);
    match updated {
        Ok(0) => Err(not_found(&p.uuid)),
        Ok(_) => get_by_uuid(conn, &p.uuid),
        Err(e) if is_unique_violation(&e) => Err(Error::conflict(format!(
            "A port with MAC address {} already exists.",
            p.address
        ))),
        Err(e) => Err(e.into()),
    }
}

pub fn delete(conn: &mut AnyConnection, uuid: &str) -> Result<(), Error> {
    let n = diesel::delete(ports::table.filter(ports::uuid.eq(uuid))).execute(conn)?;
    if n == 0 { Err(not_found(uuid)) } else { Ok(()) }
}
