//! Node tasks: work done while holding a node's exclusive lock.
//!
//! The lock is `nodes.reservation` (see `common::db::reservation`). A busy lock is retried
//! a few times, a second apart, before the caller gets NodeLocked (409): clients retry
//! 409s themselves, so a short wait here mostly hides brief contention.

use common::Error;
use common::db::{AnyConnection, reservation};
use common::model::node::Node;

use crate::Conductor;

/// The nodes whose lock work of this process holds or is taking. A node's reservation
/// naming this conductor's host while the node is not in here was left behind (its
/// release was lost with a database connection), and the next lock of it reclaims it.
#[derive(Default)]
pub struct HeldLocks(std::sync::Mutex<std::collections::HashSet<i64>>);

impl HeldLocks {
    /// Marks `node_id` as held; false when work of this process already holds it.
    fn take(&self, node_id: i64) -> bool {
        self.0
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .insert(node_id)
    }

    fn give_back(&self, node_id: i64) {
        self.0
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .remove(&node_id);
    }
}

impl Conductor {
    /// Marks `node_id` as held by this process, or says which work has it.
    fn take_locally(&self, node_id: i64) -> Result<(), Error> {
        if self.held.take(node_id) {
            Ok(())
        } else {
            Err(Error::NodeLocked {
                node: node_id.to_string(),
                holder: self.hostname().to_string(),
            })
        }
    }

    /// Takes node `node_id`'s lock, retrying while another holder has it.
    pub async fn acquire(&self, node_id: i64, purpose: &str) -> Result<(), Error> {
        let attempts = self.settings.node_locked_retry_attempts.max(1);
        let mut attempt = 1;
        let start = std::time::Instant::now();
        let waited = |outcome: &'static str| {
            metrics::histogram!(common::metrics::NODE_LOCK_WAIT, "outcome" => outcome)
                .record(start.elapsed().as_secs_f64());
        };
        loop {
            let host = self.hostname().to_string();
            let reserved = match self.take_locally(node_id) {
                Ok(()) => {
                    let reserved = self
                        .db
                        .run(move |conn| reservation::reclaim(conn, node_id, &host))
                        .await;
                    if reserved.is_err() {
                        self.held.give_back(node_id);
                    }
                    reserved
                }
                Err(e) => Err(e),
            };
            match reserved {
                Err(Error::NodeLocked { .. }) if attempt < attempts => {
                    attempt += 1;
                    tokio::time::sleep(self.settings.node_locked_retry_interval).await;
                }
                Err(e) => {
                    if let Error::NodeLocked { node, holder } = &e {
                        waited("locked");
                        metrics::counter!(common::metrics::NODE_LOCKED).increment(1);
                        tracing::info!(node, holder, purpose, "node is locked");
                    }
                    return Err(e);
                }
                Ok(()) => {
                    waited("acquired");
                    tracing::debug!(node_id, purpose, "node lock taken");
                    return Ok(());
                }
            }
        }
    }

    /// Releases node `node_id`'s lock. A failure is logged: the lock then waits for this
    /// conductor's restart or for takeover.
    pub async fn release(&self, node_id: i64) {
        let host = self.hostname().to_string();
        if let Err(e) = self
            .db
            .run(move |conn| reservation::release(conn, node_id, &host))
            .await
        {
            tracing::error!(node_id, error = %e, "could not release node lock");
        }
        // Even when the release failed: no work holds the node any more, so the next
        // lock of it reclaims the reservation left behind.
        self.held.give_back(node_id);
    }

    /// Runs `work` in one transaction while holding node `node_id`'s exclusive lock.
    /// `work` gets the node as it is once locked.
    ///
    /// Taking the lock, the transaction and the release are three commits, as in
    /// [`Conductor::acquire`], but one trip to the blocking pool: each trip is a thread
    /// hand-off and a pool checkout, which cost more than the commits on SQLite. A busy
    /// lock hands `work` back, and the next attempt comes after the usual wait.
    pub async fn with_node_lock<T, F>(
        &self,
        node_id: i64,
        purpose: &str,
        work: F,
    ) -> Result<T, Error>
    where
        T: Send + 'static,
        F: FnOnce(&mut AnyConnection, Node) -> Result<T, Error> + Send + 'static,
    {
        let attempts = self.settings.node_locked_retry_attempts.max(1);
        let start = std::time::Instant::now();
        let waited = |outcome: &'static str| {
            metrics::histogram!(common::metrics::NODE_LOCK_WAIT, "outcome" => outcome)
                .record(start.elapsed().as_secs_f64());
        };
        let current = crate::idempotency::current();
        let mut work = work;
        let mut attempt = 1;
        loop {
            let (host, current) = (self.hostname().to_string(), current.clone());
            let outcome = match self.take_locally(node_id) {
                Ok(()) => {
                    let outcome = self
                        .db
                        .run(move |conn| {
                            Ok(locked_transaction(conn, node_id, &host, &current, work))
                        })
                        .await;
                    if let Ok(Locked::Done(_, false)) = outcome {
                        // The transaction's connection died with the lock still taken:
                        // release it on a fresh one (which also gives it back locally).
                        self.release(node_id).await;
                    } else {
                        self.held.give_back(node_id);
                    }
                    outcome?
                }
                Err(e) => Locked::Busy(work, e),
            };
            match outcome {
                Locked::Done(result, _) => {
                    waited("acquired");
                    return result;
                }
                Locked::Busy(back, e) => {
                    if attempt >= attempts {
                        if let Error::NodeLocked { node, holder } = &e {
                            waited("locked");
                            metrics::counter!(common::metrics::NODE_LOCKED).increment(1);
                            tracing::info!(node, holder, purpose, "node is locked");
                        }
                        return Err(e);
                    }
                    work = back;
                    attempt += 1;
                    tokio::time::sleep(self.settings.node_locked_retry_interval).await;
                }
            }
        }
    }
}

