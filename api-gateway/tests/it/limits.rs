//! Hostile input: every limit the API enforces answers a 4xx with a clear message, on
//! the database `TEST_DATABASE` names, and never reaches the database as an error.

use crate::support;

use serde_json::{Value, json};

use common::model::node::Node;
use support::TestApp;

const CONNECTORS: &str = "/v1/volume/connectors";
const TARGETS: &str = "/v1/volume/targets";

/// `{"a": {"a": ... 1}}` with `levels` objects.
fn nested(levels: usize) -> Value {
    (0..levels).fold(json!(1), |inner, _| json!({ "a": inner }))
}

fn connector_body(node: &Node, id: &str) -> Value {
    json!({"node_uuid": node.uuid, "type": "iqn", "connector_id": id})
}

fn target_body(node: &Node, boot_index: i64) -> Value {
    json!({"node_uuid": node.uuid, "volume_type": "iscsi", "boot_index": boot_index,
           "volume_id": format!("vol-{boot_index}")})
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn documents_nested_too_deeply_are_400_on_create_and_patch() {
    let app = TestApp::start().await;
    let node = app.node(|_| {}).await;
    let too_deep = nested(33);

    let mut body = connector_body(&node, "deep");
    body["extra"] = too_deep.clone();
    app.post(CONNECTORS, &body)
        .await
        .expect_error(400, &["extra", "nested too deeply", "32"]);
    let mut body = target_body(&node, 0);
    body["properties"] = too_deep.clone();
    app.post(TARGETS, &body)
        .await
        .expect_error(400, &["properties", "nested too deeply"]);
    app.post(
        "/v1/nodes",
        &json!({"driver": "fake-hardware", "properties": too_deep}),
    )
    .await
    .expect_error(400, &["properties", "nested too deeply"]);

    // 32 levels are fine; a patch that pushes them one deeper is refused.
    let mut body = connector_body(&node, "deep");
    body["extra"] = nested(32);
    let created = app.post(CONNECTORS, &body).await.expect(201).json();
    let path = format!("{CONNECTORS}/{}", created["uuid"].as_str().unwrap());
    let deeper = json!([{"op": "add", "path": "/extra/a/b", "value": nested(31)}]);
    app.patch(&path, &deeper)
        .await
        .expect_error(400, &["extra", "nested too deeply"]);
    let shown = app.get(&path).await.expect(200).json();
    assert_eq!(
        shown["extra"],
        nested(32),
        "the refused patch changed nothing"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_document_grown_past_one_mebibyte_by_patches_is_400() {
    let app = TestApp::start().await;
    let node = app.node(|_| {}).await;
    let created = app
        .post(CONNECTORS, &connector_body(&node, "big"))
        .await
        .expect(201)
        .json();
    let path = format!("{CONNECTORS}/{}", created["uuid"].as_str().unwrap());
    let chunk = "x".repeat(400 * 1024);
    for key in ["a", "b"] {
        app.patch(
            &path,
            &json!([{"op": "add", "path": format!("/extra/{key}"), "value": chunk}]),
        )
        .await
        .expect(200);
    }
    app.patch(
        &path,
        &json!([{"op": "add", "path": "/extra/c", "value": chunk}]),
    )
    .await
    .expect_error(400, &["extra", "too large"]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn nul_characters_are_400_not_database_errors() {
    let app = TestApp::start().await;
    let node = app.node(|_| {}).await;
    app.post(CONNECTORS, &connector_body(&node, "iqn.a\u{0}b"))
        .await
        .expect_error(400, &["connector_id", "NUL"]);
    app.post(
        "/v1/nodes",
        &json!({"driver": "fake-hardware", "name": "a\u{0}b"}),
    )
    .await
    .expect(400);
    // Nor anywhere inside a JSON document.
    let mut body = connector_body(&node, "nul-in-extra");
    body["extra"] = json!({"k": "a\u{0}b"});
    app.post(CONNECTORS, &body)
        .await
        .expect_error(400, &["extra", "NUL"]);
    // In a path or a query it never reaches a database lookup.
    app.get("/v1/nodes/a%00b").await.expect_error(400, &["NUL"]);
    app.get("/v1/volume/connectors?node=a%00b")
        .await
        .expect_error(400, &["NUL"]);
    app.get("/v1/nodes?driver=a%00b")
        .await
        .expect_error(400, &["NUL"]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn over_long_strings_in_paths_queries_and_patches_are_4xx() {
    let app = TestApp::start().await;
    let node = app.node(|_| {}).await;
    let long = "n".repeat(300);
    app.get(&format!("/v1/nodes/{long}"))
        .await
        .expect_error(400, &["Expected a logical name or UUID"]);
    let reply = app.get(&format!("/v1/volume/connectors?node={long}")).await;
    assert!(matches!(reply.status, 400 | 404), "{reply:?}");
    reply.error();
    app.get(&format!("/v1/nodes?driver={long}"))
        .await
        .expect(200);
    let created = app
        .post(CONNECTORS, &connector_body(&node, "short"))
        .await
        .expect(201)
        .json();
    let path = format!("{CONNECTORS}/{}", created["uuid"].as_str().unwrap());
    app.patch(
        &path,
        &json!([{"op": "replace", "path": "/connector_id", "value": "c".repeat(256)}]),
    )
    .await
    .expect_error(400, &["connector_id", "too long"]);
    app.patch(
        &format!("/v1/nodes/{}", node.uuid),
        &json!([{"op": "replace", "path": "/name", "value": "c".repeat(256)}]),
    )
    .await
    .expect(400);
    app.post(
        &format!("/v1/nodes/{}/vifs", node.uuid),
        &json!({"id": "v".repeat(256)}),
    )
    .await
    .expect(400);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn limit_is_capped_at_the_configured_ceiling() {
    let app = TestApp::start_with(&[("SANLINK_MAX_LIMIT", "2")]).await;
    let node = app.node(|_| {}).await;
    for id in ["a", "b", "c"] {
        app.post(CONNECTORS, &connector_body(&node, id))
            .await
            .expect(201);
    }
    for query in ["", "?limit=1000", "?limit=9223372036854775807"] {
        let page = app
            .get(&format!("{CONNECTORS}{query}"))
            .await
            .expect(200)
            .json();
        assert_eq!(page["connectors"].as_array().unwrap().len(), 2, "{query}");
        let next = page["next"].as_str().expect("a next link");
        assert!(next.contains("limit=2"), "{next}");
    }
    app.get(&format!("{CONNECTORS}?limit=99999999999999999999"))
        .await
        .expect_error(400, &["limit"]);
}

#[tokio::test]
async fn a_body_that_stops_arriving_is_answered_408() {
    let app = TestApp::start_with(&[("SANLINK_HTTP_HEADER_TIMEOUT", "1")]).await;
    // Ten bytes of a hundred, then nothing: without a deadline the request would hold
    // its connection for as long as the client keeps it open.
    let reply = app
        .raw(
            b"POST /v1/volume/connectors HTTP/1.1\r\nHost: sanlink\r\n\
              Content-Type: application/json\r\nContent-Length: 100\r\n\
              X-OpenStack-Ironic-API-Version: 1.46\r\n\r\n{\"node_uu",
        )
        .await;
    assert!(reply.starts_with("HTTP/1.1 408"), "{reply}");
    assert!(
        reply.contains("The request body did not arrive within 1s."),
        "{reply}"
    );
}
