//! Representations and spellings Ironic accepts or shows that clients depend on: paths
//! without the version prefix, booleans sent as strings, the older names of the
//! `available` and `inspect wait` states, the `fault` filter, and VIFs on a `noop`
//! network interface.

use serde_json::{Value, json};

use common::model::states::ProvisionState;

use crate::support::TestApp;

fn uuid(v: &Value) -> String {
    v["uuid"].as_str().expect("uuid").to_string()
}

async fn node(app: &TestApp, body: Value) -> String {
    uuid(&app.post("/v1/nodes", &body).await.expect(201).json())
}

#[tokio::test]
async fn paths_without_the_version_prefix_are_served_as_v1() {
    let app = TestApp::start().await;
    let n = node(&app, json!({"driver": "fake-hardware", "name": "plain"})).await;
    let mac = "52:54:00:00:0a:01";
    app.post("/v1/ports", &json!({"node_uuid": n, "address": mac}))
        .await
        .expect(201);

    let detail = app
        .get("/nodes/detail?instance_uuid=7a4a2c3e-0000-4000-8000-00000000dead")
        .await;
    assert_eq!(detail.expect(200).json(), json!({"nodes": []}));
    let shown = app.get("/nodes/plain").await.expect(200).json();
    assert_eq!(uuid(&shown), n);
    let ports = app.get(&format!("/ports/detail?address={mac}")).await;
    assert_eq!(ports.expect(200).json()["ports"][0]["address"], mac);
    // Writes too: the same handlers answer.
    app.request("PATCH", "/nodes/plain")
        .json(&json!([{"op": "add", "path": "/extra/k", "value": "v"}]))
        .send()
        .await
        .expect(200);
    assert_eq!(app.get("/v1/nodes/plain").await.json()["extra"]["k"], "v");

    // The root and the operator endpoints keep their own paths; an unknown path is
    // the routing 404 of /v1.
    assert!(app.get("/").await.expect(200).json()["versions"].is_array());
    app.get("/healthz").await.expect(200);
    let unknown = app.get("/foo").await;
    unknown.expect(404);
    assert_eq!(unknown.text, app.get("/v1/foo").await.text);
}

#[tokio::test]
async fn boolean_fields_take_ironics_boolean_words() {
    let app = TestApp::start().await;
    let n = node(&app, json!({"driver": "fake-hardware"})).await;
    for (i, (word, read)) in [("True", true), ("no", false), ("1", true), ("OFF", false)]
        .into_iter()
        .enumerate()
    {
        let body =
            json!({"node_uuid": n, "address": format!("52:54:00:00:0b:0{i}"), "pxe_enabled": word});
        let port = app.post("/v1/ports", &body).await.expect(201).json();
        assert_eq!(port["pxe_enabled"], read, "{word}");
        // Stored as the boolean: a later read agrees.
        let again = app.get(&format!("/v1/ports/{}", uuid(&port))).await.json();
        assert_eq!(again["pxe_enabled"], read, "{word}");
    }
    let body = json!({"node_uuid": n, "address": "52:54:00:00:0b:10", "pxe_enabled": "maybe"});
    app.post("/v1/ports", &body).await.expect_error(
        400,
        &["Invalid pxe_enabled: Unrecognized value 'maybe', acceptable values are: '0', '1', 'f', 'false', 'n', 'no', 'off', 'on', 't', 'true', 'y', 'yes'"],
    );
    let body = json!({"node_uuid": n, "address": "52:54:00:00:0b:11", "pxe_enabled": 1});
    app.post("/v1/ports", &body).await.expect_error(
        400,
        &["Schema error for port: 1 is not of type 'string', 'boolean', 'null'"],
    );
    // Nothing was created by the refused bodies.
    let listed = app.get(&format!("/v1/ports?node={n}")).await.json();
    assert_eq!(listed["ports"].as_array().unwrap().len(), 4);

    // A patched port and a patched node read the words the same way.
    let port = uuid(&listed["ports"][0]);
    let patched = app
        .patch(
            &format!("/v1/ports/{port}"),
            &json!([{"op": "replace", "path": "/pxe_enabled", "value": "false"}]),
        )
        .await
        .expect(200)
        .json();
    assert_eq!(patched["pxe_enabled"], false);
    app.patch(
        &format!("/v1/ports/{port}"),
        &json!([{"op": "replace", "path": "/pxe_enabled", "value": "foo"}]),
    )
    .await
    .expect_error(400, &["Invalid pxe_enabled: Unrecognized value 'foo'"]);
    let maintained = app
        .patch(
            &format!("/v1/nodes/{n}"),
            &json!([{"op": "replace", "path": "/maintenance", "value": "true"}]),
        )
        .await
        .expect(200)
        .json();
    assert_eq!(maintained["maintenance"], true);
    app.patch(
        &format!("/v1/nodes/{n}"),
        &json!([{"op": "replace", "path": "/maintenance", "value": 1}]),
    )
    .await
    .expect_error(
        400,
        &["Schema error for patch: 1 is not of type 'string', 'boolean', 'null'"],
    );
}

