//! The process's queue of SQLite writers.
//!
//! SQLite lets one transaction write at a time. A writer that finds another makes its busy
//! handler sleep 1, 2, 5, 10, 15 ms... before each new try, so a lock held for 3 ms can
//! cost a waiter 8, and one held for 10 ms (a checkpoint) costs 18. The process's write
//! transactions and its checkpoints queue here instead, and the next one starts as soon as
//! the last one ends.
//!
//! One queue for the whole process, since a process serves one database; writers of
//! another process (a command-line tool) still meet the busy handler.

use std::time::Duration;

use parking_lot::{Mutex, MutexGuard};

static WRITER: Mutex<()> = Mutex::new(());

/// A place at the head of the queue, held until dropped.
pub type Turn = MutexGuard<'static, ()>;

/// Waits for this process's turn to write, at most `patience`. A writer that waited that
/// long goes on without it, into SQLite's own busy handling and its "database is locked"
/// error: the queue never waits longer than SQLite would have.
pub fn turn(patience: Duration) -> Option<Turn> {
    WRITER.try_lock_for(patience)
}
