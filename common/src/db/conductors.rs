//! The `conductors` table: which conductor processes are alive.

use chrono::{Duration, NaiveDateTime};
use diesel::prelude::*;

use super::AnyConnection;
use super::schema::conductors;
use super::timestamp::Stamp;
use super::update::update_where;
use crate::error::Error;
use crate::model::now;

#[derive(Queryable, Selectable, Debug, Clone, PartialEq)]
#[diesel(table_name = conductors)]
pub struct Conductor {
    pub id: i64,
    pub hostname: String,
    pub conductor_group: String,
    pub online: bool,
    pub drivers: Option<String>,
    #[diesel(deserialize_as = Stamp)]
    pub created_at: NaiveDateTime,
    #[diesel(deserialize_as = Stamp)]
    pub updated_at: NaiveDateTime,
}

/// Registers `hostname` as online, replacing a row an earlier run left behind.
pub fn register(
    conn: &mut AnyConnection,
    hostname: &str,
    group: &str,
    drivers: &[&str],
) -> Result<(), Error> {
    let ts = now();
    let drivers = serde_json::to_string(drivers).unwrap_or_default();
    conn.transaction(|conn| {
        let updated = update_where(
            conductors::table,
            conductors::hostname.eq(hostname),
            (
                conductors::online.eq(true),
                conductors::conductor_group.eq(group),
                conductors::drivers.eq(&drivers),
                conductors::updated_at.eq(ts),
            ),
        )
        .execute(conn)?;
        if updated == 0 {
            diesel::insert_into(conductors::table)
                .values((
                    conductors::hostname.eq(hostname),
                    conductors::conductor_group.eq(group),
                    conductors::online.eq(true),
                    conductors::drivers.eq(&drivers),
                    conductors::created_at.eq(ts),
                    conductors::updated_at.eq(ts),
                ))
                .execute(conn)?;
        }
        Ok(())
    })
}

/// Records that `hostname` is still alive.
pub fn heartbeat(conn: &mut AnyConnection, hostname: &str) -> Result<(), Error> {
    update_where(
        conductors::table,
        conductors::hostname.eq(hostname),
        (
            conductors::online.eq(true),
            conductors::updated_at.eq(now()),
        ),
    )
    .execute(conn)?;
    Ok(())
}

pub fn unregister(conn: &mut AnyConnection, hostname: &str) -> Result<(), Error> {
    update_where(
        conductors::table,
        conductors::hostname.eq(hostname),
        (
            conductors::online.eq(false),
            conductors::updated_at.eq(now()),
        ),
    )
    .execute(conn)?;
    Ok(())
}

pub fn list(conn: &mut AnyConnection) -> Result<Vec<Conductor>, Error> {
    Ok(conductors::table
        .order(conductors::hostname.asc())
        .select(Conductor::as_select())
        .load(conn)?)
}

/// Hostnames of conductors that are online and heartbeated within `timeout`.
pub fn alive(conn: &mut AnyConnection, timeout: Duration) -> Result<Vec<String>, Error> {
    let since = now() - timeout;
    Ok(conductors::table
        .filter(conductors::online.eq(true))
        .filter(conductors::updated_at.ge(since))
        .order(conductors::hostname.asc())
        .select(conductors::hostname)
        .load(conn)?)
}

/// Hostnames of registered conductors that are offline or silent for longer than `timeout`.
pub fn dead(conn: &mut AnyConnection, timeout: Duration) -> Result<Vec<String>, Error> {
    let since = now() - timeout;
    Ok(conductors::table
        .filter(
            conductors::online
                .eq(false)
                .or(conductors::updated_at.lt(since)),
        )
        .select(conductors::hostname)
        .load(conn)?)
}
