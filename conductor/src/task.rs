//! Node tasks: work done while holding a node's exclusive lock.
//!
//! The lock is `nodes.reservation` (see `common::db::reservation`), or, for work that ends
//! with its transaction, the node's row held by that transaction while no reservation is
//! set ([`reservation::hold`]). A busy lock is retried a few times, a second apart,
//! before the caller gets NodeLocked (409): clients retry 409s themselves, so a short
//! wait here mostly hides brief contention.
//!
//! Every piece of work is in the conductor's registry of nodes it works on (see
//! [`crate::working`]) from before it tries the lock until after it tried to release it,
//! so that a lock whose release failed is found idle and released by the periodic sweep.

use std::sync::Arc;

use common::Error;
use common::db::{AnyConnection, Db, reservation};
use common::model::node::Node;

use crate::Conductor;
use crate::context::Context;
use crate::idempotency::{self, Scope};
use crate::working::{Registry, Working};

impl Conductor {
    /// Takes node `node_id`'s lock, retrying while another holder has it.
    pub async fn acquire(&self, node_id: i64, purpose: &str) -> Result<NodeLock, Error> {
        self.retrying_lock(purpose, (), |()| async move {
            let (db, host, registry) = (
                self.db.clone(),
                self.hostname().to_string(),
                self.working.clone(),
            );
            // The guard is made where the lock is taken: if the caller is cancelled
            // while this runs, the guard is dropped with the unread result, and its drop
            // releases the lock.
            let taken = self
                .db
                .run(move |conn| {
                    let working = registry.enter(node_id);
                    take_lock(conn, &registry, node_id, &host)?;
                    Ok(NodeLock {
                        db,
                        host,
                        node_id,
                        working: Some(working),
                    })
                })
                .await;
            Ok(match taken {
                Ok(lock) => {
                    tracing::debug!(node_id, purpose, "node lock taken");
                    Locked::Done(Ok(lock))
                }
                Err(e @ Error::NodeLocked { .. }) => Locked::Busy((), e),
                Err(e) => Locked::Done(Err(e)),
            })
        })
        .await
    }

    /// Runs `work` in one transaction, which also records `ctx`'s request, while
    /// holding node `node_id`'s exclusive lock. `work` gets the node as it is once
    /// locked.
    ///
    /// A free node is locked and worked on in that one transaction, one commit: the
    /// transaction holds the node's row from its first statement, so a concurrent
    /// locked transaction waits for it, and nobody ever sees the lock. A node reserved
    /// by longer work, or by a lock this conductor left behind, is taken the slow way:
    /// the lock, the transaction and the release are then three commits, as in
    /// [`Conductor::acquire`]. Either way it is one trip to a database worker. A busy
    /// lock hands `work` back, and the next attempt comes after the usual wait.
    pub async fn with_node_lock<T, F>(
        &self,
        ctx: &Context,
        node_id: i64,
        purpose: &str,
        work: F,
    ) -> Result<T, Error>
    where
        T: Send + 'static,
        F: FnOnce(&mut AnyConnection, Node) -> Result<T, Error> + Send + 'static,
    {
        let work = move |conn: &mut AnyConnection, node, ()| work(conn, node);
        self.retrying_lock(purpose, work, |work| {
            let (host, scope, registry) = self.attempt_parts(ctx);
            self.db.run(move |conn| {
                let claim = NodeClaim {
                    registry: &registry,
                    node_id,
                    host: &host,
                };
                Ok(locked_transaction(conn, claim, &scope, (), work))
            })
        })
        .await
    }

