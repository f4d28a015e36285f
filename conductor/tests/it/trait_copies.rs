//! Trait changes delivered twice (a RabbitMQ redelivery, see `copies.rs`): the second
//! copy is answered as the first was, from the current state, and changes nothing.
//! On the database `TEST_DATABASE` names.

use std::sync::Arc;
use std::time::Duration;

use common::db::nodes;
use common::rpc::{Call, Handler, Reply};
use conductor::Conductor;

use crate::support;
use support::database::Database;
use support::fixtures::{add_node, conductor_on, request, set_reservation};

const PATIENT: &[(&str, &str)] = &[
    ("SANLINK_NODE_LOCKED_RETRY_INTERVAL", "0.05"),
    ("SANLINK_NODE_LOCKED_RETRY_ATTEMPTS", "200"),
];

async fn traits(c: &Conductor, id: i64) -> Vec<String> {
    c.db.run(move |conn| Ok(nodes::get_by_id(conn, id)?.traits))
        .await
        .unwrap()
}

fn add(uuid: &str, names: &[&str], replace: bool) -> Call {
    Call::AddNodeTraits {
        uuid: uuid.into(),
        traits: names.iter().map(|s| s.to_string()).collect(),
        replace,
    }
}

#[tokio::test]
async fn a_redelivered_removal_answers_done_not_404() {
    let db = Database::fresh();
    let c = conductor_on(&db.url, "c1", PATIENT);
    let node = add_node(&c).await;
    c.handle(request(
        "req-set",
        add(&node.uuid, &["CUSTOM_A", "CUSTOM_B"], true),
    ))
    .await
    .unwrap();
    let remove = request(
        "req-remove",
        Call::RemoveNodeTraits {
            uuid: node.uuid.clone(),
            traits: Some(vec!["CUSTOM_A".into()]),
        },
    );
    assert_eq!(c.handle(remove.clone()).await, Ok(Reply::Done));
    assert_eq!(c.handle(remove).await, Ok(Reply::Done));
    assert_eq!(traits(&c, node.id).await, vec!["CUSTOM_B".to_string()]);
    // A new request for the same removal is refused as Ironic refuses it.
    let again = c
        .handle(request(
            "req-remove-2",
            Call::RemoveNodeTraits {
                uuid: node.uuid.clone(),
                traits: Some(vec!["CUSTOM_A".into()]),
            },
        ))
        .await;
    assert!(
        matches!(again, Err(common::Error::NotFound(_))),
        "{again:?}"
    );
}

#[tokio::test]
async fn a_redelivered_addition_does_not_undo_a_later_change() {
    let db = Database::fresh();
    let c = conductor_on(&db.url, "c1", PATIENT);
    let node = add_node(&c).await;
    let first = request("req-add", add(&node.uuid, &["CUSTOM_OLD"], false));
    c.handle(first.clone()).await.unwrap();
    c.handle(request("req-clear", add(&node.uuid, &[], true)))
        .await
        .unwrap();
    // The copy of the first request arrives after the clear: it is not applied again.
    assert_eq!(c.handle(first).await, Ok(Reply::Done));
    assert!(traits(&c, node.id).await.is_empty());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn two_copies_waiting_for_the_lock_apply_a_replacement_once() {
    let db = Database::fresh();
    let c1 = Arc::new(conductor_on(&db.url, "c1", PATIENT));
    let c2 = Arc::new(conductor_on(&db.url, "c2", PATIENT));
    let node = add_node(&c1).await;
    set_reservation(&c1, node.id, Some("elsewhere")).await;
    let replace = request(
        "req-replace",
        add(&node.uuid, &["CUSTOM_X", "CUSTOM_Y"], true),
    );
    let copies: Vec<_> = [c1.clone(), c2.clone()]
        .into_iter()
        .map(|c| {
            let r = replace.clone();
            tokio::spawn(async move { c.handle(r).await })
        })
        .collect();
    tokio::time::sleep(Duration::from_millis(500)).await;
    set_reservation(&c1, node.id, None).await;
    for copy in copies {
        assert_eq!(copy.await.unwrap(), Ok(Reply::Done));
    }
    assert_eq!(
        traits(&c1, node.id).await,
        vec!["CUSTOM_X".to_string(), "CUSTOM_Y".to_string()]
    );
}
