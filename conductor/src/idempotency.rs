//! Exactly-once application of redelivered requests.
//!
//! A request can arrive twice: RabbitMQ redelivers it when the conductor that took it
//! died or lost its broker connection before acknowledging, and the first copy may
//! still be running. Every change a request makes commits together with a row naming
//! the request (`common::db::rpc_requests`), inserted first in the transaction: of
//! two copies only one can insert it, and the other rolls back. A request found there
//! was applied, so it is answered from the current state instead of being applied
//! again; one whose record cannot be read is refused as retryable, never applied.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use common::Error;
use common::db::rpc_requests::{self, InStatement, Recorded};
use common::db::{
    AnyConnection, chassis, nodes, portgroups, ports, volume_connectors, volume_targets,
};
use common::rpc::{Call, Reply, Response};

use crate::Conductor;

/// The request being handled, and what its transactions learnt about it.
pub struct Scope {
    id: String,
    method: &'static str,
    /// A transaction of this request committed its row: later transactions of the same
    /// request (lock-io work saving its result, say) are its continuation, not a copy.
    recorded: AtomicBool,
    /// A transaction found the request recorded by another copy, and rolled back.
    found_applied: AtomicBool,
}

impl Scope {
    pub fn new(id: String, method: &'static str) -> Arc<Scope> {
        Arc::new(Scope {
            id,
            method,
            recorded: AtomicBool::new(false),
            found_applied: AtomicBool::new(false),
        })
    }

    /// True when another copy of this request applied it: the answer must then come
    /// from the current state, whatever this copy's work returned.
    pub fn found_applied(&self) -> bool {
        self.found_applied.load(Ordering::SeqCst)
    }

    /// Whether a transaction of this request still records it: the request has an id,
    /// and no earlier transaction of it committed the record.
    fn to_record(&self) -> bool {
        !self.id.is_empty() && !self.recorded.load(Ordering::SeqCst)
    }
}

/// Runs `work` in one write transaction that also records request `scope` as applied.
///
/// The request's row is inserted first, so that a second copy of the request running
/// at the same time waits for the first one's transaction and then finds the row; a
/// copy that finds it rolls back with [`Error::Conflict`] and marks the scope, and the
/// handler answers from the current state. Only the first transaction of a request
/// records it.
pub fn transaction<T>(
    conn: &mut AnyConnection,
    scope: &Scope,
    work: impl FnOnce(&mut AnyConnection) -> Result<T, Error>,
) -> Result<T, Error> {
    let claimed = claimed_transaction(conn, scope, |_| Ok(Some(())), |conn, ()| work(conn))?;
    Ok(claimed.expect("an unconditional claim holds"))
}

/// [`transaction`] for work that must first claim something in the same transaction
/// (a node's lock): `claim` is the transaction's first statement, and `work` gets what
/// it claimed. When it claims nothing, the transaction ends with nothing written,
/// neither `work` nor the record runs, and the answer is `None`.
pub fn claimed_transaction<C, T>(
    conn: &mut AnyConnection,
    scope: &Scope,
    claim: impl FnOnce(&mut AnyConnection) -> Result<Option<C>, Error>,
    work: impl FnOnce(&mut AnyConnection, C) -> Result<T, Error>,
) -> Result<Option<T>, Error> {
    let scope = Some(scope).filter(|s| s.to_record());
    let value = common::db::write_transaction(conn, |conn| {
        let Some(claimed) = claim(conn)? else {
            return Ok(None);
        };
        if let Some(scope) = scope {
            record(conn, scope)?;
        }
        work(conn, claimed).map(Some)
    })?;
    if let (Some(scope), Some(_)) = (scope, &value) {
        scope.recorded.store(true, Ordering::SeqCst);
    }
    Ok(value)
}

