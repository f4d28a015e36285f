//! Node traits (`/v1/nodes/{node}/traits`, API 1.37) end to end: the answers, texts and
//! headers Ironic 39 gives, the node's `traits` field, the lock, and the versions below.

use crate::support;

use serde_json::{Value, json};

use support::TestApp;

async fn node(app: &TestApp, name: &str) -> Value {
    app.post(
        "/v1/nodes",
        &json!({"driver": "fake-hardware", "name": name}),
    )
    .await
    .expect(201)
    .json()
}

async fn traits_of(app: &TestApp, ident: &str) -> Value {
    app.get(&format!("/v1/nodes/{ident}/traits"))
        .await
        .expect(200)
        .json()["traits"]
        .clone()
}

async fn put(app: &TestApp, path: &str, body: Option<Value>) -> support::Reply {
    let call = app.request("PUT", path);
    match body {
        Some(b) => call.json(&b),
        None => call,
    }
    .send()
    .await
}

#[tokio::test]
async fn traits_are_added_replaced_and_removed() {
    let app = TestApp::start().await;
    let n = node(&app, "t-node").await;
    let uuid = n["uuid"].as_str().unwrap().to_string();
    assert_eq!(traits_of(&app, "t-node").await, json!([]));

    // One trait: 204, Location naming the node as the request did; twice is no error.
    for _ in 0..2 {
        let r = put(&app, "/v1/nodes/t-node/traits/CUSTOM_GOLD", None).await;
        r.expect(204);
        assert_eq!(
            r.header("location"),
            Some(format!("{}/v1/nodes/t-node/traits/CUSTOM_GOLD", app.base_url).as_str())
        );
        assert_eq!(r.text, "");
    }
    // An empty object or null for a body is no body.
    put(
        &app,
        &format!("/v1/nodes/{uuid}/traits/HW_CPU_X86_AVX2"),
        Some(json!({})),
    )
    .await
    .expect(204);
    assert_eq!(
        traits_of(&app, &uuid).await,
        json!(["CUSTOM_GOLD", "HW_CPU_X86_AVX2"])
    );

    // Replacing: duplicates dropped, sorted, no Location.
    let r = put(
        &app,
        "/v1/nodes/t-node/traits",
        Some(json!({"traits": ["CUSTOM_Z", "HW_CPU_X86_SSE", "CUSTOM_Z", "CUSTOM_B"]})),
    )
    .await;
    r.expect(204);
    assert_eq!(r.header("location"), None);
    assert_eq!(
        traits_of(&app, "t-node").await,
        json!(["CUSTOM_B", "CUSTOM_Z", "HW_CPU_X86_SSE"])
    );

    // The node shows them from 1.37, also in fields= and the detailed list.
    let shown = app.get("/v1/nodes/t-node").await.expect(200).json();
    assert_eq!(
        shown["traits"],
        json!(["CUSTOM_B", "CUSTOM_Z", "HW_CPU_X86_SSE"])
    );
    let some = app
        .get("/v1/nodes/t-node?fields=traits")
        .await
        .expect(200)
        .json();
    assert_eq!(some["traits"], shown["traits"]);
    let list = app
        .get("/v1/nodes?fields=uuid,traits")
        .await
        .expect(200)
        .json();
    assert_eq!(list["nodes"][0]["traits"], shown["traits"]);
    let detail = app.get("/v1/nodes/detail").await.expect(200).json();
    assert_eq!(detail["nodes"][0]["traits"], shown["traits"]);
    let old = app
        .request("GET", "/v1/nodes/t-node")
        .version("1.36")
        .send()
        .await
        .expect(200)
        .json();
    assert!(old.get("traits").is_none());
    app.request("GET", "/v1/nodes/t-node?fields=traits")
        .version("1.36")
        .send()
        .await
        .expect_error(406, &["Request not acceptable."]);

    // Removing one; one the node lacks is a 404 naming the node's UUID.
    app.delete("/v1/nodes/t-node/traits/CUSTOM_Z")
        .await
        .expect(204);
    app.delete("/v1/nodes/t-node/traits/CUSTOM_Z")
        .await
        .expect_error(
            404,
            &[&format!("Node {uuid} doesn't have a trait 'CUSTOM_Z'")],
        );
    app.delete("/v1/nodes/t-node/traits/not-even-valid")
        .await
        .expect_error(404, &["doesn't have a trait 'not-even-valid'"]);
    assert_eq!(
        traits_of(&app, "t-node").await,
        json!(["CUSTOM_B", "HW_CPU_X86_SSE"])
    );
    // Removing all, twice.
    for _ in 0..2 {
        app.delete("/v1/nodes/t-node/traits").await.expect(204);
    }
    assert_eq!(traits_of(&app, "t-node").await, json!([]));
    put(&app, "/v1/nodes/t-node/traits", Some(json!({"traits": []})))
        .await
        .expect(204);
}

