//! Node-locked work: the lock is taken and released around the transaction, whatever
//! the work does, and a busy lock leaves the work undone.

use std::sync::Arc;

use common::Error;
use common::db::nodes;
use conductor::Conductor;
use conductor::context::Context;
use diesel::prelude::*;

use crate::support;
use support::database::Database;
use support::fixtures::{
    add_node, conductor, conductor_on, conductor_with_pool, record_statements, set_reservation,
};

/// A busy lock is retried briefly: the tests need only its outcome.
const QUICK_RETRIES: &[(&str, &str)] = &[("SANLINK_NODE_LOCKED_RETRY_INTERVAL", "0.01")];

async fn reservation(c: &Conductor, id: i64) -> Option<String> {
    c.db.run(move |conn| Ok(nodes::get_by_id(conn, id)?.reservation))
        .await
        .unwrap()
}

/// Renames the node inside the locked transaction, then ends as `end` says.
async fn rename(c: &Conductor, id: i64, end: &'static str) -> Result<(), Error> {
    c.with_node_lock(&Context::internal(), id, "test", move |conn, node| {
        assert_eq!(node.reservation.as_deref(), Some("c1"), "work runs locked");
        use common::db::schema::nodes::dsl;
        diesel::update(dsl::nodes.find(id))
            .set(dsl::name.eq(format!("renamed-{id}")))
            .execute(conn)?;
        match end {
            "ok" => Ok(()),
            "error" => Err(Error::invalid("refused")),
            _ => panic!("work panicked"),
        }
    })
    .await
}

async fn name(c: &Conductor, id: i64) -> Option<String> {
    c.db.run(move |conn| Ok(nodes::get_by_id(conn, id)?.name))
        .await
        .unwrap()
}

#[tokio::test]
async fn the_lock_is_released_after_work_that_succeeds_fails_or_panics() {
    let c = conductor(QUICK_RETRIES);
    let node = add_node(&c).await;

    rename(&c, node.id, "ok").await.unwrap();
    assert_eq!(
        name(&c, node.id).await,
        Some(format!("renamed-{}", node.id))
    );
    assert_eq!(reservation(&c, node.id).await, None);

    let node = add_node(&c).await;
    let err = rename(&c, node.id, "error").await.unwrap_err();
    assert!(matches!(err, Error::Invalid(_)), "{err:?}");
    assert_eq!(name(&c, node.id).await, None, "rolled back");
    assert_eq!(reservation(&c, node.id).await, None);

    let node = add_node(&c).await;
    let err = rename(&c, node.id, "panic").await.unwrap_err();
    assert!(matches!(err, Error::Internal(_)), "{err:?}");
    assert_eq!(name(&c, node.id).await, None, "rolled back");
    assert_eq!(reservation(&c, node.id).await, None);
}

/// A lock this conductor left behind is taken in three commits instead of inside the
/// work's transaction: that way too, work that fails or panics is rolled back and the
/// lock released.
#[tokio::test]
async fn a_lock_taken_back_is_released_after_work_that_fails_or_panics() {
    let db = Database::fresh();
    let c = conductor_on(&db.url, "c1", QUICK_RETRIES);
    for end in ["error", "panic"] {
        let node = add_node(&c).await;
        set_reservation(&c, node.id, Some("c1")).await;
        let err = rename(&c, node.id, end).await.unwrap_err();
        let refused = matches!(err, Error::Invalid(_)) && end == "error";
        let panicked = matches!(err, Error::Internal(_)) && end == "panic";
        assert!(refused || panicked, "{end}: {err:?}");
        assert_eq!(name(&c, node.id).await, None, "{end}: rolled back");
        assert_eq!(reservation(&c, node.id).await, None, "{end}: released");
    }
}

#[tokio::test]
async fn a_busy_lock_leaves_the_work_undone() {
    let c = conductor(QUICK_RETRIES);
    let node = add_node(&c).await;
    set_reservation(&c, node.id, Some("other")).await;
    let err = rename(&c, node.id, "ok").await.unwrap_err();
    assert!(
        matches!(&err, Error::NodeLocked { holder, .. } if holder == "other"),
        "{err:?}"
    );
    assert_eq!(name(&c, node.id).await, None);
    assert_eq!(reservation(&c, node.id).await.as_deref(), Some("other"));

    // Freed between attempts: a later attempt takes it.
    set_reservation(&c, node.id, None).await;
    rename(&c, node.id, "ok").await.unwrap();
    assert_eq!(
        name(&c, node.id).await,
        Some(format!("renamed-{}", node.id))
    );
}

