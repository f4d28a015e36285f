//! The OpenAPI document: served at `/v1/openapi.json` without a version header, and
//! checked in as `docs/openapi.json`, which must be what the code generates.

use crate::support;

use support::TestApp;

const CHECKED_IN: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../docs/openapi.json");

#[test]
fn the_checked_in_document_is_up_to_date() {
    let generated = api_gateway::openapi_document();
    if std::env::var_os("UPDATE_OPENAPI").is_some() {
        std::fs::write(CHECKED_IN, &generated).expect("write docs/openapi.json");
    }
    let checked_in = std::fs::read_to_string(CHECKED_IN).unwrap_or_default();
    assert!(
        checked_in == generated,
        "docs/openapi.json is out of date: run `UPDATE_OPENAPI=1 cargo test -p api-gateway --test it openapi::`"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_document_is_served_without_a_version_header() {
    let app = TestApp::start().await;
    let reply = app
        .request("GET", "/v1/openapi.json")
        .no_version()
        .send()
        .await;
    reply.expect(200);
    assert_eq!(reply.header("content-type"), Some("application/json"));
    assert_eq!(reply.text, api_gateway::openapi_document());
    let doc = reply.json();
    assert!(doc["openapi"].as_str().unwrap().starts_with("3."));
    // Every operation documents the version header and the Ironic error body.
    let mut operations = 0;
    for (path, item) in doc["paths"].as_object().unwrap() {
        for (method, op) in item.as_object().unwrap() {
            operations += 1;
            let params = op["parameters"].as_array().expect("parameters");
            assert!(
                params
                    .iter()
                    .any(|p| p["name"] == "X-OpenStack-Ironic-API-Version"),
                "{method} {path}"
            );
            assert_eq!(
                op["responses"]["4XX"]["content"]["application/json"]["schema"]["$ref"],
                "#/components/schemas/Error",
                "{method} {path}"
            );
        }
    }
    assert!(operations >= 40, "{operations} operations");
}