#[tokio::test]
async fn older_versions_see_the_older_state_names() {
    let app = TestApp::start().await;
    let available = app
        .node(|n| n.provision_state = ProvisionState::Available)
        .await;
    let enrolled = app
        .node(|n| n.provision_state = ProvisionState::Enroll)
        .await;
    let show = |v: &'static str, u: &str| {
        app.request("GET", &format!("/v1/nodes/{u}"))
            .version(v)
            .send()
    };
    assert_eq!(
        show("1.1", &available.uuid).await.expect(200).json()["provision_state"],
        Value::Null
    );
    assert_eq!(
        show("1.2", &available.uuid).await.json()["provision_state"],
        "available"
    );
    assert_eq!(
        show("1.1", &enrolled.uuid).await.json()["provision_state"],
        "enroll"
    );
    let states = app
        .request("GET", &format!("/v1/nodes/{}/states", available.uuid))
        .version("1.1")
        .send()
        .await;
    assert_eq!(states.expect(200).json()["provision_state"], Value::Null);
    let listed = app
        .request("GET", "/v1/nodes/detail")
        .version("1.1")
        .send()
        .await
        .json();
    let by_uuid = |u: &str| {
        listed["nodes"]
            .as_array()
            .unwrap()
            .iter()
            .find(|n| n["uuid"] == u)
            .cloned()
            .expect("listed")
    };
    assert_eq!(by_uuid(&available.uuid)["provision_state"], Value::Null);
    assert_eq!(by_uuid(&enrolled.uuid)["provision_state"], "enroll");

    // Before 1.39, `inspect wait` shows as `inspecting`.
    let waiting = app
        .node(|n| n.provision_state = ProvisionState::InspectWait)
        .await;
    assert_eq!(
        show("1.38", &waiting.uuid).await.json()["provision_state"],
        "inspecting"
    );
    assert_eq!(
        show("1.39", &waiting.uuid).await.json()["provision_state"],
        "inspect wait"
    );
}