/// How one attempt at a locked transaction ended.
enum Locked<T, F> {
    /// The lock was taken (or taking it failed), the work ran (committed or rolled
    /// back), and `bool` says whether the lock is known to be released.
    Done(Result<T, Error>, bool),
    /// Another holder has the lock: the work comes back untouched, with the error.
    Busy(F, Error),
}

/// Takes node `node_id`'s lock for `host`, runs `work` in a transaction that also
/// records the request, and releases the lock, on the caller's connection.
fn locked_transaction<T, F>(
    conn: &mut AnyConnection,
    node_id: i64,
    host: &str,
    current: &Option<(String, &'static str)>,
    work: F,
) -> Locked<T, F>
where
    F: FnOnce(&mut AnyConnection, Node) -> Result<T, Error>,
{
    // The caller marked the node held by this process, so a reservation naming `host`
    // is one left behind: reclaim it.
    match reservation::reclaim(conn, node_id, host) {
        Ok(()) => tracing::debug!(node_id, "node lock taken"),
        Err(e @ Error::NodeLocked { .. }) => return Locked::Busy(work, e),
        Err(e) => return Locked::Done(Err(e), true),
    }
    // A panic in `work` must not keep the node locked: the lock is released on this
    // connection, after rolling back what the panic left open, and the panic goes on.
    let result = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
        common::db::write_transaction(conn, |conn| {
            let node = common::db::nodes::get_by_id(conn, node_id)?;
            let value = work(conn, node)?;
            crate::idempotency::record(conn, current)?;
            Ok(value)
        })
    }));
    if result.is_err() {
        use diesel::connection::{Connection, TransactionManager};
        let _ = <AnyConnection as Connection>::TransactionManager::rollback_transaction(conn);
    }
    let released = match reservation::release(conn, node_id, host) {
        Ok(()) => true,
        Err(e) => {
            tracing::warn!(node_id, error = %e, "could not release node lock, retrying");
            false
        }
    };
    match result {
        Ok(result) => Locked::Done(result, released),
        Err(panic) => std::panic::resume_unwind(panic),
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
        Fut: std::future::Future<Output = Result<T, Error>>,
    {
        self.acquire(node_id, purpose).await?;
        let result = work.await;
        self.release(node_id).await;
        result
    }
}
