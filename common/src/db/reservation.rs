//! The node lock: the `nodes.reservation` column holds the hostname of the conductor
//! that has the node. Taking it is one conditional UPDATE, so of any number of
//! conductors racing for a node exactly one sees a changed row. Work that ends with its
//! transaction does not write it: the transaction holds the free node's row ([`hold`]).

use diesel::prelude::*;

use super::AnyConnection;
use super::nodes::NodeRow;
use super::schema::nodes;
use super::update::update_where;
use crate::error::Error;
use crate::model::node::Node;

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
pub fn claim(conn: &mut AnyConnection, id: i64, host: &str) -> Result<bool, Error> {
    let changed = update_where(
        nodes::table,
        nodes::id.eq(id).and(nodes::reservation.is_null()),
        nodes::reservation.eq(host),
    )
    .execute(conn)?;
    Ok(changed == 1)
}

/// Reads node `id` and holds it until the caller's write transaction ends, if no
/// conductor has reserved it; `None` when it is reserved or gone.
///
/// This is the lock of work that ends with its transaction. A reservation written and
/// cleared again in one transaction would be seen by nobody; what serialises the work
/// is the row lock the write takes. A locking read takes the same row lock without
/// writing: PostgreSQL's `FOR NO KEY UPDATE` is the lock an UPDATE of a non-key column
/// takes (a connector's insert, which only shares the node's key, is not kept waiting),
/// MySQL's `FOR UPDATE` the one its UPDATE takes, and a SQLite write transaction holds
/// the database's write lock from its `BEGIN IMMEDIATE`. Both servers wait for a
/// transaction that holds the row and then read its latest version, so a reservation
/// committed meanwhile is seen.
///
/// It must be the transaction's first statement: on MySQL a transaction's snapshot
/// starts at its first plain read, and it must start after that wait, or the work
/// would read what the previous holder overwrote.
pub fn hold(conn: &mut AnyConnection, id: i64) -> Result<Option<Node>, Error> {
    // The node's row alone: a locking read of a join would lock the chassis too, and
    // PostgreSQL refuses one on the nullable side of an outer join. The query is built
    // for each backend's own connection, as the locking clauses are not SQL that
    // diesel's common backend renders.
    macro_rules! free {
        () => {
            nodes::table
                .filter(nodes::id.eq(id).and(nodes::reservation.is_null()))
                .select(NodeRow::as_select())
        };
    }
    let row: Option<NodeRow> = match conn {
        #[cfg(feature = "postgres")]
        AnyConnection::Postgresql(pg) => free!().for_no_key_update().first(pg).optional()?,
        #[cfg(feature = "mysql")]
        AnyConnection::Mysql(mysql) => free!().for_update().first(mysql).optional()?,
        AnyConnection::Sqlite(sqlite) => free!().first(sqlite).optional()?,
    };
    row.map(|row| super::nodes::with_chassis(conn, row))
        .transpose()
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
