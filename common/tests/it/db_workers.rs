//! The database worker threads (`common::db::Db::run`) on SQLite: a panicking job, a
//! database that cannot be opened, and many callers at once.

use std::time::{Duration, Instant};

use common::Error;
use common::db::{AnyConnection, Db, write_transaction};
use diesel::connection::SimpleConnection;
use diesel::prelude::*;

/// A fresh SQLite database in its own directory under the target's temporary folder.
fn sqlite_db(max_connections: u32) -> Db {
    let dir = std::env::temp_dir().join(format!("sanlink-db-workers-{}", uuid::Uuid::new_v4()));
    let db = Db::open(
        &format!("sqlite://{}/test.db", dir.display()),
        max_connections,
    )
    .unwrap();
    db.with_conn(|conn| {
        conn.batch_execute("CREATE TABLE IF NOT EXISTS t (n INTEGER NOT NULL)")
            .map_err(Error::from)
    })
    .unwrap();
    db
}

fn count(conn: &mut AnyConnection) -> Result<i64, Error> {
    #[derive(QueryableByName)]
    struct Count {
        #[diesel(sql_type = diesel::sql_types::BigInt)]
        n: i64,
    }
    let row: Count = diesel::sql_query("SELECT COUNT(*) AS n FROM t").get_result(conn)?;
    Ok(row.n)
}

fn insert(conn: &mut AnyConnection) -> Result<(), Error> {
    diesel::sql_query("INSERT INTO t (n) VALUES (1)").execute(conn)?;
    Ok(())
}

#[tokio::test]
async fn a_job_that_panics_inside_a_transaction_answers_an_error_and_the_next_job_is_unharmed() {
    // Two connections: one worker, so the next job runs on the thread that panicked.
    let db = sqlite_db(2);
    let panicked = db
        .run(|conn| {
            write_transaction(conn, |c| -> Result<(), Error> {
                insert(c)?;
                panic!("a bug in the middle of a transaction")
            })
        })
        .await;
    assert!(matches!(panicked, Err(Error::Internal(_))), "{panicked:?}");
    // The connection with the open transaction was discarded: a new write transaction
    // starts (it would fail inside the old one), and the panicked insert never landed.
    let after = db
        .run(|conn| write_transaction(conn, |c| insert(c).and_then(|_| count(c))))
        .await
        .unwrap();
    assert_eq!(after, 1);
}

#[tokio::test]
async fn a_database_that_cannot_be_opened_fails_every_queued_job_within_the_wait() {
    // The database "file" is a directory: every connection attempt fails.
    let dir = std::env::temp_dir().join(format!("sanlink-db-workers-{}", uuid::Uuid::new_v4()));
    std::fs::create_dir_all(dir.join("db")).unwrap();
    let db = Db::open(&format!("sqlite://{}/db", dir.display()), 2).unwrap();
    let started = Instant::now();
    let jobs: Vec<_> = (0..8).map(|_| db.run(count)).collect();
    let results = futures_util::future::join_all(jobs).await;
    for result in &results {
        assert!(matches!(result, Err(Error::Unavailable(_))), "{result:?}");
    }
    // Each job waits at most the pool's 5 s from when it was queued, not 5 s behind
    // every job queued before it on the one worker (which would be 40 s).
    assert!(
        started.elapsed() < Duration::from_secs(15),
        "{:?}",
        started.elapsed()
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn many_callers_at_once_each_get_their_own_answer() {
    let db = sqlite_db(4);
    let callers: Vec<_> = (0..200)
        .map(|i| {
            let db = db.clone();
            tokio::spawn(async move {
                db.run(move |conn| {
                    write_transaction(conn, insert)?;
                    Ok(i)
                })
                .await
            })
        })
        .collect();
    for (i, caller) in callers.into_iter().enumerate() {
        assert_eq!(caller.await.unwrap().unwrap(), i);
    }
    assert_eq!(db.run(count).await.unwrap(), 200);
}
