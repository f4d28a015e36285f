//! Node-locked work: the lock is taken and released around the transaction, whatever
//! the work does, and a busy lock leaves the work undone.

use common::Error;
use common::db::nodes;
use conductor::Conductor;
use diesel::prelude::*;

mod support;
use support::fixtures::{add_node, conductor};

/// A busy lock is retried briefly: the tests need only its outcome.
const QUICK_RETRIES: &[(&str, &str)] = &[("SANLINK_NODE_LOCKED_RETRY_INTERVAL", "0.01")];

async fn reservation(c: &Conductor, id: i64) -> Option<String> {
    c.db.run(move |conn| Ok(nodes::get_by_id(conn, id)?.reservation))
        .await
        .unwrap()
}

async fn set_reservation(c: &Conductor, id: i64, holder: Option<&str>) {
    let holder = holder.map(str::to_string);
    c.db.run(move |conn| {
        use common::db::schema::nodes::dsl;
        diesel::update(dsl::nodes.find(id))
            .set(dsl::reservation.eq(holder))
            .execute(conn)?;
        Ok(())
    })
    .await
    .unwrap();
}

/// Renames the node inside the locked transaction, then ends as `end` says.
async fn rename(c: &Conductor, id: i64, end: &'static str) -> Result<(), Error> {
    c.with_node_lock(id, "test", move |conn, node| {
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
