//! The node lock: the `nodes.reservation` column holds the hostname of the conductor
//! that has the node. Taking it is one conditional UPDATE, so of any number of
//! conductors racing for a node exactly one sees a changed row. Work that ends with its
//! transaction does not write it: the transaction holds the free node's row ([`hold`]).

use diesel::prelude::*;

use super::AnyConnection;
use super::nodes::NodeRow;
use super::schema::{chassis, nodes};
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

/// Whether a locked transaction may begin with the read that finds its node, the node's
/// row held as it is read ([`hold_named`], `Stored::get_holding_node`), instead of
/// with [`hold`] after a read of its own: on PostgreSQL and SQLite. Not on MySQL: its
/// read of a row joined with its node would lock both rows (MariaDB has no `FOR UPDATE
/// OF`), the resource's before its node's, the opposite order to a node's deletion.
pub fn holds_as_it_reads(conn: &AnyConnection) -> bool {
    match conn {
        #[cfg(feature = "mysql")]
        AnyConnection::Mysql(_) => false,
        _ => true,
    }
}

/// Runs `$query`, a read of one row and its node, holding the node's row until the
/// caller's write transaction ends, as [`hold`] does: PostgreSQL locks that row alone
/// (`FOR NO KEY UPDATE OF nodes`, so that the other rows read stay free and the node's
/// chassis may be outer-joined), and a SQLite write transaction holds the database from
/// its `BEGIN IMMEDIATE`. Nothing matched is `Ok(None)`. Only where
/// [`holds_as_it_reads`].
macro_rules! read_holding_node {
    ($conn:expr, $query:expr) => {
        match $conn {
            #[cfg(feature = "postgres")]
            AnyConnection::Postgresql(pg) => diesel::OptionalExtension::optional(
                diesel::RunQueryDsl::get_result($crate::db::reservation::OfNodes($query), pg),
            ),
            #[cfg(feature = "mysql")]
            AnyConnection::Mysql(_) => Err(diesel::result::Error::QueryBuilderError(
                "MySQL holds a node with `reservation::hold` only".into(),
            )),
            AnyConnection::Sqlite(sqlite) => {
                diesel::OptionalExtension::optional(diesel::RunQueryDsl::get_result($query, sqlite))
            }
        }
    };
}
pub(crate) use read_holding_node;

/// Reads node `ident` (its UUID or name) and holds its row until the caller's write
/// transaction ends, as [`hold`] does, whether or not a conductor has reserved it: the
/// caller checks `reservation`. Only where [`holds_as_it_reads`], as the transaction's
/// first statement.
pub fn hold_named(conn: &mut AnyConnection, ident: &str) -> Result<Node, Error> {
    macro_rules! node {
        () => {
            nodes::table
                .left_join(chassis::table)
                .select((NodeRow::as_select(), chassis::uuid.nullable()))
        };
    }
    // As `nodes::id_of` finds a node: a UUID as written, else a name.
    let found = match crate::model::canonical_uuid(ident) {
        Some(uuid) if uuid != ident => return Err(super::nodes::not_found(ident)),
        Some(uuid) => read_holding_node!(conn, node!().filter(nodes::uuid.eq(&uuid))),
        None => read_holding_node!(conn, node!().filter(nodes::name.eq(ident))),
    };
    found?
        .ok_or_else(|| super::nodes::not_found(ident))
        .and_then(super::nodes::joined)
}

/// A PostgreSQL query that locks the rows of `nodes` it reads and no other table's
/// (`FOR NO KEY UPDATE OF nodes`), which diesel's locking clauses do not say.
#[cfg(feature = "postgres")]
#[derive(Debug, Clone, Copy, diesel::query_builder::QueryId)]
pub struct OfNodes<Q>(pub Q);

#[cfg(feature = "postgres")]
impl<Q: diesel::query_builder::Query> diesel::query_builder::Query for OfNodes<Q> {
    type SqlType = Q::SqlType;
}

#[cfg(feature = "postgres")]
impl<Q> diesel::query_builder::QueryFragment<diesel::pg::Pg> for OfNodes<Q>
where
    Q: diesel::query_builder::QueryFragment<diesel::pg::Pg>,
{
    fn walk_ast<'b>(
        &'b self,
        mut out: diesel::query_builder::AstPass<'_, 'b, diesel::pg::Pg>,
    ) -> QueryResult<()> {
        self.0.walk_ast(out.reborrow())?;
        out.push_sql(" FOR NO KEY UPDATE OF ");
        out.push_identifier("nodes")
    }
}

#[cfg(feature = "postgres")]
impl<Q> RunQueryDsl<diesel::PgConnection> for OfNodes<Q> {}

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