#[tokio::test]
async fn nodes_filter_by_fault_from_1_42() {
    let app = TestApp::start().await;
    let failed = app.node(|n| n.fault = Some("power failure".into())).await;
    app.node(|n| n.fault = None).await;
    let list = |q: &str, v: &str| {
        app.request("GET", &format!("/v1/nodes?{q}"))
            .version(v)
            .send()
    };
    let found = list("fault=power%20failure", "1.42")
        .await
        .expect(200)
        .json();
    let uuids: Vec<&Value> = found["nodes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|n| &n["uuid"])
        .collect();
    assert_eq!(uuids, vec![&json!(failed.uuid)]);
    let none = list("fault=clean%20failure", "1.46")
        .await
        .expect(200)
        .json();
    assert_eq!(none, json!({"nodes": []}));
    list("fault=power%20failure", "1.41").await.expect_error(
        406,
        &["Request not acceptable. The minimal required API version should be 1.42"],
    );
    list("fault=foo", "1.46").await.expect_error(
        400,
        &["Unrecognized fault \"foo\" is specified, allowed faults are ('power failure', 'clean failure', 'rescue abort failure', 'service failure')"],
    );
    // The filter stays in the `next` link of a page.
    let paged = list("fault=power%20failure&limit=1", "1.46").await.json();
    assert!(
        paged["next"]
            .as_str()
            .unwrap()
            .contains("fault=power+failure"),
        "{paged}"
    );
}

#[tokio::test]
async fn a_noop_network_interface_keeps_no_vifs() {
    let app = TestApp::start().await;
    let n = node(
        &app,
        json!({"driver": "fake-hardware", "network_interface": "noop"}),
    )
    .await;
    let vifs = format!("/v1/nodes/{n}/vifs");
    // No port at all, and still accepted: nothing is bound.
    app.post(&vifs, &json!({"id": "vif-1"})).await.expect(204);
    assert_eq!(app.get(&vifs).await.expect(200).json(), json!({"vifs": []}));
    app.delete(&format!("{vifs}/vif-1")).await.expect(204);
    app.delete(&format!("{vifs}/never-attached"))
        .await
        .expect(204);
    app.post(&vifs, &json!({}))
        .await
        .expect_error(400, &["'id' is a required property"]);
    // A port of the node stays unbound.
    let port = app
        .post(
            "/v1/ports",
            &json!({"node_uuid": n, "address": "52:54:00:00:0c:01"}),
        )
        .await
        .expect(201)
        .json();
    app.post(&vifs, &json!({"id": "vif-2"})).await.expect(204);
    let shown = app.get(&format!("/v1/ports/{}", uuid(&port))).await.json();
    assert_eq!(shown["internal_info"], json!({}));
}

#[tokio::test]
async fn reset_interfaces_gives_a_new_driver_its_defaults() {
    let app = TestApp::start().await;
    let n = node(
        &app,
        json!({"driver": "fake-hardware", "boot_interface": "pxe", "power_interface": "fake"}),
    )
    .await;
    let patch = |q: &'static str, v: &'static str, ops: Value| {
        app.request("PATCH", &format!("/v1/nodes/{n}{q}"))
            .version(v)
            .json(&ops)
            .send()
    };
    let extra = json!([{"op": "add", "path": "/extra/a", "value": 1}]);
    patch("?reset_interfaces=true", "1.44", extra.clone())
        .await
        .expect_error(406, &["Request not acceptable."]);
    patch("?reset_interfaces=maybe", "1.46", extra.clone())
        .await
        .expect_error(
            400,
            &["Invalid reset_interfaces: Unrecognized value 'maybe'"],
        );
    patch("?reset_interfaces=true", "1.46", extra.clone())
        .await
        .expect_error(
            400,
            &["The reset_interfaces parameter can only be used when changing the node's driver."],
        );
    patch("?foo=bar", "1.46", extra)
        .await
        .expect_error(400, &["Unexpected arguments: foo"]);
    // The same driver again resets nothing.
    let same = json!([{"op": "replace", "path": "/driver", "value": "fake-hardware"}]);
    let kept = patch("?reset_interfaces=true", "1.46", same)
        .await
        .expect(200)
        .json();
    assert_eq!(kept["boot_interface"], "pxe");
    // A new driver: the interfaces the patch does not set take its defaults; those it
    // sets are kept.
    let to_redfish = json!([
        {"op": "replace", "path": "/driver", "value": "redfish"},
        {"op": "replace", "path": "/boot_interface", "value": "ipxe"},
    ]);
    let reset = patch("?reset_interfaces=true", "1.46", to_redfish)
        .await
        .expect(200)
        .json();
    assert_eq!(reset["driver"], "redfish");
    assert_eq!(reset["boot_interface"], "ipxe");
    assert_eq!(reset["power_interface"], "redfish");
    assert_eq!(reset["management_interface"], "redfish");
}

#[tokio::test]
async fn the_agent_api_finds_no_waiting_node_and_refuses_heartbeats() {
    let app = TestApp::start().await;
    let n = node(
        &app,
        json!({"driver": "fake-hardware", "name": "agentless"}),
    )
    .await;
    let mac = "52:54:00:00:0e:01";
    app.post("/v1/ports", &json!({"node_uuid": n, "address": mac}))
        .await
        .expect(201);
    // Even the node's own MAC finds nothing: the node does not wait for an agent.
    app.get(&format!("/v1/lookup?addresses={mac}"))
        .await
        .expect_error(404, &["Resource could not be found."]);
    app.get("/v1/lookup?addresses=zz").await.expect_error(
        400,
        &["At least one of 'addresses' and 'node_uuid' parameters is required"],
    );
    app.get("/v1/lookup?node_uuid=abc")
        .await
        .expect_error(400, &["Expected UUID for node_uuid: abc"]);
    app.request("GET", &format!("/v1/lookup?addresses={mac}"))
        .version("1.21")
        .send()
        .await
        .expect_error(404, &["Resource could not be found."]);

    let path = format!("/v1/heartbeat/{n}");
    let beat = |body: Value| app.request("POST", &path).json(&body).send();
    let cb = "http://192.0.2.1:9999";
    beat(json!({}))
        .await
        .expect_error(400, &["Missing mandatory parameter: callback_url"]);
    beat(json!({"callback_url": cb, "x": 1}))
        .await
        .expect_error(400, &["Unexpected arguments: x"]);
    beat(json!({"callback_url": cb}))
        .await
        .expect_error(400, &["Agent token is required for heartbeat processing."]);
    beat(json!({"callback_url": cb, "agent_token": "t"}))
        .await
        .expect_error(400, &["Agent did not transmit a version"]);
    beat(json!({"callback_url": cb, "agent_token": "t", "agent_version": "9.0.0"}))
        .await
        .expect_error(400, &["Invalid or missing agent token received."]);
    app.post(
        "/v1/heartbeat/7a4a2c3e-0000-4000-8000-00000000dead",
        &json!({"callback_url": cb}),
    )
    .await
    .expect_error(404, &["could not be found"]);
    // Nothing changed on the node.
    let shown = app.get(&format!("/v1/nodes/{n}")).await.json();
    assert_eq!(shown["provision_state"], "enroll");
    assert_eq!(shown["driver_internal_info"], json!({}));
}
