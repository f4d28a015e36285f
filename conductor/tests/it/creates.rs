//! A create answers with the object as stored: the row it wrote, with the id the
//! database gave it, reads back the same. On the database `TEST_DATABASE` names.

use common::child::New;
use common::db::{volume_connectors, volume_targets};
use common::model::new_uuid;
use common::model::volume::{ConnectorFields, TargetFields};
use common::rpc::{Call, Caller, Handler, Reply, Request, RequestContext};
use serde_json::json;

use crate::support;
use support::database::Database;
use support::fixtures::{add_node, conductor_on};

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
