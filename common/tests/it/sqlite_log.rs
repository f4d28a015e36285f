//! SQLite's write-ahead log under the pool's checkpoints (`common::db::checkpoint`): it
//! stays bounded while writers follow one another and readers never stop, and in a pool
//! of one connection; a reader that holds it for long delays its restart without failing
//! a writer.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use common::Error;
use common::db::{AnyConnection, Db, checkpoint, write_transaction};
use diesel::connection::SimpleConnection;
use diesel::prelude::*;

/// A row filling most of a page, so that each commit adds at least a page to the log.
const ROW: usize = 3000;

struct Database {
    dir: PathBuf,
    db: Db,
}

impl Database {
    fn new() -> Database {
        Database::with_connections(8)
    }

    fn with_connections(max_connections: u32) -> Database {
        let dir = std::env::temp_dir().join(format!("sanlink-sqlite-log-{}", uuid::Uuid::new_v4()));
        let db = Db::open(
            &format!("sqlite://{}", file(&dir).display()),
            max_connections,
        )
        .unwrap();
        db.with_conn(|conn| {
            conn.batch_execute("CREATE TABLE t (n INTEGER PRIMARY KEY, pad TEXT NOT NULL)")
                .map_err(Error::from)
        })
        .unwrap();
        Database { dir, db }
    }

    fn size(&self, suffix: &str) -> u64 {
        let path = format!("{}{suffix}", file(&self.dir).display());
        std::fs::metadata(path).map(|m| m.len()).unwrap_or(0)
    }

    /// A connection of the test's own, outside the pool.
    fn connect(&self) -> SqliteConnection {
        let mut conn = SqliteConnection::establish(&file(&self.dir).display().to_string()).unwrap();
        conn.batch_execute("PRAGMA busy_timeout = 10000").unwrap();
        conn
    }
}

impl Drop for Database {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

fn file(dir: &Path) -> PathBuf {
    dir.join("test.db")
}

async fn write_rows(db: &Db, rows: usize) {
    for _ in 0..rows {
        db.run(|conn| write_transaction(conn, insert))
            .await
            .unwrap();
    }
}

fn insert(conn: &mut AnyConnection) -> Result<(), Error> {
    diesel::sql_query("INSERT INTO t (pad) VALUES (?)")
        .bind::<diesel::sql_types::Text, _>("x".repeat(ROW))
        .execute(conn)?;
    Ok(())
}

#[derive(QueryableByName)]
struct Count {
    #[diesel(sql_type = diesel::sql_types::BigInt)]
    n: i64,
}

fn count(conn: &mut SqliteConnection) -> i64 {
    let row: Count = diesel::sql_query("SELECT COUNT(*) AS n FROM t")
        .get_result(conn)
        .unwrap();
    row.n
}

/// Readers that keep the log in use until stopped, as a busy service's GETs do: each
/// query is a read transaction, and one of them is nearly always running.
fn keep_reading(
    database: &Database,
    readers: usize,
) -> (Arc<AtomicBool>, Vec<std::thread::JoinHandle<u64>>) {
    let stop = Arc::new(AtomicBool::new(false));
    let threads = (0..readers)
        .map(|_| {
            let (mut conn, stop) = (database.connect(), stop.clone());
            std::thread::spawn(move || {
                let mut reads = 0;
                while !stop.load(Ordering::Relaxed) {
                    diesel::sql_query("SELECT n FROM t ORDER BY n DESC LIMIT 1")
                        .execute(&mut conn)
                        .unwrap();
                    reads += 1;
                }
                reads
            })
        })
        .collect();
    (stop, threads)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn the_log_stays_bounded_while_writers_follow_one_another_and_readers_never_stop() {
    let database = Database::new();
    let (stop, readers) = keep_reading(&database, 4);
    let (writers, rows) = (4, 12_000);
    let writing: Vec<_> = (0..writers)
        .map(|_| {
            let db = database.db.clone();
            tokio::spawn(async move { write_rows(&db, rows / writers).await })
        })
        .collect();
    for writer in writing {
        writer.await.unwrap();
    }
    stop.store(true, Ordering::Relaxed);
    for reader in readers {
        assert!(reader.join().unwrap() > 0);
    }
    // Every row went through the log, a page or more each. A log that never restarted
    // would be at least as large as the database (it is, with SQLite's own checkpoints: a
    // writer always begins before the last one's checkpoint ends); a restarting one holds
    // an interval's writes.
    let (log, data) = (database.size("-wal"), database.size(""));
    assert!(
        log < data / 3,
        "log {log} bytes against {data} bytes of database: it did not restart"
    );
    // Nothing was lost on the way: every row is there, read through a fresh connection.
    assert_eq!(count(&mut database.connect()), rows as i64);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_reader_that_holds_the_log_delays_its_restart_and_fails_no_writer() {
    let database = Database::new();
    write_rows(&database.db, 1).await;
    // A reader in the middle of a long transaction: no checkpoint can restart the log
    // past its snapshot.
    let mut reader = database.connect();
    reader.batch_execute("BEGIN").unwrap();
    let seen = count(&mut reader);
    let rows = 400;
    write_rows(&database.db, rows).await;
    tokio::time::sleep(3 * checkpoint::INTERVAL).await;
    assert_eq!(count(&mut reader), seen, "the reader keeps its snapshot");
    let held = log_pages(&mut database.connect());
    assert!(held >= rows as i32, "{held} pages of log for {rows} rows");
    // Once it ends, the next checkpoint restarts the log and the next writer starts it
    // over: one row's pages, not the rows written before.
    reader.batch_execute("COMMIT").unwrap();
    tokio::time::sleep(3 * checkpoint::INTERVAL).await;
    write_rows(&database.db, 1).await;
    let after = log_pages(&mut database.connect());
    assert!(
        after < 10,
        "{after} pages of log after the restart ({held} before)"
    );
    assert_eq!(count(&mut reader), rows as i64 + 2);
}

#[tokio::test]
async fn a_pool_of_one_connection_keeps_its_log_bounded_too() {
    let database = Database::with_connections(1);
    write_rows(&database.db, 300).await;
    tokio::time::sleep(3 * checkpoint::INTERVAL).await;
    write_rows(&database.db, 1).await;
    let pages = log_pages(&mut database.connect());
    assert!(pages < 10, "{pages} pages of log after 301 rows");
}

/// The pages the log holds now (SQLite's `mxFrame`), read by a checkpoint that copies
/// what it can without waiting for anybody; tried again while the pool's own checkpoint
/// runs, which answers -1.
fn log_pages(conn: &mut SqliteConnection) -> i32 {
    for _ in 0..100 {
        let outcome: checkpoint::Outcome = diesel::sql_query("PRAGMA wal_checkpoint(PASSIVE)")
            .get_result(conn)
            .unwrap();
        if outcome.log >= 0 {
            return outcome.log;
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    panic!("the log stayed busy for 2 s");
}