const ONE_FORM: &str = "A single node trait may be added via PUT /v1/nodes/<node identifier>/traits/<trait> with no body, or all node traits may be replaced via PUT /v1/nodes/<node identifier>/traits with the list of traits specified in the request body.";

#[tokio::test]
async fn bad_traits_and_bodies_get_ironics_400s() {
    let app = TestApp::start().await;
    node(&app, "v-node").await;
    let cases: Vec<(&str, Option<Value>, String)> = vec![
        ("/traits/custom_a", None, "Schema error for trait: 'custom_a' is not valid under any of the given schemas. Possible root cause: 'custom_a' does not match '^CUSTOM_[A-Z0-9_]+$'".into()),
        ("/traits/HW_NOT_A_TRAIT", None, "Schema error for trait: 'HW_NOT_A_TRAIT' is not valid under any of the given schemas. Possible root cause: 'HW_NOT_A_TRAIT' does not match '^CUSTOM_[A-Z0-9_]+$'".into()),
        ("/traits/CUSTOM_", None, "Schema error for trait: 'CUSTOM_' is not valid under any of the given schemas. Possible root cause: 'CUSTOM_' does not match '^CUSTOM_[A-Z0-9_]+$'".into()),
        ("/traits/CUSTOM_B", Some(json!({"traits": ["CUSTOM_C"]})), ONE_FORM.into()),
        ("/traits/CUSTOM_B", Some(json!([])), "Schema error for body: [] is not of type 'object'".into()),
        ("/traits", None, ONE_FORM.into()),
        ("/traits", Some(json!({})), ONE_FORM.into()),
        ("/traits", Some(json!({"traits": "CUSTOM_A"})), "Schema error for body: 'CUSTOM_A' is not of type 'array'".into()),
        ("/traits", Some(json!({"traits": null})), "Schema error for body: None is not of type 'array'".into()),
        ("/traits", Some(json!({"traits": [""]})), "Schema error for body: '' should be non-empty".into()),
        ("/traits", Some(json!({"traits": [1]})), "Schema error for body: 1 is not of type 'string'".into()),
        ("/traits", Some(json!({"traits": ["CUSTOM_OK", 1, "bad2"]})), "Schema error for body: 'bad2' is not valid under any of the given schemas. Possible root cause: 'bad2' does not match '^CUSTOM_[A-Z0-9_]+$'".into()),
        ("/traits", Some(json!({"traits": [], "x": 1})), "Schema error for body: Additional properties are not allowed ('x' was unexpected)".into()),
        ("/traits", Some(json!("x")), "Schema error for body: 'x' is not of type 'object'".into()),
    ];
    for (sub, body, text) in cases {
        let r = put(&app, &format!("/v1/nodes/v-node{sub}"), body.clone()).await;
        r.expect(400);
        assert_eq!(r.fault(), text, "PUT {sub} {body:?}");
    }
    let long = format!("CUSTOM_{}", "A".repeat(249));
    put(&app, &format!("/v1/nodes/v-node/traits/{long}"), None)
        .await
        .expect_error(
            400,
            &[&format!("Schema error for trait: '{long}' is too long")],
        );
    put(
        &app,
        &format!("/v1/nodes/v-node/traits/{}", &long[..255]),
        None,
    )
    .await
    .expect(204);
    // The trait is checked before the node is looked up; the body form after.
    put(&app, "/v1/nodes/missing/traits/bad", None)
        .await
        .expect_error(400, &["Schema error for trait"]);
    put(&app, "/v1/nodes/missing/traits", Some(json!({})))
        .await
        .expect_error(404, &["Node missing could not be found."]);
    app.get("/v1/nodes/missing/traits")
        .await
        .expect_error(404, &["Node missing could not be found."]);
    app.delete("/v1/nodes/missing/traits/CUSTOM_A")
        .await
        .expect_error(404, &["Node missing could not be found."]);
    let r = app.get("/v1/nodes/bad%20name!/traits").await;
    r.expect(400);
    assert_eq!(
        r.error()["description"],
        "Expected UUID or name for node: bad name!"
    );
    assert_eq!(traits_of(&app, "v-node").await, json!([&long[..255]]));
}

