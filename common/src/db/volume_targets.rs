//! The `volume_targets` table.

use chrono::NaiveDateTime;
use diesel::prelude::*;

use super::schema::{nodes, volume_targets};
use super::timestamp::{MaybeStamp, Stamp};
use super::{AnyConnection, Page};
use crate::error::{Error, is_foreign_key_violation, is_unique_violation};
use crate::model::volume::VolumeTarget;
use crate::model::{StoredAt, from_column, object_to_column};

/// A `volume_targets` row as stored: JSON documents as text.
#[derive(Queryable, Selectable, Insertable, AsChangeset, Debug, Clone)]
#[diesel(table_name = volume_targets)]
// An absent value is stored as NULL (no column has a default), which also keeps the
// INSERT one statement diesel can prepare once: `DEFAULT` in it would not be.
#[diesel(treat_none_as_null = true, treat_none_as_default_value = false)]
pub struct TargetRow {
    #[diesel(skip_insertion)]
    pub id: i64,
    pub uuid: String,
    pub node_id: i64,
    pub volume_type: String,
    pub properties: Option<String>,
    pub boot_index: i32,
    pub volume_id: String,
    pub extra: Option<String>,
    #[diesel(deserialize_as = Stamp)]
    pub created_at: NaiveDateTime,
    #[diesel(deserialize_as = MaybeStamp)]
    pub updated_at: Option<NaiveDateTime>,
}

impl TryFrom<(TargetRow, String)> for VolumeTarget {
    type Error = Error;

    fn try_from((r, node_uuid): (TargetRow, String)) -> Result<VolumeTarget, Error> {
        let at = StoredAt {
            table: "volume_targets",
            row: r.id,
        };
        Ok(VolumeTarget {
            id: r.id,
            uuid: r.uuid,
            node_id: r.node_id,
            node_uuid,
            volume_type: r.volume_type,
            properties: from_column(r.properties.as_deref(), at, "properties")?,
            boot_index: r.boot_index,
            volume_id: r.volume_id,
            extra: from_column(r.extra.as_deref(), at, "extra")?,
            created_at: r.created_at,
            updated_at: r.updated_at,
        })
    }
}

impl From<&VolumeTarget> for TargetRow {
    fn from(t: &VolumeTarget) -> TargetRow {
        TargetRow {
            id: t.id,
            uuid: t.uuid.clone(),
            node_id: t.node_id,
            volume_type: t.volume_type.clone(),
            properties: object_to_column(&t.properties),
            boot_index: t.boot_index,
            volume_id: t.volume_id.clone(),
            extra: object_to_column(&t.extra),
            created_at: t.created_at,
            updated_at: t.updated_at,
        }
    }
}

crate::child_queries!(
    volume_targets,
    TargetRow,
    VolumeTarget,
    [
        uuid,
        volume_type,
        properties,
        boot_index,
        volume_id,
        extra,
        created_at,
        updated_at
    ]
);

pub fn list(
    conn: &mut AnyConnection,
    node_id: Option<i64>,
    page: &Page,
) -> Result<Vec<VolumeTarget>, Error> {
    let mut query = volume_targets::table
        .inner_join(nodes::table)
        .select((TargetRow::as_select(), nodes::uuid))
        .into_boxed();
    if let Some(node_id) = node_id {
        query = query.filter(volume_targets::node_id.eq(node_id));
    }
    let query = crate::paginate!(conn, volume_targets, query, page,
        [id: i64, uuid: String, node_id: i64, volume_type: String, boot_index: i32,
         volume_id: String, created_at: NaiveDateTime, updated_at: Option<NaiveDateTime>]);
    query
        .load::<(TargetRow, String)>(conn)?
        .into_iter()
        .map(VolumeTarget::try_from)
        .collect()
}

/// A write broke the (node, boot_index) uniqueness.
fn duplicate(t: &VolumeTarget) -> Error {
    Error::conflict(format!(
        "A volume target with boot index '{}' for the same node already exists.",
        t.boot_index
    ))
}
