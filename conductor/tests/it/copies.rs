//! Two copies of one request (RabbitMQ redelivers a request whose conductor lost its
//! broker connection, while that conductor still works on it) change the database at
//! most once, and a copy that cannot tell whether its request was applied does not
//! apply it. On the database `TEST_DATABASE` names (see `support::database`).

use std::sync::Arc;
use std::time::Duration;

use common::Error;
use common::child::New;
use common::db::{nodes, volume_connectors};
use common::model::new_uuid;
use common::model::node::Node;
use common::model::volume::ConnectorFields;
use common::rpc::{Call, Handler, Reply, Request, Response};
use conductor::Conductor;
use serde_json::{Value, json};

use crate::support;
use support::database::Database;
use support::fixtures::{add_node, conductor_on, request, set_reservation};

/// A busy lock is retried often and long: the copy that waits must get it in the end.
const PATIENT: &[(&str, &str)] = &[
    ("SANLINK_NODE_LOCKED_RETRY_INTERVAL", "0.05"),
    ("SANLINK_NODE_LOCKED_RETRY_ATTEMPTS", "200"),
];

/// Two conductors, `c1` and `c2`, on one fresh database.
fn pair(db: &Database) -> (Arc<Conductor>, Arc<Conductor>) {
    (
        Arc::new(conductor_on(&db.url, "c1", PATIENT)),
        Arc::new(conductor_on(&db.url, "c2", PATIENT)),
    )
}

/// A node whose `extra.log` is an empty list, to append to.
async fn node_with_log(c: &Conductor) -> Node {
    let mut node = add_node(c).await;
    node.extra.insert("log".into(), json!([]));
    c.db.run(move |conn| nodes::update(conn, &node))
        .await
        .unwrap()
}

/// Appends `entry` to the node's `extra.log`: applied twice, it shows twice.
fn append(node: &Node, entry: &str) -> Call {
    let patch = serde_json::from_value(json!([
        {"op": "add", "path": "/extra/log/-", "value": entry}
    ]))
    .unwrap();
    Call::UpdateNode {
        uuid: node.uuid.clone(),
        patch,
    }
}

async fn log(c: &Conductor, id: i64) -> Value {
    c.db.run(move |conn| Ok(nodes::get_by_id(conn, id)?.extra["log"].clone()))
        .await
        .unwrap()
}