    /// [`Conductor::with_node_lock`] on the node `plan` reads, for work whose node is
    /// known only from the database (the node a port or connector belongs to). `plan`
    /// runs in the same trip to the database worker as the locked work, and again at
    /// each attempt, so a resource moved to another node while the lock was busy is
    /// followed there; `work` gets what the attempt's plan read.
    ///
    /// Where the database allows it ([`reservation::holds_as_it_reads`]), the plan's
    /// read is the locked transaction's first statement and holds the node it finds
    /// ([`Read::Holding`]): finding the node and locking it is one statement. Elsewhere,
    /// and when that read held another node than the work needs (a resource moving to
    /// another node) or found it reserved, the node is locked by its id after the plan.
    /// A plan that fails may have failed because an earlier copy of the request applied
    /// the change (the resource it deleted is gone): [`idempotency::planned`] tells.
    pub async fn with_planned_lock<T, V, P, F>(
        &self,
        ctx: &Context,
        purpose: &str,
        plan: P,
        work: F,
    ) -> Result<T, Error>
    where
        T: Send + 'static,
        V: Send + 'static,
        P: Fn(&mut AnyConnection, Read) -> Result<Planned<V>, Error> + Send + Sync + 'static,
        F: FnOnce(&mut AnyConnection, Node, V) -> Result<T, Error> + Send + 'static,
    {
        let plan = Arc::new(plan);
        self.retrying_lock(purpose, work, |work| {
            let (host, scope, registry) = self.attempt_parts(ctx);
            let plan = Arc::clone(&plan);
            self.db.run(move |conn| {
                let claim = |node_id| NodeClaim {
                    registry: &registry,
                    node_id,
                    host: &host,
                };
                let planned = if reservation::holds_as_it_reads(conn) {
                    let held_plan = |conn: &mut AnyConnection| {
                        idempotency::planned(conn, &scope, |conn| plan(conn, Read::Holding))
                    };
                    match held_work(conn, &host, &scope, held_plan, work) {
                        Ok(done) => return Ok(Locked::Done(done)),
                        Err(unheld) => unheld,
                    }
                } else {
                    let planned =
                        idempotency::planned(conn, &scope, |conn| plan(conn, Read::Plain))?;
                    (planned.node_id, planned.seen, work)
                };
                let (node_id, seen, work) = planned;
                Ok(locked_transaction(conn, claim(node_id), &scope, seen, work))
            })
        })
        .await
    }

    /// What each attempt at a lock takes along to its database worker.
    fn attempt_parts(&self, ctx: &Context) -> (String, Arc<Scope>, Arc<Registry>) {
        (
            self.hostname().to_string(),
            ctx.scope.clone(),
            self.working.clone(),
        )
    }

    /// Makes `attempt` until it takes the lock or the attempts run out, a retry
    /// interval apart; a busy attempt hands its state back for the next one. Records
    /// how long the caller waited, and logs a lock that stayed busy.
    async fn retrying_lock<S, T, Fut>(
        &self,
        purpose: &str,
        state: S,
        attempt: impl Fn(S) -> Fut,
    ) -> Result<T, Error>
    where
        Fut: Future<Output = Result<Locked<T, S>, Error>>,
    {
        let attempts = self.settings.node_locked_retry_attempts.max(1);
        let start = std::time::Instant::now();
        let waited = |outcome: &'static str| {
            metrics::histogram!(common::metrics::NODE_LOCK_WAIT, "outcome" => outcome)
                .record(start.elapsed().as_secs_f64());
        };
        let mut state = state;
        let mut tried = 1;
        loop {
            match attempt(state).await? {
                Locked::Done(result) => {
                    waited("acquired");
                    return result;
                }
                Locked::Busy(back, e) if tried < attempts => {
                    tracing::debug!(purpose, error = %e, "node lock busy, retrying");
                    state = back;
                    tried += 1;
                    tokio::time::sleep(self.settings.node_locked_retry_interval).await;
                }
                Locked::Busy(_, e) => {
                    waited("locked");
                    metrics::counter!(common::metrics::NODE_LOCKED).increment(1);
                    if let Error::NodeLocked { node, holder } = &e {
                        tracing::info!(node, holder, purpose, "node is locked");
                    }
                    return Err(e);
                }
            }
        }
    }
}

/// How a lock's plan reads what names the node to lock.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Read {
    /// A plain read, before the locked transaction.
    Plain,
    /// The locked transaction's first statement, which holds the node it finds
    /// (`reservation::hold_named`, `Stored::get_holding_node`).
    Holding,
}

/// What a lock's plan read: the node to lock, and what the locked work starts from.
pub struct Planned<V> {
    pub node_id: i64,
    pub seen: V,
    /// The node as a [`Read::Holding`] plan's read held it.
    pub held: Option<Node>,
}

impl<V> Planned<V> {
    /// A plan of work on node `node_id`, which its read did not hold.
    pub fn on(node_id: i64, seen: V) -> Planned<V> {
        Planned {
            node_id,
            seen,
            held: None,
        }
    }

    /// A plan of work on `node`, which its read held.
    pub fn held(node: Node, seen: V) -> Planned<V> {
        Planned {
            node_id: node.id,
            seen,
            held: Some(node),
        }
    }
}

