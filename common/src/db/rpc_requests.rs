//! The `rpc_requests` table: which requests a conductor has applied. The row is written
//! in the transaction of the change itself, so a request redelivered after a conductor
//! died is recognised as done (and not applied again) exactly when its change committed.
//! On PostgreSQL, a change made by one statement can carry the row itself
//! ([`InStatement`]), and needs no transaction around it.

use chrono::Duration;
use diesel::prelude::*;

use super::AnyConnection;
use super::schema::rpc_requests;
use crate::error::Error;
use crate::model::now;

/// What recording a request found.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Recorded {
    /// The row is new: the caller's transaction applies the request.
    New,
    /// The request was recorded already, by a transaction that committed (or, on
    /// PostgreSQL and MySQL, after waiting for one still open to commit). The caller
    /// must roll back.
    AlreadyApplied,
}

/// Records that `request_id` is applied by the caller's transaction. An insert, not a
/// look first: of two copies of one request, only one can insert the row, however
/// their transactions interleave.
pub fn record(conn: &mut AnyConnection, request_id: &str, method: &str) -> Result<Recorded, Error> {
    let values = (
        rpc_requests::request_id.eq(request_id),
        rpc_requests::method.eq(method),
        rpc_requests::created_at.eq(now()),
    );
    let inserted = super::pool::natively!(conn, |c| diesel::insert_into(rpc_requests::table)
        .values(values)
        .execute(c));
    match inserted {
        Ok(_) => Ok(Recorded::New),
        Err(e) if crate::error::is_unique_violation(&e) => Ok(Recorded::AlreadyApplied),
        Err(e) => Err(e.into()),
    }
}

/// A request to record in the statement that applies it: PostgreSQL's data-modifying
/// `WITH` writes both rows in one statement, its own transaction. Made only for a
/// PostgreSQL connection ([`in_statement`]); SQLite and MySQL have no such statement,
/// and [`record`] the request in the caller's transaction instead.
#[derive(Clone, Copy, Debug)]
#[cfg_attr(not(feature = "postgres"), allow(dead_code))]
pub struct InStatement<'a> {
    request_id: &'a str,
    method: &'a str,
}

/// The request `request_id` to record in the statement that applies it, where `conn`
/// can ([`InStatement`]).
#[cfg_attr(not(feature = "postgres"), allow(unused_variables))]
pub fn in_statement<'a>(
    conn: &AnyConnection,
    request_id: &'a str,
    method: &'a str,
) -> Option<InStatement<'a>> {
    match conn {
        #[cfg(feature = "postgres")]
        AnyConnection::Postgresql(_) => Some(InStatement { request_id, method }),
        _ => None,
    }
}

#[cfg(feature = "postgres")]
pub use recorded::WithRecord;

#[cfg(feature = "postgres")]
mod recorded {
    use diesel::pg::Pg;
    use diesel::query_builder::{AstPass, Query, QueryFragment, QueryId};
    use diesel::sql_types::{Text, Timestamp};
    use diesel::{Column, PgConnection, QueryResult, RunQueryDsl};

    use super::InStatement;
    use crate::db::schema::rpc_requests;

    /// `statement`, which writes one row and returns it (`INSERT ... RETURNING`), with
    /// the request recorded in the same statement:
    ///
    /// `WITH written AS (statement), recorded AS (INSERT INTO rpc_requests ... SELECT
    /// ... FROM written) SELECT * FROM written`
    ///
    /// The request is recorded once per row written: a statement that writes nothing
    /// (its node is gone) records nothing. A second copy of the request fails on the
    /// unique index of one of the two inserts, whichever it meets first, after the
    /// first copy commits.
    pub struct WithRecord<'a, Q> {
        statement: Q,
        request: InStatement<'a>,
        at: chrono::NaiveDateTime,
    }

    impl<'a, Q> WithRecord<'a, Q> {
        pub fn new(statement: Q, request: InStatement<'a>) -> Self {
            WithRecord {
                statement,
                request,
                at: crate::model::now(),
            }
        }
    }

    impl<Q: Query> Query for WithRecord<'_, Q> {
        type SqlType = Q::SqlType;
    }

    impl<Q: QueryFragment<Pg>> QueryFragment<Pg> for WithRecord<'_, Q> {
        fn walk_ast<'b>(&'b self, mut out: AstPass<'_, 'b, Pg>) -> QueryResult<()> {
            out.push_sql("WITH written AS (");
            self.statement.walk_ast(out.reborrow())?;
            out.push_sql("), recorded AS (INSERT INTO ");
            const TABLE: rpc_requests::table = rpc_requests::table;
            TABLE.walk_ast(out.reborrow())?;
            out.push_sql(" (");
            let columns = [
                rpc_requests::request_id::NAME,
                rpc_requests::method::NAME,
                rpc_requests::created_at::NAME,
            ];
            for (i, column) in columns.into_iter().enumerate() {
                if i > 0 {
                    out.push_sql(", ");
                }
                out.push_identifier(column)?;
            }
            out.push_sql(") SELECT ");
            out.push_bind_param::<Text, str>(self.request.request_id)?;
            out.push_sql(", ");
            out.push_bind_param::<Text, str>(self.request.method)?;
            out.push_sql(", ");
            out.push_bind_param::<Timestamp, _>(&self.at)?;
            out.push_sql(" FROM written) SELECT * FROM written");
            Ok(())
        }
    }

    // No static id: diesel keeps the statement prepared, keyed by its SQL text, which
    // is the same for every request.
    impl<Q> QueryId for WithRecord<'_, Q> {
        type QueryId = ();
        const HAS_STATIC_QUERY_ID: bool = false;
    }

    impl<Q> RunQueryDsl<PgConnection> for WithRecord<'_, Q> {}
}

pub fn applied(conn: &mut AnyConnection, request_id: &str) -> Result<bool, Error> {
    let found = super::pool::natively!(conn, |c| rpc_requests::table
        .find(request_id)
        .select(rpc_requests::request_id)
        .first::<String>(c)
        .optional())?;
    Ok(found.is_some())
}

/// Forgets requests older than `age`: no redelivery comes that late.
pub fn expire(conn: &mut AnyConnection, age: Duration) -> Result<usize, Error> {
    Ok(
        diesel::delete(rpc_requests::table.filter(rpc_requests::created_at.lt(now() - age)))
            .execute(conn)?,
    )
}
