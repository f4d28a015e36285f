//! Chassis end to end: `/v1/chassis`, a chassis's nodes, and a node's `chassis_uuid`,
//! through HTTP against the service (on the database and transport the environment
//! selects), with Ironic's statuses and texts.

use std::sync::Arc;
use std::time::Duration;

use serde_json::{Value, json};

use common::model::chassis::{ChassisFields, NewChassis};
use common::rpc::{Call, Caller, Handler, Reply, Request, RequestContext};
use conductor::Conductor;

use crate::support;
use support::TestApp;

const MISSING: &str = "7a4a2c3e-0000-4000-8000-00000000dead";

async fn create(app: &TestApp, body: Value) -> Value {
    app.post("/v1/chassis", &body).await.expect(201).json()
}

fn uuid(v: &Value) -> String {
    v["uuid"].as_str().expect("uuid").to_string()
}

fn keys(v: &Value) -> Vec<String> {
    let mut keys: Vec<String> = v.as_object().expect("an object").keys().cloned().collect();
    keys.sort();
    keys
}

async fn node_in(app: &TestApp, chassis: &str, name: &str) -> Value {
    app.post(
        "/v1/nodes",
        &json!({"driver": "fake-hardware", "name": name, "chassis_uuid": chassis}),
    )
    .await
    .expect(201)
    .json()
}

#[tokio::test]
async fn create_show_list_patch_delete() {
    let app = TestApp::start().await;
    let reply = app
        .post(
            "/v1/chassis",
            &json!({"description": "rack 1", "extra": {"row": 4}}),
        )
        .await;
    reply.expect(201);
    let created = reply.json();
    let id = uuid(&created);
    assert!(
        reply
            .header("location")
            .expect("a location")
            .ends_with(&format!("/v1/chassis/{id}"))
    );
    assert_eq!(created["description"], "rack 1");
    assert_eq!(created["extra"], json!({"row": 4}));
    assert_eq!(created["updated_at"], Value::Null);
    // The nodes link is a list holding the list of links, as Ironic writes it.
    let nodes = &created["nodes"][0];
    assert_eq!(nodes[0]["rel"], "self");
    assert!(
        nodes[0]["href"]
            .as_str()
            .unwrap()
            .ends_with(&format!("/v1/chassis/{id}/nodes"))
    );
    assert_eq!(nodes[1]["rel"], "bookmark");
    assert!(
        nodes[1]["href"]
            .as_str()
            .unwrap()
            .ends_with(&format!("/chassis/{id}/nodes"))
    );

    let shown = app
        .get(&format!("/v1/chassis/{id}"))
        .await
        .expect(200)
        .json();
    assert_eq!(shown, created);
    let some = app
        .get(&format!("/v1/chassis/{id}?fields=extra"))
        .await
        .expect(200)
        .json();
    assert_eq!(keys(&some), ["extra", "links"]);

    create(&app, json!({})).await;
    let list = app.get("/v1/chassis").await.expect(200).json();
    let items = list["chassis"].as_array().expect("a list");
    assert_eq!(items.len(), 2);
    assert_eq!(keys(&items[0]), ["description", "links", "uuid"]);
    let detail = app.get("/v1/chassis/detail").await.expect(200).json();
    assert_eq!(detail["chassis"][0], created);
    let detail = app.get("/v1/chassis?detail=true").await.expect(200).json();
    assert_eq!(detail["chassis"][0], created);

    let patched = app
        .patch(
            &format!("/v1/chassis/{id}"),
            &json!([
                {"op": "replace", "path": "/description", "value": "rack 2"},
                {"op": "add", "path": "/extra/slot", "value": 7},
            ]),
        )
        .await
        .expect(200)
        .json();
    assert_eq!(patched["description"], "rack 2");
    assert_eq!(patched["extra"], json!({"row": 4, "slot": 7}));
    assert!(patched["updated_at"].is_string());
    let removed = app
        .patch(
            &format!("/v1/chassis/{id}"),
            &json!([{"op": "remove", "path": "/description"}, {"op": "remove", "path": "/extra"}]),
        )
        .await
        .expect(200)
        .json();
    assert_eq!(removed["description"], Value::Null);
    assert_eq!(removed["extra"], json!({}));

    app.delete(&format!("/v1/chassis/{id}")).await.expect(204);
    app.get(&format!("/v1/chassis/{id}"))
        .await
        .expect_error(404, &[&format!("Chassis {id} could not be found.")]);
    app.delete(&format!("/v1/chassis/{id}"))
        .await
        .expect_error(404, &[&format!("Chassis {id} could not be found.")]);
}

