//! A connector's update or deletion is decided on the row read to find its node, and
//! written on condition that the row is still as read: an unchanged row is read once. A
//! row changed by another writer that held the node meanwhile is decided again as it is
//! under the lock, nothing of the other change lost. On MySQL the read comes before the
//! lock; on PostgreSQL the read holds the node, and one that waited for the node may have
//! found the row as it was before the wait; on SQLite it reads under the database's
//! write lock, and finds the row as the other writer left it. On the database
//! `TEST_DATABASE` names (see `support::database`).

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

/// Whether `sql` is a statement of kind `verb` (`SELECT`, `INSERT`, ...).
fn is(sql: &str, verb: &str) -> bool {
    sql.trim_start().to_uppercase().starts_with(verb)
}

/// The reads of connector rows among `statements`.
fn connector_reads(statements: &Statements) -> usize {
    statements
        .lock()
        .unwrap()
        .iter()
        .filter(|sql| is(sql, "SELECT") && sql.contains("volume_connectors"))
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

/// The `SELECT`s among `statements`, before and after the first write (the request's
/// record, which a locked transaction writes first): the reads that find and lock the
/// node, and any read after.
fn reads_around_writing(statements: &Statements) -> (Vec<String>, Vec<String>) {
    let statements = statements.lock().unwrap();
    let first_write = statements
        .iter()
        .position(|sql| is(sql, "INSERT"))
        .unwrap_or(statements.len());
    let (before, after) = statements.split_at(first_write);
    let selects = |all: &[String]| -> Vec<String> {
        all.iter()
            .filter(|sql| is(sql, "SELECT"))
            .cloned()
            .collect()
    };
    (selects(before), selects(after))
}

/// Where a read can hold the node it finds (PostgreSQL, SQLite: see
/// `reservation::holds_as_it_reads`), a change's one read finds what it changes and
/// holds the node: no statement of its own looks the node up or locks it. MySQL reads,
/// then holds the node by its id. A node's own update, by UUID or by name, is the same,
/// and its request's record is not read first (the locked transaction's record tells a
/// copy). Nothing is read back after the change is written.
#[tokio::test]
async fn a_change_finds_and_holds_its_node_in_one_statement() {
    let db = Database::fresh();
    let (c, statements) = recorded_conductor(&db).await;
    let node = add_node(&c).await;
    let connector = create_connector(&c, &node).await;
    let one_read = db.backend() != Backend::Mysql;
    let check = |what: &str, reads: &[&str]| {
        let (selects, read_back) = reads_around_writing(&statements);
        assert!(
            read_back.is_empty(),
            "{what} reads after writing: {read_back:#?}"
        );
        if !one_read {
            assert_eq!(selects.len(), 2, "{what}: {selects:#?}");
            return;
        }
        assert_eq!(selects.len(), 1, "{what}: {selects:#?}");
        for table in reads {
            assert!(
                selects[0].contains(table),
                "{what} reads {table}: {selects:#?}"
            );
        }
        if db.backend() == Backend::Postgres {
            let held = r#"FOR NO KEY UPDATE OF "nodes""#;
            assert!(selects[0].contains(held), "{what}: {selects:#?}");
        }
    };

    statements.lock().unwrap().clear();
    let updated = c.handle(request("req-u", add_extra(&connector, "a"))).await;
    assert!(matches!(updated, Ok(Reply::Connector(_))), "{updated:?}");
    check("a connector's update", &["volume_connectors", "nodes"]);

    let name = format!("named-{}", node.id);
    for (id, ident, op) in [("req-n1", &node.uuid, "add"), ("req-n2", &name, "replace")] {
        statements.lock().unwrap().clear();
        let patch = json!([{"op": op, "path": "/name", "value": name}]);
        let call = Call::UpdateNode {
            uuid: ident.clone(),
            patch: serde_json::from_value(patch).unwrap(),
        };
        let updated = c.handle(request(id, call)).await;
        assert!(
            matches!(&updated, Ok(Reply::Node(n)) if n.name.as_ref() == Some(&name)),
            "{updated:?}"
        );
        check(&format!("a node's update by {ident}"), &["nodes"]);
    }

    statements.lock().unwrap().clear();
    let destroy = Call::DestroyVolumeConnector {
        uuid: connector.uuid.clone(),
    };
    assert_eq!(c.handle(request("req-d", destroy)).await, Ok(Reply::Done));
    check("a connector's deletion", &["volume_connectors", "nodes"]);
}

/// Another writer's transaction, on a connection of its own, that holds node `node`
/// (its row, or SQLite's write lock), so that a conductor's change of the node's
/// connector waits for it ([`read_before_commit`] says when the change has read the
/// connector). On `go` it runs its SQL, commits and ends.
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

/// Waits until the conductor's change has read the connector as it was before `holder`
/// commits: on MySQL, until the read before the lock is done; on PostgreSQL, until the
/// read that holds the node waits for the node's row. On SQLite nothing is waited for:
/// the change's transaction waits for the write lock before it reads.
async fn read_before_commit(db: &Database, statements: &Statements) {
    let read = || match db.backend() {
        Backend::Sqlite => true,
        Backend::Mysql => connector_reads(statements) > 0,
        Backend::Postgres => waiting_for_a_lock(db) > 0,
    };
    for _ in 0..500 {
        if read() {
            return;
        }
        tokio::time::sleep(std::time::Duration::from_millis(10)).await;
    }
    panic!("the change never read the connector: {statements:#?}");
}

/// The PostgreSQL sessions on `db` that wait for a lock.
fn waiting_for_a_lock(db: &Database) -> i64 {
    use diesel::RunQueryDsl;
    let sql = "(SELECT count(*) FROM pg_stat_activity \
               WHERE wait_event_type = 'Lock' AND datname = current_database())";
    let count = diesel::dsl::sql::<diesel::sql_types::BigInt>(sql);
    Db::open(&db.url, 1)
        .unwrap()
        .with_conn(|conn| Ok(diesel::select(count).get_result(conn)?))
        .unwrap()
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
/// once the call has read the connector ([`read_before_commit`]). The call's answer.
async fn raced(
    db: &Database,
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
    read_before_commit(db, statements).await;
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
        &db,
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
    // Read again under the lock where the first read found the row as it was.
    let reads = if db.backend() == Backend::Sqlite {
        1
    } else {
        2
    };
    assert_eq!(connector_reads(&statements), reads, "{statements:#?}");
    let now_stored = stored(&c, &connector.uuid).await.unwrap();
    assert_eq!(json!(now_stored.extra), both, "the other change is kept");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_deletion_never_deletes_a_connector_moved_since_its_read() {
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
    let answer = raced(&db, &c, &statements, holder, destroy, moved).await;

    if db.backend() == Backend::Sqlite {
        // Read once moved: deleted on its new node, as a deletion after the move.
        assert_eq!(answer, Ok(Reply::Done));
        assert!(matches!(
            stored(&c, &connector.uuid).await,
            Err(Error::NotFound(_))
        ));
        return;
    }
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