/// Polls `id`'s holder until it is `holder`, for at most ten seconds.
async fn wait_for_holder(c: &Conductor, id: i64, holder: Option<&str>) {
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
    while reservation(c, id).await.as_deref() != holder {
        assert!(
            std::time::Instant::now() < deadline,
            "node {id} never held by {holder:?}"
        );
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
}

/// Holds `id`'s lock for lock-io work until `finish` fires or is dropped.
fn hold(
    c: &Arc<Conductor>,
    id: i64,
    finish: tokio::sync::oneshot::Receiver<()>,
) -> tokio::task::JoinHandle<Result<(), Error>> {
    let c = c.clone();
    tokio::spawn(async move {
        c.with_node_lock_io(id, "test", async {
            let _ = finish.await;
            Ok(())
        })
        .await
    })
}

async fn sweep(c: &Conductor) -> usize {
    let registry = c.working.clone();
    c.db.run(move |conn| conductor::periodic::release_idle(conn, "c1", &registry))
        .await
        .unwrap()
}

#[tokio::test]
async fn the_sweep_releases_locks_no_work_holds_and_keeps_those_in_use() {
    let db = Database::fresh();
    let c = Arc::new(conductor_on(&db.url, "c1", QUICK_RETRIES));
    // A lock of this conductor whose release failed: no work holds it.
    let idle = add_node(&c).await;
    set_reservation(&c, idle.id, Some("c1")).await;
    let others = add_node(&c).await;
    set_reservation(&c, others.id, Some("c2")).await;
    let busy = add_node(&c).await;
    let (finish, finished) = tokio::sync::oneshot::channel();
    let work = hold(&c, busy.id, finished);
    wait_for_holder(&c, busy.id, Some("c1")).await;

    assert_eq!(sweep(&c).await, 1);
    assert_eq!(reservation(&c, idle.id).await, None);
    assert_eq!(reservation(&c, busy.id).await.as_deref(), Some("c1"));
    assert_eq!(reservation(&c, others.id).await.as_deref(), Some("c2"));

    finish.send(()).unwrap();
    work.await.unwrap().unwrap();
    assert_eq!(reservation(&c, busy.id).await, None);
    assert!(c.working.busy().is_empty());
}

#[tokio::test]
async fn lock_io_work_that_is_cancelled_or_panics_releases_its_lock() {
    let db = Database::fresh();
    let c = Arc::new(conductor_on(&db.url, "c1", QUICK_RETRIES));
    let node = add_node(&c).await;
    let (_finish, finished) = tokio::sync::oneshot::channel::<()>();
    let work = hold(&c, node.id, finished);
    wait_for_holder(&c, node.id, Some("c1")).await;
    work.abort();
    wait_for_holder(&c, node.id, None).await;

    let panicking = tokio::spawn({
        let c = c.clone();
        async move {
            c.with_node_lock_io(node.id, "test", async {
                panic!("lock-io work panicked");
                #[allow(unreachable_code)]
                Ok::<(), Error>(())
            })
            .await
        }
    });
    assert!(panicking.await.unwrap_err().is_panic());
    wait_for_holder(&c, node.id, None).await;
    // The node leaves the registry just after its release, in the background.
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
    while !c.working.busy().is_empty() {
        assert!(std::time::Instant::now() < deadline, "still registered");
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
}

#[tokio::test]
async fn a_lock_this_conductor_left_behind_is_taken_back_by_its_next_work() {
    let db = Database::fresh();
    let c = Arc::new(conductor_on(&db.url, "c1", QUICK_RETRIES));
    let node = add_node(&c).await;
    // Its release was lost with a database connection; no work of c1 is on the node.
    set_reservation(&c, node.id, Some("c1")).await;
    rename(&c, node.id, "ok").await.unwrap();
    assert_eq!(
        name(&c, node.id).await,
        Some(format!("renamed-{}", node.id))
    );
    assert_eq!(reservation(&c, node.id).await, None);

    // While work of c1 holds the lock, other work of c1 waits for it like anyone.
    let (finish, finished) = tokio::sync::oneshot::channel();
    let work = hold(&c, node.id, finished);
    wait_for_holder(&c, node.id, Some("c1")).await;
    let err = rename(&c, node.id, "ok").await.unwrap_err();
    assert!(
        matches!(&err, Error::NodeLocked { holder, .. } if holder == "c1"),
        "{err:?}"
    );
    finish.send(()).unwrap();
    work.await.unwrap().unwrap();
    assert_eq!(reservation(&c, node.id).await, None);
}

/// A caller may stop waiting at any moment of taking a lock, including after the
/// database took it and before the guard reached the caller: no moment leaves it held.
#[tokio::test]
async fn an_acquire_abandoned_at_any_moment_leaves_no_lock() {
    let db = Database::fresh();
    let c = Arc::new(conductor_on(&db.url, "c1", QUICK_RETRIES));
    let node = add_node(&c).await;
    for step in 0..100u64 {
        let patience = std::time::Duration::from_micros(step * 50);
        // Taken in time, the guard is dropped here; too late, the attempt is dropped.
        let _ = tokio::time::timeout(patience, c.acquire(node.id, "test")).await;
        // An abandoned attempt still runs to its end on a database worker (given time
        // here); the node leaves the registry once that attempt, and any release, are
        // done.
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
        while !c.working.busy().is_empty() {
            assert!(std::time::Instant::now() < deadline, "still registered");
            tokio::time::sleep(std::time::Duration::from_micros(200)).await;
        }
        assert_eq!(reservation(&c, node.id).await, None, "after {patience:?}");
    }
}

/// Locked transactions of two conductors on one node, all at once, each reading a
/// counter kept in another row (the name of a second node, so that taking the lock does
/// not write it) and writing what it read plus one: each sees the commit of the one
/// before it, so no increment is lost, and no lock is left.
#[tokio::test]
async fn concurrent_locked_transactions_see_each_others_commits() {
    const EACH: usize = 25;
    let db = Database::fresh();
    let conductors = [
        Arc::new(conductor_on(&db.url, "c1", QUICK_RETRIES)),
        Arc::new(conductor_on(&db.url, "c2", QUICK_RETRIES)),
    ];
    let locked = add_node(&conductors[0]).await.id;
    let counter = add_node(&conductors[0]).await.id;
    let mut increments = tokio::task::JoinSet::new();
    for c in conductors.iter().cycle().take(2 * EACH) {
        let c = c.clone();
        increments.spawn(async move {
            c.with_node_lock(&Context::internal(), locked, "test", move |conn, _| {
                let count = nodes::get_by_id(conn, counter)?
                    .name
                    .map_or(0, |n| n.parse::<usize>().unwrap());
                use common::db::schema::nodes::dsl;
                diesel::update(dsl::nodes.find(counter))
                    .set(dsl::name.eq((count + 1).to_string()))
                    .execute(conn)?;
                Ok(())
            })
            .await
        });
    }
    while let Some(done) = increments.join_next().await {
        done.unwrap().unwrap();
    }
    let c = &conductors[0];
    assert_eq!(name(c, counter).await, Some((2 * EACH).to_string()));
    assert_eq!(reservation(c, locked).await, None);
}

/// The lock's claim and release, and a row's update, are prepared once by a connection
/// and then reused (`common::db::update`): diesel reports each statement it adds to a
/// connection's cache, and none of these is added twice.
#[tokio::test]
async fn a_connection_prepares_the_lock_and_update_statements_once() {
    use diesel::connection::{Instrumentation, InstrumentationEvent};
    use std::sync::Mutex;

    let db = Database::fresh();
    let c = conductor_on(&db.url, "c1", &[]);
    let node = add_node(&c).await;
    let id = node.id;
    let cached = Arc::new(Mutex::new(Vec::<String>::new()));
    let seen = Arc::clone(&cached);
    c.db.run(move |conn| {
        conn.set_instrumentation(move |event: InstrumentationEvent<'_>| {
            if let InstrumentationEvent::CacheQuery { sql, .. } = event {
                seen.lock().unwrap().push(sql.to_string());
            }
        });
        let mut renamed = node.clone();
        for round in 0..3 {
            assert!(common::db::reservation::claim(conn, id, "c1")?);
            renamed.name = Some(format!("round-{round}"));
            renamed = nodes::update(conn, &renamed)?;
            common::db::reservation::release(conn, id, "c1")?;
        }
        // The pool keeps the connection: leave it as it was.
        conn.set_instrumentation(None::<Box<dyn Instrumentation>>);
        Ok(())
    })
    .await
    .unwrap();
    let updates: Vec<String> = cached
        .lock()
        .unwrap()
        .iter()
        .filter(|sql| sql.starts_with("UPDATE"))
        .cloned()
        .collect();
    assert_eq!(
        updates.len(),
        3,
        "claim, row and release, once each: {updates:#?}"
    );
    assert_eq!(reservation(&c, id).await, None);
    assert_eq!(name(&c, id).await.as_deref(), Some("round-2"));
}

/// Work on a free node holds the node's row for the length of its transaction instead
/// of writing a reservation there and clearing it again before the commit (nobody could
/// see it): the node's row is not written at all by work that does not change the node.
#[tokio::test]
async fn work_on_a_free_node_does_not_write_the_node_row() {
    let db = Database::fresh();
    // One connection, so that the one the statements are recorded on runs the work.
    let c = conductor_with_pool(&db.url, "c1", &[], 1);
    let node = add_node(&c).await;
    let id = node.id;
    let statements = record_statements(&c).await;
    c.with_node_lock(&Context::internal(), id, "test", move |_, node| {
        assert_eq!(node.reservation.as_deref(), Some("c1"), "work runs locked");
        Ok(())
    })
    .await
    .unwrap();
    let statements = statements.lock().unwrap().clone();
    assert!(
        statements.iter().any(|sql| sql.contains("nodes")),
        "the work ran on the recorded connection: {statements:#?}"
    );
    let writes: Vec<&String> = statements
        .iter()
        .filter(|sql| sql.trim_start().to_uppercase().starts_with("UPDATE"))
        .collect();
    assert!(writes.is_empty(), "{writes:#?}");
    assert_eq!(reservation(&c, id).await, None);
}
