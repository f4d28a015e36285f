//! Port group requests delivered twice are applied once, as the other resources of a
//! node: the copy is answered from the current state.

use serde_json::json;

use common::child::New;
use common::model::new_uuid;
use common::model::node::Node;
use common::model::portgroup::PortgroupFields;
use common::rpc::{Call, Handler, Reply};

use crate::support;
use support::fixtures::{add_node, conductor, request};

fn portgroup(node: &Node, uuid: String, name: &str) -> New<PortgroupFields> {
    let fields = PortgroupFields {
        node_uuid: node.uuid.clone(),
        name: Some(name.into()),
        ..Default::default()
    };
    New { uuid, fields }
}

#[tokio::test]
async fn a_redelivered_portgroup_create_patch_and_delete_each_apply_once() {
    let c = conductor(&[]);
    let node = add_node(&c).await;
    let uuid = new_uuid();
    let create = Call::CreatePortgroup {
        portgroup: portgroup(&node, uuid.clone(), "bond0"),
    };
    let first = c.handle(request("req-1", create.clone())).await.unwrap();
    let Reply::Portgroup(created) = &first else {
        panic!("a port group: {first:?}");
    };
    assert_eq!(created.mode, "active-backup");
    assert_eq!(c.handle(request("req-1", create.clone())).await, Ok(first));
    // The same body in a new request is a duplicate.
    let again = c.handle(request("req-2", create)).await;
    assert!(
        matches!(again, Err(common::Error::Conflict(_))),
        "{again:?}"
    );

    // A patch that fails when applied twice: its removed member is gone the second time.
    let add =
        serde_json::from_value(json!([{"op": "add", "path": "/extra/k", "value": 1}])).unwrap();
    c.handle(request(
        "req-3",
        Call::UpdatePortgroup {
            uuid: uuid.clone(),
            patch: add,
        },
    ))
    .await
    .unwrap();
    let remove: Vec<json_patch::PatchOperation> =
        serde_json::from_value(json!([{"op": "remove", "path": "/extra/k"}])).unwrap();
    let patch = Call::UpdatePortgroup {
        uuid: uuid.clone(),
        patch: remove,
    };
    let patched = c.handle(request("req-4", patch.clone())).await.unwrap();
    assert_eq!(c.handle(request("req-4", patch.clone())).await, Ok(patched));
    let fresh = c.handle(request("req-5", patch)).await;
    assert!(matches!(fresh, Err(common::Error::Invalid(_))), "{fresh:?}");

    let destroy = Call::DestroyPortgroup { uuid };
    assert_eq!(
        c.handle(request("req-6", destroy.clone())).await,
        Ok(Reply::Done)
    );
    assert_eq!(
        c.handle(request("req-6", destroy.clone())).await,
        Ok(Reply::Done)
    );
    let gone = c.handle(request("req-7", destroy)).await;
    assert!(matches!(gone, Err(common::Error::NotFound(_))), "{gone:?}");
}