#[tokio::test]
async fn a_node_holds_at_most_fifty_traits() {
    let app = TestApp::start().await;
    node(&app, "full").await;
    let id = app
        .db_run(|conn| common::db::nodes::id_of(conn, "full"))
        .await;
    let limit = format!(
        "Could not modify traits for node {id} as it would exceed the maximum number of traits per node (51 vs. 50)"
    );
    let names = |n: usize| -> Vec<String> { (0..n).map(|i| format!("CUSTOM_T{i:02}")).collect() };
    let r = put(
        &app,
        "/v1/nodes/full/traits",
        Some(json!({"traits": names(51)})),
    )
    .await;
    r.expect(400);
    assert_eq!(r.fault(), limit);
    // 51 names of which two are the same make 50.
    let mut doubled = names(50);
    doubled.push("CUSTOM_T00".into());
    put(
        &app,
        "/v1/nodes/full/traits",
        Some(json!({"traits": doubled})),
    )
    .await
    .expect(204);
    let r = put(&app, "/v1/nodes/full/traits/CUSTOM_ONE_MORE", None).await;
    r.expect(400);
    assert_eq!(r.fault(), limit);
    // One the node has already is no change, so no error.
    put(&app, "/v1/nodes/full/traits/CUSTOM_T07", None)
        .await
        .expect(204);
    assert_eq!(traits_of(&app, "full").await, json!(names(50)));
}

#[tokio::test]
async fn trait_changes_wait_for_the_node_lock_and_ignore_its_state() {
    let app = TestApp::start().await;
    let n = app
        .node(|n| n.provision_state = common::model::states::ProvisionState::Active)
        .await;
    let uuid = n.uuid.clone();
    // In any provision state, as in Ironic.
    put(
        &app,
        &format!("/v1/nodes/{uuid}/traits/CUSTOM_ACTIVE"),
        None,
    )
    .await
    .expect(204);
    app.set_reservation(n.id, Some("other-host")).await;
    let locked = "locked by host other-host";
    put(&app, &format!("/v1/nodes/{uuid}/traits/CUSTOM_B"), None)
        .await
        .expect_error(409, &[locked]);
    put(
        &app,
        &format!("/v1/nodes/{uuid}/traits"),
        Some(json!({"traits": []})),
    )
    .await
    .expect_error(409, &[locked]);
    app.delete(&format!("/v1/nodes/{uuid}/traits/CUSTOM_ACTIVE"))
        .await
        .expect_error(409, &[locked]);
    app.delete(&format!("/v1/nodes/{uuid}/traits"))
        .await
        .expect_error(409, &[locked]);
    // Reading takes no lock.
    assert_eq!(traits_of(&app, &uuid).await, json!(["CUSTOM_ACTIVE"]));
    app.set_reservation(n.id, None).await;
    app.delete(&format!("/v1/nodes/{uuid}/traits"))
        .await
        .expect(204);
    assert_eq!(traits_of(&app, &uuid).await, json!([]));
}