/// How one attempt at a node lock ended.
enum Locked<T, S> {
    /// The lock was taken (for a locked transaction: the work ran, committed or
    /// rolled back, and the lock was released), or taking it failed for good.
    Done(Result<T, Error>),
    /// Another holder has the lock: the attempt's state (the work, untouched) comes
    /// back with the error.
    Busy(S, Error),
}

/// Takes node `node_id`'s lock for `host`, whose work on the node has entered
/// `registry`. A lock `host` already holds while this is its only work on the node was
/// left behind (its release was lost with a database connection): no work of `host`
/// can be using it, since work enters the registry before it locks, so it is taken
/// back at once instead of answering NodeLocked until the next sweep. Another work of
/// `host` cannot take it meanwhile: taking a lock needs it free.
fn take_lock(
    conn: &mut AnyConnection,
    registry: &Registry,
    node_id: i64,
    host: &str,
) -> Result<(), Error> {
    match reservation::reserve(conn, node_id, host) {
        Err(Error::NodeLocked { node, holder }) if holder == host && registry.sole(node_id) => {
            tracing::warn!(node, "taking back a node lock this conductor left behind");
            Ok(())
        }
        other => other,
    }
}

/// A node lock to take for `host`, on behalf of work in `registry`.
#[derive(Clone, Copy)]
struct NodeClaim<'a> {
    registry: &'a Arc<Registry>,
    node_id: i64,
    host: &'a str,
}

/// Takes the node lock of `claim`, runs `work` on `seen` in a transaction that also
/// records the request, and releases the lock, on the caller's connection: in one
/// transaction when the node is free, else in three commits. The node is in the
/// registry throughout, and leaves it after the release was tried, whatever happened.
fn locked_transaction<T, V, F>(
    conn: &mut AnyConnection,
    claim: NodeClaim<'_>,
    scope: &Scope,
    seen: V,
    work: F,
) -> Locked<T, F>
where
    F: FnOnce(&mut AnyConnection, Node, V) -> Result<T, Error>,
{
    let _working = claim.registry.enter(claim.node_id);
    let node_id = claim.node_id;
    let hold = |conn: &mut AnyConnection| {
        let held = reservation::hold(conn, node_id)?;
        Ok(Planned {
            node_id,
            seen,
            held,
        })
    };
    match held_work(conn, claim.host, scope, hold, work) {
        Ok(done) => Locked::Done(done),
        Err((_, seen, work)) => reserved_work(conn, &claim, scope, seen, work),
    }
}

/// The one-transaction way: `plan`, the transaction's first statement, holds the node's
/// row ([`reservation::hold`], [`Read::Holding`]), so no other work takes the node until
/// the transaction ends; the request is recorded and `work` runs in the same
/// transaction. Hands the node the plan names, what it read and `work` back, unrun and
/// with nothing written, unless the plan held that very node, free of any reservation.
///
/// A node held here needs no entry in the registry, which tells a reservation in use
/// from one left behind: this work writes none, and runs only on a node without one.
fn held_work<T, V, F>(
    conn: &mut AnyConnection,
    host: &str,
    scope: &Scope,
    plan: impl FnOnce(&mut AnyConnection) -> Result<Planned<V>, Error>,
    work: F,
) -> Result<Result<T, Error>, (i64, V, F)>
where
    F: FnOnce(&mut AnyConnection, Node, V) -> Result<T, Error>,
{
    let mut unheld = None;
    let mut unrun = Some(work);
    let done = rolled_back_on_panic(conn, |conn| {
        crate::idempotency::claimed_transaction(
            conn,
            scope,
            |conn| {
                let Planned {
                    node_id,
                    seen,
                    held,
                } = plan(conn)?;
                match held {
                    Some(node) if node.id == node_id && node.reservation.is_none() => {
                        Ok(Some((node, seen)))
                    }
                    _ => {
                        unheld = Some((node_id, seen));
                        Ok(None)
                    }
                }
            },
            |conn, (mut node, seen)| {
                let work = unrun.take().expect("work runs once");
                // The work sees the node as its lock's holder, as the three-commit way
                // shows it.
                node.reservation = Some(host.to_string());
                work(conn, node, seen)
            },
        )
    });
    match (done, unheld, unrun) {
        (Ok(Some(value)), ..) => Ok(Ok(value)),
        (Err(e), ..) => Ok(Err(e)),
        (Ok(None), Some((node_id, seen)), Some(work)) => Err((node_id, seen, work)),
        (Ok(None), ..) => unreachable!("a refused claim runs no work"),
    }
}

