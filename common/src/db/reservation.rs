//! The node lock: the `nodes.reservation` column holds the hostname of the conductor
//! that has the node. Taking it is one conditional UPDATE, so of any number of
//! conductors racing for a node exactly one sees a changed row.

use diesel::prelude::*;

use super::AnyConnection;
use super::schema::nodes;
use super::update::update_where;
use crate::error::Error;

/// Tries once to reserve node `id` for `host`.
pub fn reserve(conn: &mut AnyConnection, id: i64, host: &str) -> Result<(), Error> {
    let (uuid, holder): (String, Option<String>) = nodes::table
        .find(id)
        .select((nodes::uuid, nodes::reservation))
        .first(conn)
        .optional()?
        .ok_or_else(|| Error::node_not_found(&id.to_string()))?;
    if let Some(holder) = holder {
        return Err(Error::NodeLocked { node: uuid, holder });
    }
    if claim(conn, id, host)? {
        return Ok(());
    }
    let holder: Option<String> = nodes::table
        .find(id)
        .select(nodes::reservation)
        .first(conn)
        .optional()?
        .ok_or_else(|| Error::node_not_found(&uuid))?;
    Err(Error::NodeLocked {
        node: uuid,
        holder: holder.unwrap_or_else(|| "unknown".into()),
    })
}

/// Reserves node `id` for `host` if it is free: one conditional UPDATE; false when the
/// node is reserved or gone, and nothing was written then.
///
/// Inside a transaction, for work that ends with the transaction, PostgreSQL and MySQL
/// also hold the row's lock until the end, after waiting for a transaction that holds
/// it. It must then be the transaction's first statement: on MySQL a transaction's
/// snapshot starts at its first read, and it must start after that wait, or the work
/// would read what the previous holder overwrote.
pub fn claim(conn: &mut AnyConnection, id: i64, host: &str) -> Result<bool, Error> {
    let changed = update_where(
        nodes::table,
        nodes::id.eq(id).and(nodes::reservation.is_null()),
        nodes::reservation.eq(host),
    )
    .execute(conn)?;
    Ok(changed == 1)
}

/// Releases `host`'s reservation of node `id`. A node deleted while locked is fine.
pub fn release(conn: &mut AnyConnection, id: i64, host: &str) -> Result<(), Error> {
    update_where(
        nodes::table,
        nodes::id.eq(id).and(nodes::reservation.eq(host)),
        nodes::reservation.eq(None::<&str>),
    )
    .execute(conn)?;
    Ok(())
}

/// Releases every reservation `host` holds; returns how many there were.
pub fn release_all(conn: &mut AnyConnection, host: &str) -> Result<usize, Error> {
    Ok(update_where(
        nodes::table,
        nodes::reservation.eq(host),
        nodes::reservation.eq(None::<&str>),
    )
    .execute(conn)?)
}

/// Releases `host`'s reservations of every node but the `busy` ones; returns how many.
/// For a conductor's locks whose release failed: it calls this with the nodes it is
/// still working on, while no new work can take a lock.
pub fn release_idle(conn: &mut AnyConnection, host: &str, busy: &[i64]) -> Result<usize, Error> {
    Ok(update_where(
        nodes::table,
        nodes::reservation.eq(host).and(nodes::id.ne_all(busy)),
        nodes::reservation.eq(None::<&str>),
    )
    .execute(conn)?)
}

/// Releases every reservation held by one of the `dead` hosts; returns how many.
/// Each release is conditional on the dead host still holding the lock.
pub fn release_orphans(conn: &mut AnyConnection, dead: &[String]) -> Result<usize, Error> {
    let mut released = 0;
    for host in dead {
        let n = release_all(conn, host)?;
        if n > 0 {
            tracing::warn!(
                host,
                released = n,
                "released node locks of a dead conductor"
            );
        }
        released += n;
    }
    Ok(released)
}
