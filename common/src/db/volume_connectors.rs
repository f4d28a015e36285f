//! The `volume_connectors` table.

use chrono::NaiveDateTime;
use diesel::prelude::*;

use super::schema::{nodes, volume_connectors};
use super::timestamp::{MaybeStamp, Stamp};
use super::{AnyConnection, Page};
use crate::error::{Error, is_foreign_key_violation, is_unique_violation};
use crate::model::volume::VolumeConnector;
use crate::model::{StoredAt, from_column, object_to_column};

/// A `volume_connectors` row as stored: JSON documents as text.
#[derive(Queryable, Selectable, Insertable, AsChangeset, Debug, Clone)]
#[diesel(table_name = volume_connectors)]
// An absent value is stored as NULL (no column has a default), which also keeps the
// INSERT one statement diesel can prepare once: `DEFAULT` in it would not be.
#[diesel(treat_none_as_null = true, treat_none_as_default_value = false)]
pub struct ConnectorRow {
    #[diesel(skip_insertion)]
    pub id: i64,
    pub uuid: String,
    pub node_id: i64,
    pub connector_type: String,
    pub connector_id: String,
    pub extra: Option<String>,
    #[diesel(deserialize_as = Stamp)]
    pub created_at: NaiveDateTime,
    #[diesel(deserialize_as = MaybeStamp)]
    pub updated_at: Option<NaiveDateTime>,
}

impl TryFrom<(ConnectorRow, String)> for VolumeConnector {
    type Error = Error;

    fn try_from((r, node_uuid): (ConnectorRow, String)) -> Result<VolumeConnector, Error> {
        let at = StoredAt {
            table: "volume_connectors",
            row: r.id,
        };
        Ok(VolumeConnector {
            id: r.id,
            uuid: r.uuid,
            node_id: r.node_id,
            node_uuid,
            connector_type: r.connector_type,
            connector_id: r.connector_id,
            extra: from_column(r.extra.as_deref(), at, "extra")?,
            created_at: r.created_at,
            updated_at: r.updated_at,
        })
    }
}

impl From<&VolumeConnector> for ConnectorRow {
    fn from(c: &VolumeConnector) -> ConnectorRow {
        ConnectorRow {
            id: c.id,
            uuid: c.uuid.clone(),
            node_id: c.node_id,
            connector_type: c.connector_type.clone(),
            connector_id: c.connector_id.clone(),
            extra: object_to_column(&c.extra),
            created_at: c.created_at,
            updated_at: c.updated_at,
        }
    }
}

crate::child_queries!(
    volume_connectors,
    ConnectorRow,
    VolumeConnector,
    [
        uuid,
        connector_type,
        connector_id,
        extra,
        created_at,
        updated_at
    ]
);

pub fn list(
    conn: &mut AnyConnection,
    node_id: Option<i64>,
    page: &Page,
) -> Result<Vec<VolumeConnector>, Error> {
    let mut query = volume_connectors::table
        .inner_join(nodes::table)
        .select((ConnectorRow::as_select(), nodes::uuid))
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
    query
        .load::<(ConnectorRow, String)>(conn)?
        .into_iter()
        .map(VolumeConnector::try_from)
        .collect()
}

/// A write broke the (type, connector_id) uniqueness.
fn duplicate(c: &VolumeConnector) -> Error {
    Error::conflict(format!(
        "A volume connector with type {} and connector ID {} already exists.",
        c.connector_type, c.connector_id
    ))
}