#[tokio::test]
async fn every_version_shows_every_field_and_newer_parameters_are_refused() {
    let app = TestApp::start().await;
    let id = uuid(&create(&app, json!({"description": "d"})).await);
    let latest = app
        .get(&format!("/v1/chassis/{id}"))
        .await
        .expect(200)
        .json();
    let v11 = app
        .request("GET", &format!("/v1/chassis/{id}"))
        .version("1.1")
        .send()
        .await
        .expect(200)
        .json();
    assert_eq!(v11, latest);
    assert_eq!(
        keys(&v11),
        [
            "created_at",
            "description",
            "extra",
            "links",
            "nodes",
            "updated_at",
            "uuid"
        ]
    );
    app.request("GET", &format!("/v1/chassis/{id}?fields=uuid"))
        .version("1.7")
        .send()
        .await
        .expect_error(406, &["Request not acceptable."]);
    app.request("GET", "/v1/chassis?detail=true")
        .version("1.42")
        .send()
        .await
        .expect_error(400, &["Invalid query parameter ?detail=True received."]);
    // A node shows its chassis from 1.1 on.
    let node = node_in(&app, &id, "n-1").await;
    let old = app
        .request("GET", &format!("/v1/nodes/{}", uuid(&node)))
        .version("1.1")
        .send()
        .await
        .expect(200)
        .json();
    assert_eq!(old["chassis_uuid"], id.as_str());
}

#[tokio::test]
async fn lists_page_and_sort_as_ironic_does() {
    let app = TestApp::start().await;
    let mut ids = Vec::new();
    for d in ["b", "a", "c"] {
        ids.push(uuid(&create(&app, json!({"description": d})).await));
    }
    let page = app.get("/v1/chassis?limit=2").await.expect(200).json();
    assert_eq!(page["chassis"].as_array().unwrap().len(), 2);
    let next = page["next"].as_str().expect("a next link");
    assert!(
        next.ends_with(&format!(
            "/v1/chassis?sort_key=id&sort_dir=asc&fields=uuid,description&limit=2&marker={}",
            ids[1]
        )),
        "{next}"
    );
    let page = app
        .get("/v1/chassis?detail=False&limit=1")
        .await
        .expect(200)
        .json();
    assert!(
        page["next"]
            .as_str()
            .unwrap()
            .contains("sort_dir=asc&detail=False&fields=uuid,description&limit=1"),
        "{page}"
    );
    let page = app
        .get("/v1/chassis/detail?limit=1")
        .await
        .expect(200)
        .json();
    assert!(
        page["next"].as_str().unwrap().ends_with(&format!(
            "/v1/chassis/detail?sort_key=id&sort_dir=asc&limit=1&marker={}",
            ids[0]
        )),
        "{page}"
    );
    let rest = app
        .get(&format!("/v1/chassis?marker={}", ids[1]))
        .await
        .expect(200)
        .json();
    assert_eq!(rest["chassis"][0]["uuid"], ids[2].as_str());
    let sorted = app
        .get("/v1/chassis?sort_key=description&sort_dir=desc")
        .await
        .expect(200)
        .json();
    let order: Vec<&str> = sorted["chassis"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["description"].as_str().unwrap())
        .collect();
    assert_eq!(order, ["c", "b", "a"]);

    for (query, text) in [
        (
            "sort_key=extra",
            "The sort_key value extra is an invalid field for sorting",
        ),
        (
            "sort_key=colour",
            "The sort_key value \"colour\" is an invalid field for sorting",
        ),
        (
            "sort_dir=up",
            "Schema error: 'up' is not one of ['asc', 'desc']",
        ),
        ("limit=0", "Limit must be positive"),
        ("limit=abc", "Expected an integer for limit: abc"),
        ("marker=abc", "Expected UUID for marker: abc"),
        (
            "fields=bogus",
            "Schema error: 'bogus' is not one of ['created_at', 'description', 'extra', 'links', 'nodes', 'updated_at', 'uuid']",
        ),
        (
            "detail=true&fields=uuid",
            "Can not specify ?detail=True and fields in the same request.",
        ),
        ("colour=blue", "Unexpected arguments: colour"),
    ] {
        app.get(&format!("/v1/chassis?{query}"))
            .await
            .expect_error(400, &[text]);
    }
    app.get(&format!("/v1/chassis?marker={MISSING}"))
        .await
        .expect_error(404, &[&format!("Chassis {MISSING} could not be found.")]);
    app.get("/v1/chassis/detail?fields=uuid")
        .await
        .expect_error(400, &["Unexpected arguments: fields"]);
}

