//! The `rpc_requests` table: which requests a conductor has applied. The row is written
//! in the transaction of the change itself, so a request redelivered after a conductor
//! died is recognised as done (and not applied again) exactly when its change committed.

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
    let inserted = diesel::insert_into(rpc_requests::table)
        .values((
            rpc_requests::request_id.eq(request_id),
            rpc_requests::method.eq(method),
            rpc_requests::created_at.eq(now()),
        ))
        .execute(conn);
    match inserted {
        Ok(_) => Ok(Recorded::New),
        Err(e) if crate::error::is_unique_violation(&e) => Ok(Recorded::AlreadyApplied),
        Err(e) => Err(e.into()),
    }
}

pub fn applied(conn: &mut AnyConnection, request_id: &str) -> Result<bool, Error> {
    Ok(rpc_requests::table
        .find(request_id)
        .select(rpc_requests::request_id)
        .first::<String>(conn)
        .optional()?
        .is_some())
}

/// Forgets requests older than `age`: no redelivery comes that late.
pub fn expire(conn: &mut AnyConnection, age: Duration) -> Result<usize, Error> {
    Ok(
        diesel::delete(rpc_requests::table.filter(rpc_requests::created_at.lt(now() - age)))
            .execute(conn)?,
    )
}