/// The three-commit way, for a node whose `reservation` is set: the lock is taken if
/// this conductor left it behind, else the attempt is busy.
fn reserved_work<T, V, F>(
    conn: &mut AnyConnection,
    claim: &NodeClaim<'_>,
    scope: &Scope,
    seen: V,
    work: F,
) -> Locked<T, F>
where
    F: FnOnce(&mut AnyConnection, Node, V) -> Result<T, Error>,
{
    let NodeClaim {
        registry,
        node_id,
        host,
    } = *claim;
    match take_lock(conn, registry, node_id, host) {
        Ok(()) => tracing::debug!(node_id, "node lock taken"),
        Err(e @ Error::NodeLocked { .. }) => return Locked::Busy(work, e),
        Err(e) => return Locked::Done(Err(e)),
    }
    let result = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
        rolled_back_on_panic(conn, |conn| {
            crate::idempotency::transaction(conn, scope, |conn| {
                let node = common::db::nodes::get_by_id(conn, node_id)?;
                work(conn, node, seen)
            })
        })
    }));
    // A panic in `work` must not keep the node locked: the lock is released on this
    // connection, and the panic goes on.
    if let Err(e) = reservation::release(conn, node_id, host) {
        // The node leaves the registry all the same: the periodic sweep releases it.
        tracing::error!(node_id, error = %e, "could not release node lock");
    }
    match result {
        Ok(result) => Locked::Done(result),
        Err(panic) => std::panic::resume_unwind(panic),
    }
}

/// Runs `work` on `conn`; if it panics, rolls back what the panic left open on the
/// connection before the panic goes on, so that the connection is usable again.
fn rolled_back_on_panic<T>(
    conn: &mut AnyConnection,
    work: impl FnOnce(&mut AnyConnection) -> T,
) -> T {
    match std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| work(conn))) {
        Ok(value) => value,
        Err(panic) => {
            use diesel::connection::{Connection, TransactionManager};
            let _ = <AnyConnection as Connection>::TransactionManager::rollback_transaction(conn);
            std::panic::resume_unwind(panic)
        }
    }
}

/// A node lock held by this conductor, for work outside a transaction. Release it with
/// [`NodeLock::release`]; dropped unreleased (the work panicked or was cancelled), it
/// releases itself in the background.
#[must_use = "the node stays locked until released"]
pub struct NodeLock {
    db: Db,
    host: String,
    node_id: i64,
    /// The node's entry in the registry; `None` once the release is under way.
    working: Option<Working>,
}

impl NodeLock {
    pub async fn release(mut self) {
        if let Some(working) = self.working.take() {
            release(self.db.clone(), self.host.clone(), self.node_id, working).await;
        }
    }
}

impl Drop for NodeLock {
    fn drop(&mut self) {
        let Some(working) = self.working.take() else {
            return;
        };
        // Without a runtime (shutting down) the entry just leaves the registry, and
        // the sweep or the next start releases the lock.
        if let Ok(runtime) = tokio::runtime::Handle::try_current() {
            let (db, host, node_id) = (self.db.clone(), self.host.clone(), self.node_id);
            runtime.spawn(release(db, host, node_id, working));
        }
    }
}

/// Releases `host`'s lock on `node_id`, then lets the node leave the registry. The entry
/// moves into the database work, so it leaves only after the release was tried, even if
/// the caller stops waiting. A failure is logged: the periodic sweep releases the lock.
async fn release(db: Db, host: String, node_id: i64, working: Working) {
    let released = db
        .run(move |conn| {
            let released = reservation::release(conn, node_id, &host);
            drop(working);
            released
        })
        .await;
    if let Err(e) = released {
        tracing::error!(node_id, error = %e, "could not release node lock");
    }
}

impl Conductor {
    /// Runs `work` while holding node `node_id`'s exclusive lock but outside any
    /// transaction, for work that talks to a BMC: a BMC call may take many seconds,
    /// and a transaction held that long would block every other writer. `work` reads
    /// what it needs and saves its result with [`Conductor::write`].
    pub async fn with_node_lock_io<T, Fut>(
        &self,
        node_id: i64,
        purpose: &str,
        work: Fut,
    ) -> Result<T, Error>
    where
        Fut: Future<Output = Result<T, Error>>,
    {
        let lock = self.acquire(node_id, purpose).await?;
        let result = work.await;
        lock.release().await;
        result
    }
}