#[tokio::test]
async fn below_1_37_the_paths_answer_as_ironic_routes_them() {
    let app = TestApp::start().await;
    node(&app, "old").await;
    let at = |method: &str, path: &str, v: &str| app.request(method, path).version(v);
    // A GET is a show of the node with fields=traits.
    at("GET", "/v1/nodes/old/traits", "1.36")
        .send()
        .await
        .expect_error(406, &["Request not acceptable."]);
    at("GET", "/v1/nodes/missing/traits", "1.36")
        .send()
        .await
        .expect_error(404, &["Node missing could not be found."]);
    // Names are node identifiers from 1.5 only.
    at("GET", "/v1/nodes/old/traits", "1.4")
        .send()
        .await
        .expect_error(404, &["Node old could not be found."]);
    for path in ["/v1/nodes/old/traits", "/v1/nodes/old/traits/CUSTOM_A"] {
        let r = at("PUT", path, "1.36").send().await;
        r.expect(405);
        assert_eq!(r.header("allow"), Some("DELETE, GET, PATCH, POST"));
        at("DELETE", path, "1.36")
            .send()
            .await
            .expect_error(404, &["Resource could not be found."]);
    }
    assert_eq!(traits_of(&app, "old").await, json!([]));
}

#[tokio::test]
async fn traits_are_not_set_through_the_node_body() {
    let app = TestApp::start().await;
    app.post(
        "/v1/nodes",
        &json!({"driver": "fake-hardware", "traits": ["CUSTOM_A"]}),
    )
    .await
    .expect_error(
        400,
        &["Schema error for node: Additional properties are not allowed ('traits' was unexpected)"],
    );
    node(&app, "p").await;
    for op in [
        json!({"op": "add", "path": "/traits", "value": ["CUSTOM_Q"]}),
        json!({"op": "remove", "path": "/traits"}),
    ] {
        app.patch("/v1/nodes/p", &json!([op])).await.expect_error(
            400,
            &["Cannot patch /traits. Only the following can be updated:"],
        );
    }
    // Other methods on the paths are not allowed.
    app.request("POST", "/v1/nodes/p/traits")
        .send()
        .await
        .expect(405);
    app.request("GET", "/v1/nodes/p/traits/CUSTOM_A")
        .send()
        .await
        .expect(405);
}

#[tokio::test]
async fn a_deployment_asks_only_for_traits_the_node_has() {
    let app = TestApp::start().await;
    let n = app
        .post(
            "/v1/nodes",
            &json!({"driver": "fake-hardware", "name": "gpu", "deploy_interface": "fake",
                    "boot_interface": "fake", "network_interface": "noop",
                    "instance_info": {"traits": ["CUSTOM_GPU"]}}),
        )
        .await
        .expect(201)
        .json();
    let uuid = n["uuid"].as_str().unwrap().to_string();
    let id = app
        .db_run(|conn| common::db::nodes::id_of(conn, "gpu"))
        .await;
    app.set_states(
        id,
        Some(common::model::states::PowerState::Off),
        common::model::states::ProvisionState::Available,
    )
    .await;
    let missing = format!(
        "Cannot specify instance traits that are not also set on the node. Node {uuid} is missing traits CUSTOM_GPU"
    );
    let deploy_check =
        || async { app.get("/v1/nodes/gpu/validate").await.expect(200).json()["deploy"].clone() };
    assert_eq!(
        deploy_check().await,
        json!({"result": false, "reason": missing})
    );
    let r = app
        .request("PUT", "/v1/nodes/gpu/states/provision")
        .json(&json!({"target": "active"}))
        .send()
        .await;
    r.expect(400);
    assert_eq!(
        r.fault(),
        format!("Failed to validate deploy or power info for node {uuid}: {missing}")
    );
    app.patch(
        "/v1/nodes/gpu",
        &json!([{"op": "replace", "path": "/instance_info/traits", "value": "CUSTOM_GPU"}]),
    )
    .await
    .expect(200);
    assert_eq!(
        deploy_check().await["reason"],
        format!(
            "Error parsing traits from Node {uuid} instance_info field. A list of strings is expected."
        )
    );
    app.patch(
        "/v1/nodes/gpu",
        &json!([{"op": "replace", "path": "/instance_info/traits", "value": ["CUSTOM_GPU"]}]),
    )
    .await
    .expect(200);
    put(&app, "/v1/nodes/gpu/traits/CUSTOM_GPU", None)
        .await
        .expect(204);
    assert_eq!(deploy_check().await, json!({"result": true}));
    app.request("PUT", "/v1/nodes/gpu/states/provision")
        .json(&json!({"target": "active"}))
        .send()
        .await
        .expect(202);
}
