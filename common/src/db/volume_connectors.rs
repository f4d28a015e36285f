//! The `volume_connectors` table.

use chrono::NaiveDateTime;
use diesel::prelude::*;

use super::schema::{nodes, volume_connectors};
use super::{AnyConnection, Page};
use crate::error::{Error, Found, is_foreign_key_violation, is_unique_violation};
use crate::model::volume::VolumeConnector;
use crate::model::{object_from_column, object_to_column};

/// Columns a list may be sorted on (Ironic allows any real column but the JSON ones).
pub const SORT_KEYS: [&str; 7] = [
    "id",
    "uuid",
    "node_id",
    "type",
    "connector_id",
    "created_at",
    "updated_at",
];

type Row = (
    (
        i64,
        String,
        i64,
        String,
        String,
        Option<String>,
        NaiveDateTime,
        Option<NaiveDateTime>,
    ),
    String,
);

fn from_row(
    ((id, uuid, node_id, connector_type, connector_id, extra, created_at, updated_at), node_uuid): Row,
) -> VolumeConnector {
    VolumeConnector {
        id,
        uuid,
        node_id,
        node_uuid,
        connector_type,
        connector_id,
        extra: object_from_column(extra.as_deref()),
        created_at,
        updated_at,
    }
}

macro_rules! columns {
    () => {
        (
            (
                volume_connectors::id,
                volume_connectors::uuid,
                volume_connectors::node_id,
                volume_connectors::connector_type,
                volume_connectors::connector_id,
                volume_connectors::extra,
                volume_connectors::created_at,
                volume_connectors::updated_at,
            ),
            nodes::uuid,
        )
    };
}

pub fn get_by_uuid(conn: &mut AnyConnection, uuid: &str) -> Result<VolumeConnector, Error> {
    volume_connectors::table
        .inner_join(nodes::table)
        .filter(volume_connectors::uuid.eq(uuid))
        .select(columns!())
        .first::<Row>(conn)
        .optional()?
        .map(from_row)
        .ok_or_else(|| not_found(uuid))
}

pub fn not_found(uuid: &str) -> Error {
    Error::not_found(format!("Volume connector {uuid} could not be found."))
}

/// Internal id of a connector, for use as a list marker.
pub fn id_of(conn: &mut AnyConnection, uuid: &str) -> Result<i64, Error> {
    volume_connectors::table
        .filter(volume_connectors::uuid.eq(uuid))
        .select(volume_connectors::id)
        .first(conn)
        .optional()?
        .ok_or_else(|| not_found(uuid))
}

pub fn list(
    conn: &mut AnyConnection,
    node_id: Option<i64>,
    page: &Page,
) -> Result<Vec<VolumeConnector>, Error> {
    let mut query = volume_connectors::table
        .inner_join(nodes::table)
        .select(columns!())
        .into_boxed();
    if let Some(node_id) = node_id {
        query = query.filter(volume_connectors::node_id.eq(node_id));
    }
    // The API calls the column `type`, a Rust keyword, so the schema names it `connector_type`.
    let renamed;
    let page = if page.sort_key == "type" {
        renamed = Page {
            sort_key: "connector_type".into(),
            ..page.clone()
        };
        &renamed
    } else {
        page
    };
    let query = crate::paginate!(conn, volume_connectors, query, page,
        [id: i64, uuid: String, node_id: i64, connector_type: String, connector_id: String,
         created_at: NaiveDateTime, updated_at: Option<NaiveDateTime>]);
    Ok(query.load::<Row>(conn)?.into_iter().map(from_row).collect())
}

/// All connectors of a node, in creation order.
pub fn list_for_node(
    conn: &mut AnyConnection,
    node_id: i64,
) -> Result<Vec<VolumeConnector>, Error> {
    Ok(volume_connectors::table
        .inner_join(nodes::table)
        .filter(volume_connectors::node_id.eq(node_id))
        .order(volume_connectors::id.asc())
        .select(columns!())
        .load::<Row>(conn)?
        .into_iter()
        .map(from_row)
        .collect())
}

/// Inserts a connector and returns it as stored.
pub fn create(conn: &mut AnyConnection, c: &VolumeConnector) -> Result<VolumeConnector, Error> {
    if id_of(conn, &c.uuid).found()?.is_some() {
        return Err(Error::conflict(format!(
            "A volume connector with UUID {} already exists.",
            c.uuid
        )));
    }
    let inserted = diesel::insert_into(volume_connectors::table)
        .values((
            volume_connectors::uuid.eq(&c.uuid),
            volume_connectors::node_id.eq(c.node_id),
            volume_connectors::connector_type.eq(&c.connector_type),
            volume_connectors::connector_id.eq(&c.connector_id),
            volume_connectors::extra.eq(object_to_column(&c.extra)),
            volume_connectors::created_at.eq(c.created_at),
            volume_connectors::updated_at.eq(c.updated_at),
        ))
        .execute(conn);
    match inserted {
        Ok(_) => get_by_uuid(conn, &c.uuid),
        Err(e) if is_unique_violation(&e) => Err(duplicate(c)),
        // The node was deleted after the caller looked it up: the row would be an orphan.
        Err(e) if is_foreign_key_violation(&e) => Err(super::nodes::not_found(&c.node_uuid)),
        Err(e) => Err(e.into()),
    }
}

/// Writes every mutable field of an existing connector.
pub fn update(conn: &mut AnyConnection, c: &VolumeConnector) -> Result<VolumeConnector, Error> {
    let updated =
        diesel::update(volume_connectors::table.filter(volume_connectors::uuid.eq(&c.uuid)))
            .set((
                volume_connectors::node_id.eq(c.node_id),
                volume_connectors::connector_type.eq(&c.connector_type),
                volume_connectors::connector_id.eq(&c.connector_id),
                volume_connectors::extra.eq(object_to_column(&c.extra)),
                volume_connectors::updated_at.eq(c.updated_at),
            ))
            .execute(conn);
    match updated {
        Ok(0) => Err(not_found(&c.uuid)),
        Ok(_) => get_by_uuid(conn, &c.uuid),
        Err(e) if is_unique_violation(&e) => Err(duplicate(c)),
        Err(e) => Err(e.into()),
    }
}

pub fn delete(conn: &mut AnyConnection, uuid: &str) -> Result<(), Error> {
    let n = diesel::delete(volume_connectors::table.filter(volume_connectors::uuid.eq(uuid)))
        .execute(conn)?;
    if n == 0 { Err(not_found(uuid)) } else { Ok(()) }
}

/// A write broke the (type, connector_id) uniqueness. Checked by the constraint, not by a
/// query: a failed statement aborts a PostgreSQL transaction.
fn duplicate(c: &VolumeConnector) -> Error {
    Error::conflict(format!(
        "A volume connector with type {} and connector ID {} already exists.",
        c.connector_type, c.connector_id
    ))
}