/// Handles `request` on both conductors at once.
async fn both(c1: &Arc<Conductor>, c2: &Arc<Conductor>, request: &Request) -> [Response; 2] {
    let first = tokio::spawn({
        let (c, request) = (c1.clone(), request.clone());
        async move { c.handle(request).await }
    });
    let second = tokio::spawn({
        let (c, request) = (c2.clone(), request.clone());
        async move { c.handle(request).await }
    });
    [first.await.unwrap(), second.await.unwrap()]
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn two_copies_waiting_for_one_node_lock_apply_the_request_once() {
    let db = Database::fresh();
    let (c1, c2) = pair(&db);
    let node = node_with_log(&c1).await;
    // The node is busy, so both copies get past "already applied?" (nothing is yet)
    // and wait for its lock, as a redelivered copy does while the first one waits.
    set_reservation(&c1, node.id, Some("elsewhere")).await;
    let request = request("req-copies", append(&node, "once"));
    let copies = tokio::spawn({
        let (c1, c2, request) = (c1.clone(), c2.clone(), request.clone());
        async move { both(&c1, &c2, &request).await }
    });
    // Time for both copies to reach the lock. On a slow machine one may come later
    // and find the request recorded before it: the test then proves less, never fails.
    tokio::time::sleep(Duration::from_millis(500)).await;
    set_reservation(&c1, node.id, None).await;
    let [first, second] = copies.await.unwrap();

    assert_eq!(log(&c1, node.id).await, json!(["once"]));
    for reply in [&first, &second] {
        match reply {
            Ok(Reply::Node(n)) => assert_eq!(n.extra["log"], json!(["once"])),
            other => panic!("each copy answers with the node as changed once: {other:?}"),
        }
    }
    // And a later copy is answered from the state, not applied.
    c2.handle(request).await.unwrap();
    assert_eq!(log(&c1, node.id).await, json!(["once"]));
}

fn connector(node: &Node) -> New<ConnectorFields> {
    let fields = ConnectorFields {
        node_uuid: node.uuid.clone(),
        connector_type: "iqn".into(),
        connector_id: format!("iqn.2024-01.org.example:{}", new_uuid()),
        extra: Default::default(),
    };
    New {
        uuid: new_uuid(),
        fields,
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn two_copies_of_a_create_at_once_both_answer_the_one_object() {
    let db = Database::fresh();
    let (c1, c2) = pair(&db);
    let node = add_node(&c1).await;
    let connector = connector(&node);
    let request = request(
        "req-create",
        Call::CreateVolumeConnector {
            connector: connector.clone(),
        },
    );
    let [first, second] = both(&c1, &c2, &request).await;
    let first = first.expect("the first copy creates the connector");
    assert_eq!(
        second,
        Ok(first),
        "the second answers with what the first made"
    );
    let id = node.id;
    let stored = c1
        .db
        .run(move |conn| volume_connectors::list_for_node(conn, id))
        .await
        .unwrap();
    assert_eq!(stored.len(), 1, "{stored:?}");
}

#[tokio::test]
async fn a_copy_that_cannot_tell_whether_its_request_was_applied_does_not_apply_it() {
    let db = Database::fresh();
    let c = conductor_on(&db.url, "c1", PATIENT);
    let node = node_with_log(&c).await;
    let request = request("req-unsure", append(&node, "once"));
    c.handle(request.clone()).await.unwrap();

    refused_while_records_unreadable(&db, &c, &request).await;
    assert_eq!(log(&c, node.id).await, json!(["once"]));

    // Once the database answers again, the copy is answered from the state.
    let answered = c.handle(request).await;
    assert!(matches!(answered, Ok(Reply::Node(_))), "{answered:?}");
    assert_eq!(log(&c, node.id).await, json!(["once"]));
}

/// A create that cannot record its request (on PostgreSQL, in the statement that
/// inserts the connector) is refused as retryable and stores nothing; once the records
/// can be written again, the request is applied.
#[tokio::test]
async fn a_create_that_cannot_record_its_request_stores_nothing() {
    let db = Database::fresh();
    let c = conductor_on(&db.url, "c1", PATIENT);
    let node = add_node(&c).await;
    let create = Call::CreateVolumeConnector {
        connector: connector(&node),
    };
    let request = request("req-unrecorded", create);
    let id = node.id;
    let stored = || async {
        c.db.run(move |conn| volume_connectors::list_for_node(conn, id))
            .await
            .unwrap()
    };
    refused_while_records_unreadable(&db, &c, &request).await;
    assert_eq!(stored().await, vec![]);

    let answered = c.handle(request).await;
    assert!(matches!(answered, Ok(Reply::Connector(_))), "{answered:?}");
    assert_eq!(stored().await.len(), 1);
}

/// A create redelivered after its connector was deleted creates nothing: the copy is
/// told apart by the request's record, not by the connector's UUID, which is free again,
/// and is answered from the state, where the connector is gone.
#[tokio::test]
async fn a_create_redelivered_after_its_connector_was_deleted_creates_nothing() {
    let db = Database::fresh();
    let c = conductor_on(&db.url, "c1", &[]);
    let node = add_node(&c).await;
    let new = connector(&node);
    let uuid = new.uuid.clone();
    let create = request("req-made", Call::CreateVolumeConnector { connector: new });
    c.handle(create.clone()).await.unwrap();
    let destroy = Call::DestroyVolumeConnector { uuid: uuid.clone() };
    c.handle(request("req-gone", destroy)).await.unwrap();

    let copy = c.handle(create).await;
    assert_eq!(copy, Err(volume_connectors::not_found(&uuid)));
    let id = node.id;
    let stored =
        c.db.run(move |conn| volume_connectors::list_for_node(conn, id))
            .await
            .unwrap();
    assert_eq!(stored, vec![]);
}

/// The same for a change whose planning read checks for an earlier copy (a connector's
/// update): a check that fails refuses the copy, and nothing is changed.
#[tokio::test]
async fn a_patch_copy_that_cannot_tell_whether_it_was_applied_does_not_apply_it() {
    let db = Database::fresh();
    let c = conductor_on(&db.url, "c1", PATIENT);
    let node = add_node(&c).await;
    let new = connector(&node);
    let uuid = new.uuid.clone();
    c.handle(request(
        "req-made",
        Call::CreateVolumeConnector { connector: new },
    ))
    .await
    .unwrap();
    let ops = serde_json::from_value(json!([{"op": "add", "path": "/extra/n", "value": 1}]));
    let patch = Call::UpdateVolumeConnector {
        uuid: uuid.clone(),
        patch: ops.unwrap(),
    };
    let request = request("req-patch", patch);
    c.handle(request.clone()).await.unwrap();
    refused_while_records_unreadable(&db, &c, &request).await;
    // A second application would have failed ("/extra/n" exists) or changed nothing
    // visible, so the answer tells: the copy is answered from the state.
    let answered = c.handle(request).await;
    assert!(matches!(answered, Ok(Reply::Connector(_))), "{answered:?}");
    let stored =
        c.db.run(move |conn| volume_connectors::get_by_uuid(conn, &uuid))
            .await
            .unwrap();
    assert_eq!(Value::Object(stored.extra), json!({"n": 1}));
}

/// Handles a copy of `request` while the request records cannot be read (the check for
/// an earlier copy fails with a database error): it must be refused as retryable.
async fn refused_while_records_unreadable(db: &Database, c: &Conductor, request: &Request) {
    db.execute("ALTER TABLE rpc_requests RENAME TO rpc_requests_away");
    let unsure = c.handle(request.clone()).await;
    db.execute("ALTER TABLE rpc_requests_away RENAME TO rpc_requests");
    assert!(
        matches!(unsure, Err(Error::Unavailable(_))),
        "a retryable refusal: {unsure:?}"
    );
}