#[tokio::test]
async fn bad_bodies_and_patches_are_refused_in_ironics_words() {
    let app = TestApp::start().await;
    let long = "x".repeat(256);
    for (body, text) in [
        (json!({"description": long}), format!("Schema error for chassis: '{long}' is too long")),
        (json!({"description": 5}), "Schema error for chassis: 5 is not of type 'string', 'null'".into()),
        (json!({"extra": "x"}), "Schema error for chassis: 'x' is not of type 'object', 'null'".into()),
        (json!({"uuid": "abc"}), "Expected UUID for uuid: abc".into()),
        (json!({"nodes": []}), "Schema error for chassis: Additional properties are not allowed ('nodes' was unexpected)".into()),
        (json!(["x"]), "Schema error for chassis: ['x'] is not of type 'object'".into()),
    ] {
        app.post("/v1/chassis", &body).await.expect_error(400, &[&text]);
    }
    let id = uuid(
        &create(
            &app,
            json!({"uuid": "5c1a2b3d-4e5f-4a6b-8c7d-0e1f2a3b4c5d"}),
        )
        .await,
    );
    assert_eq!(id, "5c1a2b3d-4e5f-4a6b-8c7d-0e1f2a3b4c5d");
    app.post("/v1/chassis", &json!({"uuid": id}))
        .await
        .expect_error(409, &[&format!("A chassis with UUID {id} already exists.")]);

    let path = format!("/v1/chassis/{id}");
    for (patch, text) in [
        (
            json!([{"op": "replace", "path": "/uuid", "value": MISSING}]),
            "Cannot overwrite UUID for an existing Chassis.".to_string(),
        ),
        (
            json!([{"op": "replace", "path": "/created_at", "value": "x"}]),
            "Cannot patch /created_at. Only the following can be updated: uuid, extra, description".into(),
        ),
        (
            json!([{"op": "replace", "path": "/description", "value": long}]),
            format!("Schema error for patch: '{long}' is too long"),
        ),
        (
            json!([{"op": "remove", "path": "/extra/zzz"}]),
            "Couldn't apply patch '{'op': 'remove', 'path': '/extra/zzz'}'. Reason: can't remove a non-existent object 'zzz'".into(),
        ),
    ] {
        app.patch(&path, &patch).await.expect_error(400, &[&text]);
    }
    app.patch("/v1/chassis/abc", &json!([]))
        .await
        .expect_error(400, &["Schema error: 'abc' is not a 'uuid'"]);
    app.get("/v1/chassis/abc")
        .await
        .expect_error(400, &["Expected UUID for chassis_uuid: abc"]);
    app.patch(&format!("/v1/chassis/{MISSING}"), &json!([]))
        .await
        .expect_error(404, &[&format!("Chassis {MISSING} could not be found.")]);
    app.delete("/v1/chassis")
        .await
        .expect_error(400, &["Missing mandatory parameter: chassis_uuid"]);
}