/// [`transaction`] for work that is one statement, which records the request too when
/// given an [`InStatement`] (a create's insert). Where the database can record it so
/// (PostgreSQL), the statement runs alone, its own transaction: one trip to the
/// database instead of four (`BEGIN`, the record, the statement, `COMMIT`). The record
/// is then no longer written first, so a copy may fail on the first copy's row rather
/// than on its record: a failure reads the record, as [`planned`] does, and a copy
/// that finds it marks the scope. Elsewhere the work runs in [`transaction`].
pub fn one_statement<T>(
    conn: &mut AnyConnection,
    scope: &Scope,
    work: impl FnOnce(&mut AnyConnection, Option<InStatement<'_>>) -> Result<T, Error>,
) -> Result<T, Error> {
    let request = Some(scope)
        .filter(|s| s.to_record())
        .and_then(|s| rpc_requests::in_statement(conn, &s.id, s.method));
    let Some(request) = request else {
        return transaction(conn, scope, |conn| work(conn, None));
    };
    let value = planned(conn, scope, |conn| work(conn, Some(request)))?;
    scope.recorded.store(true, Ordering::SeqCst);
    Ok(value)
}

/// Inserts the request's row. It is also the check for an earlier copy: a row that
/// cannot be written tells nothing, and the transaction rolls back ([`cannot_tell`]).
fn record(conn: &mut AnyConnection, scope: &Scope) -> Result<(), Error> {
    match rpc_requests::record(conn, &scope.id, scope.method).map_err(cannot_tell)? {
        Recorded::New => Ok(()),
        Recorded::AlreadyApplied => {
            scope.found_applied.store(true, Ordering::SeqCst);
            Err(Error::conflict(format!(
                "Request {} was applied already.",
                scope.id
            )))
        }
    }
}

/// A failed check for an earlier copy: a request that cannot tell must not run (a
/// retry will).
fn cannot_tell(e: Error) -> Error {
    tracing::warn!(error = %e, "cannot tell whether the request was applied");
    Error::Unavailable("The database is unavailable, please retry later.".into())
}

/// Whether the handler may leave the check for an earlier copy to the call's own work,
/// sparing a trip to the database: creates of connectors and targets, whose one
/// transaction records the request before anything else (or whose one statement records
/// it, and whose failure checks it: [`one_statement`]), and the updates and deletions
/// of nodes and of a node's resources, whose locked transaction records it and whose
/// planning read checks it when it fails ([`planned`]). Every other call is checked by
/// the handler, with [`unapplied`], before it runs.
pub fn checks_copies_itself(call: &Call) -> bool {
    matches!(
        call,
        Call::CreateVolumeConnector { .. }
            | Call::CreateVolumeTarget { .. }
            | Call::UpdateNode { .. }
            | Call::DestroyNode { .. }
            | Call::UpdateVolumeConnector { .. }
            | Call::DestroyVolumeConnector { .. }
            | Call::UpdateVolumeTarget { .. }
            | Call::DestroyVolumeTarget { .. }
            | Call::UpdatePort { .. }
            | Call::DestroyPort { .. }
            | Call::UpdatePortgroup { .. }
            | Call::DestroyPortgroup { .. }
    )
}

/// Runs `read`, the read a change is planned with, once request `scope` is known not to
/// have been applied by an earlier copy: in the same trip to the database as that check.
/// A copy that finds the request applied marks the scope and ends with
/// [`Error::Conflict`], and the handler answers from the current state.
pub fn unapplied<T>(
    conn: &mut AnyConnection,
    scope: &Scope,
    read: impl FnOnce(&mut AnyConnection) -> Result<T, Error>,
) -> Result<T, Error> {
    if !scope.id.is_empty() && rpc_requests::applied(conn, &scope.id).map_err(cannot_tell)? {
        scope.found_applied.store(true, Ordering::SeqCst);
        return Err(Error::conflict(format!(
            "Request {} was applied already.",
            scope.id
        )));
    }
    read(conn)
}

/// Runs `read`, the read that finds which node a change must lock. The locked
/// transaction records the request, which tells a copy apart, so a read that succeeds
/// needs no check of its own. One that fails may have failed because an earlier copy
/// applied the change (the resource it deleted is gone, the patch it applied no longer
/// applies): the request's record is read then, and a copy that finds it applied marks
/// the scope and ends with [`Error::Conflict`], so that the handler answers from the
/// current state.
pub fn planned<T>(
    conn: &mut AnyConnection,
    scope: &Scope,
    read: impl FnOnce(&mut AnyConnection) -> Result<T, Error>,
) -> Result<T, Error> {
    read(conn).or_else(|failed| {
        unapplied(conn, scope, |_| Ok(()))?;
        Err(failed)
    })
}

/// What the answer to an applied request is read from: the object it created or
/// changed. Taken from the call before it runs, which consumes it.
#[derive(Clone, Debug)]
pub enum Answer {
    Connector(String),
    Target(String),
    /// A node's UUID or name.
    Node(String),
    Port(String),
    Chassis(String),
    Portgroup(String),
    Done,
}

impl Answer {
    pub fn of(call: &Call) -> Answer {
        match call {
            Call::CreateVolumeConnector { connector: x } => Answer::Connector(x.uuid.clone()),
            Call::UpdateVolumeConnector { uuid, .. } => Answer::Connector(uuid.clone()),
            Call::CreateVolumeTarget { target: x } => Answer::Target(x.uuid.clone()),
            Call::UpdateVolumeTarget { uuid, .. } => Answer::Target(uuid.clone()),
            Call::CreateNode { node } => Answer::Node(node.uuid.clone()),
            Call::UpdateNode { uuid, .. } => Answer::Node(uuid.clone()),
            Call::CreatePort { port } => Answer::Port(port.uuid.clone()),
            Call::UpdatePort { uuid, .. } => Answer::Port(uuid.clone()),
            Call::CreateChassis { chassis: x } => Answer::Chassis(x.uuid.clone()),
            Call::UpdateChassis { uuid, .. } => Answer::Chassis(uuid.clone()),
            Call::CreatePortgroup { portgroup } => Answer::Portgroup(portgroup.uuid.clone()),
            Call::UpdatePortgroup { uuid, .. } => Answer::Portgroup(uuid.clone()),
            _ => Answer::Done,
        }
    }
}

/// The answer to an applied request, read from the current state.
pub async fn replay(c: &Conductor, answer: Answer) -> Response {
    c.db.run(move |conn| {
        Ok(match answer {
            Answer::Connector(uuid) => {
                Reply::Connector(volume_connectors::get_by_uuid(conn, &uuid)?)
            }
            Answer::Target(uuid) => Reply::Target(volume_targets::get_by_uuid(conn, &uuid)?),
            Answer::Node(ident) => Reply::Node(nodes::get_by_ident(conn, &ident)?),
            Answer::Port(uuid) => Reply::Port(ports::get_by_uuid(conn, &uuid)?),
            Answer::Chassis(uuid) => Reply::Chassis(chassis::get_by_uuid(conn, &uuid)?),
            Answer::Portgroup(uuid) => Reply::Portgroup(portgroups::get_by_uuid(conn, &uuid)?),
            Answer::Done => Reply::Done,
        })
    })
    .await
}
