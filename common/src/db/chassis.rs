//! The `chassis` table.

use chrono::NaiveDateTime;
use diesel::prelude::*;

use super::schema::{chassis, nodes};
use super::timestamp::{MaybeStamp, Stamp};
use super::update::update_where;
use super::{AnyConnection, Page};
use crate::error::{Error, Found, is_foreign_key_violation, is_unique_violation};
use crate::model::chassis::Chassis;
use crate::model::{StoredAt, from_column, object_to_column};

/// A `chassis` row as stored: `extra` as text.
#[derive(Queryable, Selectable, Insertable, AsChangeset, Debug, Clone)]
#[diesel(table_name = chassis)]
// An absent value is stored as NULL (no column has a default), which also keeps the
// INSERT one statement diesel can prepare once: `DEFAULT` in it would not be.
#[diesel(treat_none_as_null = true, treat_none_as_default_value = false)]
pub struct ChassisRow {
    #[diesel(skip_insertion)]
    pub id: i64,
    pub uuid: String,
    pub description: Option<String>,
    pub extra: Option<String>,
    #[diesel(deserialize_as = Stamp)]
    pub created_at: NaiveDateTime,
    #[diesel(deserialize_as = MaybeStamp)]
    pub updated_at: Option<NaiveDateTime>,
}

impl TryFrom<ChassisRow> for Chassis {
    type Error = Error;

    fn try_from(r: ChassisRow) -> Result<Chassis, Error> {
        let at = StoredAt {
            table: "chassis",
            row: r.id,
        };
        Ok(Chassis {
            id: r.id,
            uuid: r.uuid,
            description: r.description,
            extra: from_column(r.extra.as_deref(), at, "extra")?,
            created_at: r.created_at,
            updated_at: r.updated_at,
        })
    }
}

impl From<&Chassis> for ChassisRow {
    fn from(c: &Chassis) -> ChassisRow {
        ChassisRow {
            id: c.id,
            uuid: c.uuid.clone(),
            description: c.description.clone(),
            extra: object_to_column(&c.extra),
            created_at: c.created_at,
            updated_at: c.updated_at,
        }
    }
}

pub fn get_by_uuid(conn: &mut AnyConnection, uuid: &str) -> Result<Chassis, Error> {
    chassis::table
        .filter(chassis::uuid.eq(uuid))
        .select(ChassisRow::as_select())
        .first(conn)
        .optional()?
        .ok_or_else(|| Chassis::not_found(uuid))?
        .try_into()
}

/// Internal id of a chassis, for a node's reference or a list marker.
pub fn id_of(conn: &mut AnyConnection, uuid: &str) -> Result<i64, Error> {
    chassis::table
        .filter(chassis::uuid.eq(uuid))
        .select(chassis::id)
        .first(conn)
        .optional()?
        .ok_or_else(|| Chassis::not_found(uuid))
}

pub fn list(conn: &mut AnyConnection, page: &Page) -> Result<Vec<Chassis>, Error> {
    let query = chassis::table.select(ChassisRow::as_select()).into_boxed();
    let query = crate::paginate!(conn, chassis, query, page, [id: i64, uuid: String,
        description: Option<String>, created_at: NaiveDateTime,
        updated_at: Option<NaiveDateTime>]);
    query
        .load::<ChassisRow>(conn)?
        .into_iter()
        .map(Chassis::try_from)
        .collect()
}

fn duplicate(uuid: &str) -> Error {
    Error::conflict(format!("A chassis with UUID {uuid} already exists."))
}

pub fn create(conn: &mut AnyConnection, c: &Chassis) -> Result<Chassis, Error> {
    // Looked up first, not left to the constraint: a failed statement aborts a
    // PostgreSQL transaction.
    if id_of(conn, &c.uuid).found()?.is_some() {
        return Err(duplicate(&c.uuid));
    }
    match diesel::insert_into(chassis::table)
        .values(ChassisRow::from(c))
        .execute(conn)
    {
        Ok(_) => get_by_uuid(conn, &c.uuid),
        Err(e) if is_unique_violation(&e) => Err(duplicate(&c.uuid)),
        Err(e) => Err(e.into()),
    }
}

/// Writes the client's fields of a chassis, and the time of the change.
pub fn update(conn: &mut AnyConnection, c: &Chassis) -> Result<Chassis, Error> {
    let row = ChassisRow {
        updated_at: Some(crate::model::now()),
        ..ChassisRow::from(c)
    };
    let n = update_where(chassis::table, chassis::uuid.eq(&c.uuid), &row).execute(conn)?;
    if n == 0 {
        return Err(Chassis::not_found(&c.uuid));
    }
    get_by_uuid(conn, &c.uuid)
}

/// Ironic's ChassisNotEmpty (400).
pub fn not_empty(uuid: &str) -> Error {
    Error::invalid(format!(
        "Cannot complete the requested action because chassis {uuid} contains nodes."
    ))
}

/// Deletes a chassis no node refers to. The foreign key refuses the delete when a node
/// was given the chassis after the count was taken.
pub fn delete(conn: &mut AnyConnection, uuid: &str) -> Result<(), Error> {
    let id = id_of(conn, uuid)?;
    let members: i64 = nodes::table
        .filter(nodes::chassis_id.eq(id))
        .count()
        .get_result(conn)?;
    if members > 0 {
        return Err(not_empty(uuid));
    }
    match diesel::delete(chassis::table.find(id)).execute(conn) {
        Ok(0) => Err(Chassis::not_found(uuid)),
        Ok(_) => Ok(()),
        Err(e) if is_foreign_key_violation(&e) => Err(not_empty(uuid)),
        Err(e) => Err(e.into()),
    }
}
