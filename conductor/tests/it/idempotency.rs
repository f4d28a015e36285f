//! A request delivered twice is applied once: the second delivery gets the answer of the
//! first, read from the current state.

use common::child::New;
use common::model::new_uuid;
use common::model::node::Node;
use common::model::volume::ConnectorFields;
use common::rpc::{Call, Handler, Reply};

use crate::support;
use support::fixtures::{add_node, conductor, request};

fn connector(node: &Node, uuid: String, kind: &str, id: &str) -> New<ConnectorFields> {
    let fields = ConnectorFields {
        node_uuid: node.uuid.clone(),
        connector_type: kind.into(),
        connector_id: id.into(),
        extra: Default::default(),
    };
    New { uuid, fields }
}

#[tokio::test]
async fn a_redelivered_create_returns_the_created_connector() {
    let c = conductor(&[]);
    let node = add_node(&c).await;
    let connector = connector(&node, new_uuid(), "iqn", "iqn.2024-01.org.example:n1");
    let call = Call::CreateVolumeConnector { connector };
    let first = c.handle(request("req-1", call.clone())).await.unwrap();
    let second = c.handle(request("req-1", call.clone())).await.unwrap();
    assert_eq!(first, second);
    // A different request with the same body is a real duplicate.
    let third = c.handle(request("req-2", call)).await;
    assert!(
        matches!(third, Err(common::Error::Conflict(_))),
        "{third:?}"
    );
}

#[tokio::test]
async fn a_redelivered_patch_is_not_applied_twice() {
    let c = conductor(&[]);
    let node = add_node(&c).await;
    let uuid = new_uuid();
    let connector = connector(&node, uuid.clone(), "iqn", "iqn.2024-01.org.example:n2");
    c.handle(request("req-a", Call::CreateVolumeConnector { connector }))
        .await
        .unwrap();
    // A patch that is not idempotent by itself: applying it twice would fail, since
    // the member it removes is gone after the first time.
    let add =
        serde_json::from_value(serde_json::json!([{"op": "add", "path": "/extra/k", "value": 1}]))
            .unwrap();
    c.handle(request(
        "req-b",
        Call::UpdateVolumeConnector {
            uuid: uuid.clone(),
            patch: add,
        },
    ))
    .await
    .unwrap();
    let remove: Vec<json_patch::PatchOperation> =
        serde_json::from_value(serde_json::json!([{"op": "remove", "path": "/extra/k"}])).unwrap();
    let call = Call::UpdateVolumeConnector {
        uuid: uuid.clone(),
        patch: remove,
    };
    let first = c.handle(request("req-c", call.clone())).await.unwrap();
    let again = c.handle(request("req-c", call.clone())).await.unwrap();
    assert_eq!(first, again);
    let fresh = c.handle(request("req-d", call)).await;
    assert!(matches!(fresh, Err(common::Error::Invalid(_))), "{fresh:?}");
}

#[tokio::test]
async fn a_redelivered_delete_answers_done_not_404() {
    let c = conductor(&[]);
    let node = add_node(&c).await;
    let uuid = new_uuid();
    let connector = connector(&node, uuid.clone(), "wwpn", "50:00:00:00:00:00:00:01");
    c.handle(request("req-x", Call::CreateVolumeConnector { connector }))
        .await
        .unwrap();
    let call = Call::DestroyVolumeConnector { uuid };
    assert_eq!(
        c.handle(request("req-y", call.clone())).await,
        Ok(Reply::Done)
    );
    assert_eq!(
        c.handle(request("req-y", call.clone())).await,
        Ok(Reply::Done)
    );
    let fresh = c.handle(request("req-z", call)).await;
    assert!(
        matches!(fresh, Err(common::Error::NotFound(_))),
        "{fresh:?}"
    );
}
