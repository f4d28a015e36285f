//! Keeps SQLite's write-ahead log bounded.
//!
//! By itself SQLite copies the log back into the database file (a checkpoint) after any
//! commit that leaves the log over 1,000 pages, in the committing thread once its write
//! lock is released. It writes the log from its beginning again only when a writer begins
//! after a checkpoint copied all of it, and no reader still reads from it. When writers
//! follow one another, the next one has always begun before the last one's checkpoint
//! ends: the log never restarts and grows without end (by 190 MB a second under the
//! benchmark's PATCHes), every commit runs a checkpoint of its own and syncs, and every new
//! page of log costs the file system a freshly zeroed block.
//!
//! So the pool's connections never checkpoint (`wal_autocheckpoint = 0`). One thread with a
//! connection of its own checkpoints every [`INTERVAL`]:
//! 1. it copies the log into the database without stopping anybody (`PASSIVE`), again while
//!    a pass found much new log, so that little is left for the next step;
//! 2. it takes the writers' turn (see [`super::sqlite_writer`]), copies the rest and waits
//!    for the log's readers to finish (`RESTART`): the next writer starts the log over.
//!    A reader that kept the last restart from copying everything, and still keeps the
//!    passes where they stopped, reads for long: restarts wait until it ends, since each
//!    would hold the writers in vain.
//!
//! The log then stays the size of one interval's writes and is rewritten in place.
//!
//! Durability: with `synchronous = NORMAL` a commit is in the log, which survives the
//! process crashing, and each checkpoint syncs the log. A power loss can take the writes
//! of the last interval.

use std::sync::mpsc::{self, RecvTimeoutError};
use std::time::Duration;

use diesel::connection::SimpleConnection;
use diesel::prelude::*;
use diesel::sql_types::Integer;

use super::sqlite_writer;

/// How often the log is copied into the database and synced.
pub const INTERVAL: Duration = Duration::from_millis(100);

/// How long the restart waits for its turn and for the readers. Writers wait for it
/// meanwhile, so this is short: a log that could not restart is tried again next time.
const RESTART_PATIENCE: Duration = Duration::from_millis(50);

/// A pass that copied less new log than this (1 MiB) leaves little enough for the restart.
const SMALL_PASS: i32 = 256;

/// At most this many passes before the restart: under a write rate that keeps each pass
/// as long as the last, more passes would not leave the restart less to do.
const MAX_PASSES: usize = 3;

/// The checkpointing thread of one pool. The thread ends when the last clone is dropped.
#[derive(Clone)]
pub struct Checkpointer {
    _running: mpsc::Sender<()>,
}

/// Starts checkpointing the SQLite database at `path`.
pub fn start(path: &str) -> Checkpointer {
    let (running, stopped) = mpsc::channel();
    let path = path.to_owned();
    let spawned = std::thread::Builder::new()
        .name("sqlite-checkpoint".into())
        .spawn(move || run(&path, &stopped));
    if let Err(e) = spawned {
        tracing::error!(error = %e, "cannot start the SQLite checkpoint thread");
    }
    Checkpointer { _running: running }
}

fn run(path: &str, stopped: &mpsc::Receiver<()>) {
    let (mut conn, mut last, mut failing) = (None, None, false);
    while let Err(RecvTimeoutError::Timeout) = stopped.recv_timeout(INTERVAL) {
        let result = match conn.as_mut() {
            Some(c) => checkpoint(c, last).map_err(|e| e.to_string()),
            None => connect(path).map(|c| {
                conn = Some(c);
                None
            }),
        };
        match result {
            Ok(outcome) => {
                last = outcome.or(last);
                failing = false;
            }
            // Said once, not every interval; the next round reconnects.
            Err(e) => {
                if !failing {
                    tracing::warn!(error = %e, "SQLite checkpoint failed");
                }
                (conn, failing) = (None, true);
            }
        }
    }
}

fn connect(path: &str) -> Result<SqliteConnection, String> {
    let mut conn = SqliteConnection::establish(path).map_err(|e| e.to_string())?;
    let patience = RESTART_PATIENCE.as_millis();
    conn.batch_execute(&format!(
        "PRAGMA busy_timeout = {patience}; PRAGMA synchronous = NORMAL;"
    ))
    .map_err(|e| e.to_string())?;
    Ok(conn)
}

/// What `PRAGMA wal_checkpoint` answers.
#[derive(QueryableByName, Clone, Copy, Debug, PartialEq, Eq)]
pub struct Outcome {
    /// 1 when the checkpoint could not wait long enough for the writer or the readers.
    #[diesel(sql_type = Integer)]
    pub busy: i32,
    /// Pages in the log.
    #[diesel(sql_type = Integer)]
    pub log: i32,
    /// Pages of the log now in the database.
    #[diesel(sql_type = Integer)]
    pub checkpointed: i32,
}

/// One round: copies the log into the database and lets the next writer start it over;
/// answers how the restart went. A round that finds the log as the `last` restart left it
/// (nothing written since) does nothing more, and answers `None`.
fn checkpoint(conn: &mut SqliteConnection, last: Option<Outcome>) -> QueryResult<Option<Outcome>> {
    let mut pass = run_checkpoint(conn, "PASSIVE")?;
    if Some(pass) == last {
        return Ok(None);
    }
    for _ in 1..MAX_PASSES {
        let before = pass.log;
        pass = run_checkpoint(conn, "PASSIVE")?;
        if pass.log - before < SMALL_PASS {
            break;
        }
    }
    // A reader of an older part of the log that kept the last round's restart from copying
    // beyond where these passes stopped too reads for long (a backup): a restart would
    // hold the writers while it waits for that reader, in vain. Another process's
    // checkpoint still running (busy) would too. The next round tries again.
    let stuck = last.is_some_and(|l| l.checkpointed == pass.checkpointed);
    if pass.busy != 0 || (pass.checkpointed < pass.log && stuck) {
        return Ok(Some(pass));
    }
    let _turn = sqlite_writer::turn(RESTART_PATIENCE);
    let restarted = run_checkpoint(conn, "RESTART")?;
    if restarted.busy != 0 {
        tracing::debug!(
            log_pages = restarted.log,
            "checkpoint: the log could not restart"
        );
    }
    Ok(Some(restarted))
}

fn run_checkpoint(conn: &mut SqliteConnection, mode: &str) -> QueryResult<Outcome> {
    diesel::sql_query(format!("PRAGMA wal_checkpoint({mode})")).get_result(conn)
}
