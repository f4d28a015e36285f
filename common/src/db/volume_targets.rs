//! The `volume_targets` table.

use chrono::NaiveDateTime;
use diesel::prelude::*;

use super::schema::{nodes, volume_targets};
use super::{AnyConnection, Page};
use crate::error::{Error, Found, is_foreign_key_violation, is_unique_violation};
use crate::model::volume::VolumeTarget;
use crate::model::{object_from_column, object_to_column};

/// Columns a list may be sorted on (Ironic allows any real column but the JSON ones).
pub const SORT_KEYS: [&str; 8] = [
    "id",
    "uuid",
    "node_id",
    "volume_type",
    "boot_index",
    "volume_id",
    "created_at",
    "updated_at",
];

type Row = (
    (
        i64,
        String,
        i64,
        String,
        Option<String>,
        i32,
        String,
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
            node_id,
            volume_type,
            properties,
            boot_index,
            volume_id,
            extra,
            created_at,
            updated_at,
        ),
        node_uuid,
    ): Row,
) -> VolumeTarget {
    VolumeTarget {
        id,
        uuid,
        node_id,
        node_uuid,
        volume_type,
        properties: object_from_column(properties.as_deref()),
        boot_index,
        volume_id,
        extra: object_from_column(extra.as_deref()),
        created_at,
        updated_at,
    }
}

macro_rules! columns {
    () => {
        (
            (
                volume_targets::id,
                volume_targets::uuid,
                volume_targets::node_id,
                volume_targets::volume_type,
                volume_targets::properties,
                volume_targets::boot_index,
                volume_targets::volume_id,
                volume_targets::extra,
                volume_targets::created_at,
                volume_targets::updated_at,
            ),
            nodes::uuid,
        )
    };
}

pub fn get_by_uuid(conn: &mut AnyConnection, uuid: &str) -> Result<VolumeTarget, Error> {
    volume_targets::table
        .inner_join(nodes::table)
        .filter(volume_targets::uuid.eq(uuid))
        .select(columns!())
        .first::<Row>(conn)
        .optional()?
        .map(from_row)
        .ok_or_else(|| not_found(uuid))
}

pub fn not_found(uuid: &str) -> Error {
    Error::not_found(format!("Volume target {uuid} could not be found."))
}

/// Internal id of a target, for use as a list marker.
pub fn id_of(conn: &mut AnyConnection, uuid: &str) -> Result<i64, Error> {
    volume_targets::table
        .filter(volume_targets::uuid.eq(uuid))
        .select(volume_targets::id)
        .first(conn)
        .optional()?
        .ok_or_else(|| not_found(uuid))
}

pub fn list(
    conn: &mut AnyConnection,
    node_id: Option<i64>,
    page: &Page,
) -> Result<Vec<VolumeTarget>, Error> {
    let mut query = volume_targets::table
        .inner_join(nodes::table)
        .select(columns!())
        .into_boxed();
    if let Some(node_id) = node_id {
        query = query.filter(volume_targets::node_id.eq(node_id));
    }
    let query = crate::paginate!(conn, volume_targets, query, page,
        [id: i64, uuid: String, node_id: i64, volume_type: String, boot_index: i32,
         volume_id: String, created_at: NaiveDateTime, updated_at: Option<NaiveDateTime>]);
    Ok(query.load::<Row>(conn)?.into_iter().map(from_row).collect())
}

/// All targets of a node, in creation order.
pub fn list_for_node(conn: &mut AnyConnection, node_id: i64) -> Result<Vec<VolumeTarget>, Error> {
    Ok(volume_targets::table
        .inner_join(nodes::table)
        .filter(volume_targets::node_id.eq(node_id))
        .order(volume_targets::id.asc())
        .select(columns!())
        .load::<Row>(conn)?
        .into_iter()
        .map(from_row)
        .collect())
}

/// Inserts a target and returns it as stored.
pub fn create(conn: &mut AnyConnection, c: &VolumeTarget) -> Result<VolumeTarget, Error> {
    if id_of(conn, &c.uuid).found()?.is_some() {
        return Err(Error::conflict(format!(
            "A volume target with UUID {} already exists.",
            c.uuid
        )));
    }
    let inserted = diesel::insert_into(volume_targets::table)
        .values((
            volume_targets::uuid.eq(&c.uuid),
            volume_targets::node_id.eq(c.node_id),
            volume_targets::volume_type.eq(&c.volume_type),
            volume_targets::properties.eq(object_to_column(&c.properties)),
            volume_targets::boot_index.eq(c.boot_index),
            volume_targets::volume_id.eq(&c.volume_id),
            volume_targets::extra.eq(object_to_column(&c.extra)),
            volume_targets::created_at.eq(c.created_at),
            volume_targets::updated_at.eq(c.updated_at),
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

/// Writes every mutable field of an existing target.
pub fn update(conn: &mut AnyConnection, c: &VolumeTarget) -> Result<VolumeTarget, Error> {
    let updated = diesel::update(volume_targets::table.filter(volume_targets::uuid.eq(&c.uuid)))
        .set((
            volume_targets::node_id.eq(c.node_id),
            volume_targets::volume_type.eq(&c.volume_type),
            volume_targets::properties.eq(object_to_column(&c.properties)),
            volume_targets::boot_index.eq(c.boot_index),
            volume_targets::volume_id.eq(&c.volume_id),
            volume_targets::extra.eq(object_to_column(&c.extra)),
            volume_targets::updated_at.eq(c.updated_at),
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
    let n = diesel::delete(volume_targets::table.filter(volume_targets::uuid.eq(uuid)))
        .execute(conn)?;
    if n == 0 { Err(not_found(uuid)) } else { Ok(()) }
}

/// A write broke the (node, boot_index) uniqueness. Checked by the constraint, not by a
/// query: a failed statement aborts a PostgreSQL transaction.
fn duplicate(t: &VolumeTarget) -> Error {
    Error::conflict(format!(
        "A volume target with boot index '{}' for the same node already exists.",
        t.boot_index
    ))
}
