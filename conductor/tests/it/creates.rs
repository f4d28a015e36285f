//! A create answers with the object as stored: the row it wrote, with the id the
//! database gave it, reads back the same. On the database `TEST_DATABASE` names.

use common::Error;
use common::child::New;
use common::db::{Backend, volume_connectors, volume_targets};
use common::model::new_uuid;
use common::model::volume::{ConnectorFields, TargetFields};
use common::rpc::{Call, Caller, Handler, Reply, Request, RequestContext};
use serde_json::json;

use crate::support;
use support::database::Database;
use support::fixtures::{add_node, conductor_on, conductor_with_pool, record_statements};

fn request(call: Call) -> Request {
    let context = RequestContext::new(new_uuid(), Caller::default());
    Request::new(context, std::time::Duration::from_secs(30), call)
}

fn object(value: serde_json::Value) -> common::model::JsonObject {
    value.as_object().cloned().unwrap()
}

#[tokio::test]
async fn a_created_connector_and_target_are_answered_as_they_read_back() {
    let db = Database::fresh();
    let c = conductor_on(&db.url, "c1", &[]);
    let node = add_node(&c).await;
    // A second node first, so that ids and the node's own id differ.
    add_node(&c).await;
    let extra = object(json!({"z": [1, 2.5, null], "a": {"ü": "ß"}, "m": true}));
    let connector = New {
        uuid: new_uuid(),
        fields: ConnectorFields {
            node_uuid: node.uuid.clone(),
            connector_type: "iqn".into(),
            connector_id: "iqn.2024-01.org.example:created".into(),
            extra: extra.clone(),
        },
    };
    let target = New {
        uuid: new_uuid(),
        fields: TargetFields {
            node_uuid: node.uuid.clone(),
            volume_type: "iscsi".into(),
            boot_index: 0,
            volume_id: new_uuid(),
            properties: object(json!({"target_lun": 1, "auth_password": "x"})),
            extra,
        },
    };
    let Ok(Reply::Connector(answered)) = c
        .handle(request(Call::CreateVolumeConnector { connector }))
        .await
    else {
        panic!("the connector is created");
    };
    let Ok(Reply::Target(answered_target)) =
        c.handle(request(Call::CreateVolumeTarget { target })).await
    else {
        panic!("the target is created");
    };
    let (uuid, target_uuid) = (answered.uuid.clone(), answered_target.uuid.clone());
    let (stored, stored_target) =
        c.db.run(move |conn| {
            Ok((
                volume_connectors::get_by_uuid(conn, &uuid)?,
                volume_targets::get_by_uuid(conn, &target_uuid)?,
            ))
        })
        .await
        .unwrap();
    assert!(answered.id > 0, "{answered:?}");
    assert_eq!(answered.node_id, node.id);
    assert_eq!(answered, stored);
    assert_eq!(answered_target, stored_target);
}

fn new_connector(node_uuid: &str) -> Call {
    let connector = New {
        uuid: new_uuid(),
        fields: ConnectorFields {
            node_uuid: node_uuid.to_string(),
            connector_type: "iqn".into(),
            connector_id: format!("iqn.2024-01.org.example:{}", new_uuid()),
            extra: Default::default(),
        },
    };
    Call::CreateVolumeConnector { connector }
}

/// The statement that inserts a connector finds its node: besides the request's record,
/// a create is one statement (MySQL, which has no `RETURNING`, reads the node before and
/// the row after). On PostgreSQL that statement also records the request, and is its own
/// transaction: one statement in all. A node that does not exist, or another spelling of
/// its UUID, is refused in Ironic's words, and nothing is stored.
#[tokio::test]
async fn a_connector_is_inserted_by_the_statement_that_finds_its_node() {
    let db = Database::fresh();
    let c = conductor_with_pool(&db.url, "c1", &[], 1);
    let statements = record_statements(&c).await;
    let node = add_node(&c).await;

    statements.lock().unwrap().clear();
    let Ok(Reply::Connector(created)) = c.handle(request(new_connector(&node.uuid))).await else {
        panic!("the connector is created");
    };
    assert_eq!(created.node_id, node.id);
    let all = statements.lock().unwrap().clone();
    let work: Vec<&String> = all
        .iter()
        .filter(|sql| sql.contains("volume_connectors") || sql.contains("nodes"))
        .collect();
    let records = all
        .iter()
        .filter(|sql| sql.contains("rpc_requests"))
        .count();
    match c.db.backend() {
        Backend::Mysql => assert_eq!(work.len(), 3, "{all:#?}"),
        Backend::Sqlite => {
            assert_eq!(work.len(), 1, "{all:#?}");
            assert!(work[0].trim_start().starts_with("INSERT"), "{all:#?}");
            assert_eq!(records, 1, "{all:#?}");
        }
        Backend::Postgres => {
            assert_eq!(all.len(), 1, "one statement, no BEGIN or COMMIT: {all:#?}");
            let sql = &all[0];
            assert!(sql.trim_start().starts_with("WITH"), "{all:#?}");
            assert!(sql.contains("INSERT INTO \"volume_connectors\""), "{sql}");
            assert!(sql.contains("INSERT INTO \"rpc_requests\""), "{sql}");
        }
    }

    for missing in [new_uuid(), node.uuid.to_uppercase()] {
        assert_eq!(
            c.handle(request(new_connector(&missing))).await,
            Err(Error::invalid(format!(
                "Invalid input for field/attribute node_uuid. Value: '{missing}'. "
            )))
        );
    }
    let node_id = node.id;
    let stored =
        c.db.run(move |conn| volume_connectors::list_for_node(conn, node_id))
            .await
            .unwrap();
    assert_eq!(stored, vec![created]);
}
