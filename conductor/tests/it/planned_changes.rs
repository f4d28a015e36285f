//! A connector's update or deletion is decided on the row read to find its node, before
//! the node's lock, and written on condition that the row is still as read: an unchanged
//! row is read once, and a row changed in between is decided again as it is under the
//! lock, nothing of the other change lost. On the database `TEST_DATABASE` names (see
//! `support::database`).

use std::sync::Arc;
use std::sync::mpsc;

use common::Error;
use common::child::New;
use common::db::{Backend, Db, volume_connectors};
use common::model::node::Node;
use common::model::volume::{ConnectorFields, VolumeConnector};
use common::model::{new_uuid, now};
use common::rpc::{Call, Handler, Reply, Response};
use conductor::Conductor;
use diesel::connection::SimpleConnection;
use serde_json::json;

use crate::support;
use support::database::Database;
use support::fixtures::{Statements, add_node, conductor_with_pool, record_statements, request};

/// A conductor with one database connection, whose statements are recorded.
async fn recorded_conductor(db: &Database) -> (Arc<Conductor>, Statements) {
    let c = conductor_with_pool(&db.url, "c1", &[], 1);
    let statements = record_statements(&c).await;
    (Arc::new(c), statements)
}

/// The reads of connector rows among `statements`.
fn connector_reads(statements: &Statements) -> usize {
    statements
        .lock()
        .unwrap()
        .iter()
        .filter(|sql| sql.trim_start().to_uppercase().starts_with("SELECT"))
        .filter(|sql| sql.contains("volume_connectors"))
        .count()
}

async fn create_connector(c: &Conductor, node: &Node) -> VolumeConnector {
    let fields = ConnectorFields {
        node_uuid: node.uuid.clone(),
        connector_type: "iqn".into(),
        connector_id: format!("iqn.2024-01.org.example:{}", new_uuid()),
        extra: Default::default(),
    };
    let new = New {
        uuid: new_uuid(),
        fields,
    };
    let call = Call::CreateVolumeConnector { connector: new };
    match c.handle(request(&new_uuid(), call)).await {
        Ok(Reply::Connector(connector)) => connector,
        other => panic!("{other:?}"),
    }
}

fn add_extra(connector: &VolumeConnector, key: &str) -> Call {
    let patch = json!([{"op": "add", "path": format!("/extra/{key}"), "value": true}]);
    Call::UpdateVolumeConnector {
        uuid: connector.uuid.clone(),
        patch: serde_json::from_value(patch).unwrap(),
    }
}

async fn stored(c: &Conductor, uuid: &str) -> Result<VolumeConnector, Error> {
    let uuid = uuid.to_string();
    c.db.run(move |conn| volume_connectors::get_by_uuid(conn, &uuid))
        .await
}

#[tokio::test]
async fn an_unchanged_connector_is_read_once_to_update_and_once_to_delete() {
    let db = Database::fresh();
    let (c, statements) = recorded_conductor(&db).await;
    let node = add_node(&c).await;
    let connector = create_connector(&c, &node).await;

    statements.lock().unwrap().clear();
    let updated = c
        .handle(request("req-update", add_extra(&connector, "ours")))
        .await;
    match updated {
        Ok(Reply::Connector(updated)) => assert_eq!(updated.extra["ours"], json!(true)),
        other => panic!("{other:?}"),
    }
    assert_eq!(connector_reads(&statements), 1, "{statements:#?}");
    assert_eq!(
        stored(&c, &connector.uuid).await.unwrap().extra["ours"],
        json!(true)
    );

    statements.lock().unwrap().clear();
    let destroy = Call::DestroyVolumeConnector {
        uuid: connector.uuid.clone(),
    };
    assert_eq!(
        c.handle(request("req-delete", destroy)).await,
        Ok(Reply::Done)
    );
    assert_eq!(connector_reads(&statements), 1, "{statements:#?}");
    assert!(matches!(
        stored(&c, &connector.uuid).await,
        Err(Error::NotFound(_))
    ));
}

/// Another writer's transaction, on a connection of its own, that holds node `node`
/// (its row, or SQLite's write lock), so that a conductor's change of the node's
/// connector plans and then waits for it. On `go` it runs its SQL, commits and ends.
struct Holder {
    go: mpsc::Sender<String>,
    done: std::thread::JoinHandle<()>,
}