#[tokio::test]
async fn nodes_belong_to_a_chassis_that_cannot_go_while_it_holds_them() {
    let app = TestApp::start().await;
    let rack = uuid(&create(&app, json!({"description": "rack"})).await);
    let other = uuid(&create(&app, json!({})).await);
    let node = node_in(&app, &rack, "n-1").await;
    let node_id = uuid(&node);
    assert_eq!(node["chassis_uuid"], rack.as_str());
    app.post(
        "/v1/nodes",
        &json!({"driver": "fake-hardware", "name": "loose"}),
    )
    .await
    .expect(201);
    app.post(
        "/v1/nodes",
        &json!({"driver": "fake-hardware", "chassis_uuid": MISSING}),
    )
    .await
    .expect_error(400, &[&format!("Chassis {MISSING} could not be found.")]);
    app.post(
        "/v1/nodes",
        &json!({"driver": "fake-hardware", "chassis_uuid": "abc"}),
    )
    .await
    .expect_error(400, &["Expected UUID for chassis_uuid: abc"]);

    // Node lists filter on the chassis; a chassis lists its nodes.
    let names = |list: Value| -> Vec<String> {
        list["nodes"]
            .as_array()
            .unwrap()
            .iter()
            .map(|n| n["name"].as_str().unwrap_or_default().to_string())
            .collect()
    };
    let filtered = app.get(&format!("/v1/nodes?chassis_uuid={rack}")).await;
    assert_eq!(names(filtered.expect(200).json()), ["n-1"]);
    let nested = app.get(&format!("/v1/chassis/{rack}/nodes")).await;
    assert_eq!(names(nested.expect(200).json()), ["n-1"]);
    let detail = app
        .get(&format!("/v1/chassis/{rack}/nodes/detail"))
        .await
        .expect(200)
        .json();
    assert_eq!(detail["nodes"][0]["chassis_uuid"], rack.as_str());
    let empty = app.get(&format!("/v1/chassis/{other}/nodes")).await;
    assert!(names(empty.expect(200).json()).is_empty());
    let page = app
        .get(&format!("/v1/chassis/{rack}/nodes?limit=1"))
        .await
        .expect(200)
        .json();
    assert!(
        page["next"]
            .as_str()
            .unwrap()
            .ends_with(&format!("&chassis_uuid={rack}")),
        "{page}"
    );
    app.get(&format!("/v1/nodes?chassis_uuid={MISSING}"))
        .await
        .expect_error(404, &[&format!("Chassis {MISSING} could not be found.")]);
    app.get(&format!("/v1/chassis/{MISSING}/nodes"))
        .await
        .expect_error(404, &[&format!("Chassis {MISSING} could not be found.")]);
    app.get("/v1/chassis/abc/nodes")
        .await
        .expect_error(400, &["Expected UUID for chassis_uuid: abc"]);
    app.get(&format!("/v1/chassis/{rack}/nodes/{node_id}"))
        .await
        .expect_error(400, &["Malformed request URI."]);

    app.delete(&format!("/v1/chassis/{rack}"))
        .await
        .expect_error(
            400,
            &[&format!(
                "Cannot complete the requested action because chassis {rack} contains nodes."
            )],
        );

    // A node moves to another chassis; leaving every chassis needs 1.25.
    let node_path = format!("/v1/nodes/{node_id}");
    let moved = app
        .patch(
            &node_path,
            &json!([{"op": "replace", "path": "/chassis_uuid", "value": other}]),
        )
        .await
        .expect(200)
        .json();
    assert_eq!(moved["chassis_uuid"], other.as_str());
    app.patch(
        &node_path,
        &json!([{"op": "replace", "path": "/chassis_uuid", "value": MISSING}]),
    )
    .await
    .expect_error(400, &[&format!("Chassis {MISSING} could not be found.")]);
    for old in [
        json!([{"op": "remove", "path": "/chassis_uuid"}]),
        json!([{"op": "replace", "path": "/chassis_uuid", "value": null}]),
    ] {
        app.request("PATCH", &node_path)
            .version("1.24")
            .json(&old)
            .send()
            .await
            .expect_error(406, &["Request not acceptable."]);
    }
    let loose = app
        .request("PATCH", &node_path)
        .version("1.25")
        .json(&json!([{"op": "remove", "path": "/chassis_uuid"}]))
        .send()
        .await
        .expect(200)
        .json();
    assert_eq!(loose["chassis_uuid"], Value::Null);
    // Now empty, both chassis go.
    app.delete(&format!("/v1/chassis/{rack}")).await.expect(204);
    app.delete(&format!("/v1/chassis/{other}"))
        .await
        .expect(204);
}

/// A request redelivered by the broker after it was applied is answered from the
/// current state, never applied twice: a second create is not a conflict, a second
/// delete not a 404, and a patch appends once.
#[tokio::test]
async fn a_redelivered_request_is_applied_once() {
    let app = TestApp::start().await;
    let conductor = Arc::new(Conductor::new(app.db.clone(), app.settings.clone()));
    let send = |id: &str, call: Call| {
        let (conductor, id) = (conductor.clone(), id.to_string());
        async move {
            let request = Request::new(
                RequestContext::new(&id, Caller::default()),
                Duration::from_secs(60),
                call,
            );
            conductor.handle(request).await
        }
    };
    let uuid = common::model::new_uuid();
    let create = Call::CreateChassis {
        chassis: NewChassis {
            uuid: uuid.clone(),
            fields: ChassisFields::default(),
        },
    };
    let first = send("req-ch-create", create.clone())
        .await
        .expect("created");
    let again = send("req-ch-create", create).await.expect("answered again");
    let (Reply::Chassis(first), Reply::Chassis(again)) = (first, again) else {
        panic!("chassis replies");
    };
    assert_eq!(first, again);

    let append: Vec<json_patch::PatchOperation> =
        serde_json::from_value(json!([{"op": "add", "path": "/extra/log", "value": "once"}]))
            .unwrap();
    let patch = Call::UpdateChassis {
        uuid: uuid.clone(),
        patch: append,
    };
    send("req-ch-patch", patch.clone()).await.expect("patched");
    let Reply::Chassis(after) = send("req-ch-patch", patch).await.expect("answered again") else {
        panic!("a chassis reply");
    };
    assert_eq!(
        after.extra,
        json!({"log": "once"}).as_object().unwrap().clone()
    );

    let destroy = Call::DestroyChassis { uuid: uuid.clone() };
    assert_eq!(
        send("req-ch-delete", destroy.clone()).await,
        Ok(Reply::Done)
    );
    assert_eq!(send("req-ch-delete", destroy).await, Ok(Reply::Done));
    app.get(&format!("/v1/chassis/{uuid}")).await.expect(404);
}
