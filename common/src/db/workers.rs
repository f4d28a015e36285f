//! The threads that run database work: a fixed set of long-lived threads fed by one
//! channel, instead of a trip through tokio's blocking pool for every query.
//!
//! A query on SQLite takes 10-20 µs, less than the blocking pool's hand-off that carried
//! it (a task allocated, a condvar signalled, a thread woken, a pool mutex taken) and the
//! pool check-out around it. Here a worker that finishes a job takes the next one from the
//! channel without sleeping, and keeps its connection for it: under load the work runs
//! back to back on a few threads, each with a connection (and diesel's prepared statements)
//! of its own. A worker gives its connection back to the pool as soon as nothing waits, and
//! after any job that failed, so an idle connection is checked (and a dead one replaced)
//! by the pool before it is used again. A connection kept for the next job is checked
//! the same way first: from its socket, without a round trip (`liveness`).

use std::panic::{AssertUnwindSafe, catch_unwind};
use std::time::{Duration, Instant};

use crossbeam_channel::{Receiver, Sender};
use r2d2::{Pool, PooledConnection};

use super::pool::{AnyConnection, Manager};
use crate::error::Error;

/// How long a job may wait for a connection: the pool's own check-out timeout.
pub(super) const CONNECTION_WAIT: Duration = Duration::from_secs(5);

/// A job: runs with a connection, or learns why there is none. Answers whether it
/// succeeded.
type Job = Box<dyn FnOnce(Result<&mut AnyConnection, Error>) -> bool + Send>;

struct Queued {
    job: Job,
    /// When the job stops waiting for a connection (a database that cannot be reached
    /// fails each request after [`CONNECTION_WAIT`], however many are queued).
    deadline: Instant,
    /// The caller's runtime, entered while the job runs: what a job drops unanswered
    /// (a node lock whose caller went away) may need it to clean up.
    runtime: tokio::runtime::Handle,
}

/// The sending side; the workers stop when the last clone of it is dropped.
#[derive(Clone)]
pub(super) struct Workers {
    jobs: Sender<Queued>,
}

impl Workers {
    /// Starts `threads` workers taking connections from `pool`.
    pub(super) fn start(pool: Pool<Manager>, threads: usize) -> Workers {
        let (jobs, queue) = crossbeam_channel::unbounded();
        for _ in 0..threads.max(1) {
            spawn_worker(pool.clone(), queue.clone());
        }
        Workers { jobs }
    }

    /// Runs `work` on a worker with a connection and waits for its answer.
    pub(super) async fn run<T, F>(&self, work: F) -> Result<T, Error>
    where
        T: Send + 'static,
        F: FnOnce(&mut AnyConnection) -> Result<T, Error> + Send + 'static,
    {
        let (reply, answer) = tokio::sync::oneshot::channel();
        let job: Job = Box::new(move |conn| {
            let result = conn.and_then(work);
            let ok = result.is_ok();
            // The caller may be gone (its request was dropped); the work is done anyway.
            let _ = reply.send(result);
            ok
        });
        let queued = Queued {
            job,
            deadline: Instant::now() + CONNECTION_WAIT,
            runtime: tokio::runtime::Handle::current(),
        };
        self.jobs
            .send(queued)
            .map_err(|_| Error::Internal("the database workers have stopped".into()))?;
        answer
            .await
            .map_err(|_| Error::Internal("database task failed".into()))?
    }
}

fn spawn_worker(pool: Pool<Manager>, queue: Receiver<Queued>) {
    std::thread::Builder::new()
        .name("sanlink-db".into())
        .spawn(move || serve(&pool, &queue))
        .expect("cannot start a database worker thread");
}

/// A worker's loop, until every sender is gone. It keeps its connection from one job to
/// the next while jobs are waiting, and gives it back when none is.
fn serve(pool: &Pool<Manager>, queue: &Receiver<Queued>) {
    let mut held: Option<PooledConnection<Manager>> = None;
    loop {
        let waiting = held.as_ref().and_then(|_| queue.try_recv().ok());
        let Queued {
            job,
            deadline,
            runtime,
        } = match waiting {
            Some(queued) => queued,
            None => {
                held = None;
                match queue.recv() {
                    Ok(queued) => queued,
                    Err(_) => return,
                }
            }
        };
        let _runtime = runtime.enter();
        // A held connection is checked as the pool checks one it hands out; the pool
        // discards one found closed.
        let kept = held
            .take()
            .and_then(|mut conn| (conn.is_open() != Some(false)).then_some(conn));
        let mut conn = match kept.map_or_else(|| check_out(pool, deadline), Ok) {
            Ok(conn) => conn,
            Err(e) => {
                job(Err(e));
                continue;
            }
        };
        // A job that panicked answers its caller with an error (its reply is dropped); a
        // transaction it left open marks the connection broken and the pool discards it.
        // A connection whose job failed goes back to the pool, to be checked before its
        // next use.
        if catch_unwind(AssertUnwindSafe(|| job(Ok(&mut conn)))).unwrap_or(false) {
            held = Some(conn);
        }
    }
}

fn check_out(pool: &Pool<Manager>, deadline: Instant) -> Result<PooledConnection<Manager>, Error> {
    let wait = deadline.saturating_duration_since(Instant::now());
    pool.get_timeout(wait).map_err(|e| {
        tracing::warn!(error = %e, "database unavailable");
        Error::database_unavailable()
    })
}