impl Holder {
    fn hold(db: &Database, node: &Node) -> Holder {
        let writer = Db::open(&db.url, 1).unwrap();
        let begin = match writer.backend() {
            Backend::Sqlite => "BEGIN IMMEDIATE",
            _ => "BEGIN",
        };
        let lock = format!(
            "{begin}; UPDATE nodes SET name = name WHERE id = {}",
            node.id
        );
        let (held, is_held) = mpsc::channel();
        let (go, on_go) = mpsc::channel::<String>();
        let done = std::thread::spawn(move || {
            writer
                .with_conn(|conn| {
                    conn.batch_execute(&lock)?;
                    held.send(()).unwrap();
                    let sql = on_go.recv().unwrap();
                    conn.batch_execute(&format!("{sql}; COMMIT"))?;
                    Ok(())
                })
                .unwrap()
        });
        is_held.recv().unwrap();
        Holder { go, done }
    }

    fn commit_after(self, sql: String) {
        self.go.send(sql).unwrap();
        self.done.join().unwrap();
    }
}

/// Waits until the conductor has read the connector to plan its change: the change
/// then starts from the row as it was.
async fn planned(statements: &Statements) {
    for _ in 0..500 {
        if connector_reads(statements) > 0 {
            return;
        }
        tokio::time::sleep(std::time::Duration::from_millis(10)).await;
    }
    panic!("the change was never planned: {statements:#?}");
}

/// SQL that writes the connector as the service writes a row: with a new `updated_at`.
fn written_by_another(connector: &VolumeConnector, set: &str) -> String {
    let at = now().format("%Y-%m-%d %H:%M:%S%.6f");
    format!(
        "UPDATE volume_connectors SET {set}, updated_at = '{at}' WHERE uuid = '{}'",
        connector.uuid
    )
}

/// Runs `call` on `c` while `holder` holds the connector's node; `sql` is committed
/// once the call has planned. The call's answer.
async fn raced(
    c: &Arc<Conductor>,
    statements: &Statements,
    holder: Holder,
    call: Call,
    sql: String,
) -> Response {
    statements.lock().unwrap().clear();
    let change = tokio::spawn({
        let c = Arc::clone(c);
        async move { c.handle(request("req-raced", call)).await }
    });
    planned(statements).await;
    holder.commit_after(sql);
    change.await.unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_update_planned_on_a_row_changed_since_is_applied_to_the_row_as_it_is() {
    let db = Database::fresh();
    let (c, statements) = recorded_conductor(&db).await;
    let node = add_node(&c).await;
    let connector = create_connector(&c, &node).await;

    let holder = Holder::hold(&db, &node);
    let theirs = written_by_another(&connector, r#"extra = '{"theirs": true}'"#);
    let answer = raced(
        &c,
        &statements,
        holder,
        add_extra(&connector, "ours"),
        theirs,
    )
    .await;

    let both = json!({"theirs": true, "ours": true});
    match answer {
        Ok(Reply::Connector(updated)) => assert_eq!(json!(updated.extra), both),
        other => panic!("{other:?}"),
    }
    assert_eq!(connector_reads(&statements), 2, "read again under the lock");
    let now_stored = stored(&c, &connector.uuid).await.unwrap();
    assert_eq!(json!(now_stored.extra), both, "the other change is kept");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_deletion_planned_on_a_connector_moved_since_is_refused_and_deletes_nothing() {
    let db = Database::fresh();
    let (c, statements) = recorded_conductor(&db).await;
    let node = add_node(&c).await;
    let elsewhere = add_node(&c).await;
    let connector = create_connector(&c, &node).await;

    let holder = Holder::hold(&db, &node);
    let moved = written_by_another(&connector, &format!("node_id = {}", elsewhere.id));
    let destroy = Call::DestroyVolumeConnector {
        uuid: connector.uuid.clone(),
    };
    let answer = raced(&c, &statements, holder, destroy, moved).await;

    assert!(
        matches!(&answer, Err(Error::Conflict(m)) if m.contains("changed concurrently")),
        "{answer:?}"
    );
    let now_stored = stored(&c, &connector.uuid).await.unwrap();
    assert_eq!(
        now_stored.node_id, elsewhere.id,
        "still there, on its new node"
    );
}
