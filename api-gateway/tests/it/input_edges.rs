//! Input at the edges: paths the boot listener cannot serve, NUL inside JSON documents,
//! type errors about fields that may hold secrets, and bodies whose Content-Type is not
//! JSON.

use crate::support;

use serde_json::json;

use support::TestApp;

#[tokio::test]
async fn the_boot_listener_answers_404_for_paths_that_name_no_node() {
    let app = TestApp::start().await;
    let boot = app.boot_listener().await;
    for path in [
        "/%00/config",
        "/node-name/config",
        "/%C3%A9/config",
        "/a%00b/config",
    ] {
        let reply = support::http_get(format!("http://{boot}{path}"))
            .await
            .expect("boot server answers");
        assert_eq!(reply.status().as_u16(), 404, "{path}");
    }
}

#[tokio::test]
async fn nul_inside_a_json_document_is_refused_naming_the_field() {
    let app = TestApp::start().await;
    let node = app.node(|_| {}).await;
    let cases = [
        ("extra", json!({"k\u{0}": "v"})),
        ("extra", json!({"k": ["v\u{0}"]})),
        ("properties", json!({"nested": {"k": "v\u{0}"}})),
    ];
    for (field, value) in cases {
        let reply = app
            .post(
                "/v1/volume/targets",
                &json!({"node_uuid": node.uuid, "volume_type": "iscsi", "boot_index": 0,
                        "volume_id": "vol-0", field: value}),
            )
            .await;
        reply.expect_error(
            400,
            &[&format!(
                "Invalid input for field/attribute {field}. The value contains a NUL character."
            )],
        );
        // The same through a patch of the node's documents.
        let patch = app
            .patch(
                &format!("/v1/nodes/{}", node.uuid),
                &json!([{"op": "add", "path": format!("/{field}/x"), "value": value}]),
            )
            .await;
        patch.expect_error(400, &["contains a NUL character"]);
    }
}

#[tokio::test]
async fn type_errors_of_fields_that_hold_secrets_do_not_repeat_the_value() {
    let app = TestApp::start().await;
    let node = app.node(|_| {}).await;
    const SECRET: &str = "Zq7secretvalue";
    for value in [json!(format!("auth_password={SECRET}")), json!([SECRET])] {
        let target = app
            .post(
                "/v1/volume/targets",
                &json!({"node_uuid": node.uuid, "volume_type": "iscsi", "boot_index": 0,
                        "volume_id": "vol-0", "properties": value}),
            )
            .await;
        target.expect_error(400, &["Schema error for target", "'******'"]);
        assert!(!target.text.contains(SECRET), "{}", target.text);
    }
    for field in ["driver_info", "instance_info"] {
        let value = format!("redfish_password={SECRET}");
        let create = app
            .post(
                "/v1/nodes",
                &json!({"driver": "fake-hardware", field: value}),
            )
            .await;
        create.expect_error(400, &["'******'"]);
        assert!(!create.text.contains(SECRET), "{}", create.text);
        let patch = app
            .patch(
                &format!("/v1/nodes/{}", node.uuid),
                &json!([{"op": "replace", "path": format!("/{field}"), "value": value}]),
            )
            .await;
        assert_eq!(patch.status, 400, "{}", patch.text);
        assert!(!patch.text.contains(SECRET), "{}", patch.text);
    }
}

/// Ironic reads every request body as JSON whatever its Content-Type says
/// (`pecan.request.json`), so clients that send none or a wrong one work; so does sanlink.
#[tokio::test]
async fn bodies_are_read_as_json_whatever_their_content_type() {
    let app = TestApp::start().await;
    let node = app.node(|_| {}).await;
    let body = json!({"node_uuid": node.uuid, "type": "iqn",
                      "connector_id": "iqn.2004-01.example:ct"})
    .to_string();
    for (n, content_type) in ["text/plain", "application/x-www-form-urlencoded"]
        .into_iter()
        .enumerate()
    {
        let body = body.replace(":ct", &format!(":ct{n}"));
        let reply = app
            .request("POST", "/v1/volume/connectors")
            .body_as(content_type, body)
            .send()
            .await;
        assert_eq!(reply.status, 201, "{content_type}: {}", reply.text);
    }
    // A body that is not JSON is refused as such, whatever the header claims.
    let reply = app
        .request("POST", "/v1/volume/connectors")
        .body_as("application/x-www-form-urlencoded", "node_uuid=x")
        .send()
        .await;
    reply.expect_error(400, &["The request body is not valid JSON"]);
}
