//! Node management through the API: the boot device (`/management/boot_device`, its
//! `/supported` list), NMI injection (1.29) and the serial console (`/states/console`,
//! the node's `console_enabled`), with Ironic 39's statuses, bodies and texts, on
//! fake-hardware and against a Redfish BMC (sushy-emulator).

use crate::support;
use crate::sushy;

use serde_json::{Value, json};

use common::model::states::ProvisionState;
use support::TestApp;
use sushy::{Emulator, SYSTEM_ID};

const BOOL_WORDS: &str = "acceptable values are: '0', '1', 'f', 'false', 'n', 'no', 'off', 'on', 't', 'true', 'y', 'yes'";

async fn fake_node(app: &TestApp, name: &str, extra: Value) -> String {
    let mut body = json!({"driver": "fake-hardware", "name": name});
    for (k, v) in extra.as_object().expect("an object") {
        body[k] = v.clone();
    }
    let node = app.post("/v1/nodes", &body).await.expect(201).json();
    node["uuid"].as_str().expect("uuid").to_string()
}

async fn put(app: &TestApp, path: &str, body: Value) -> support::Reply {
    app.request("PUT", path).json(&body).send().await
}

#[tokio::test]
async fn fake_management_answers_as_ironics_fake_interface() {
    let app = TestApp::start().await;
    fake_node(&app, "m1", json!({})).await;
    let path = "/v1/nodes/m1/management/boot_device";
    let current = app.get(path).await.expect(200).json();
    assert_eq!(current, json!({"boot_device": "pxe", "persistent": false}));
    let supported = app
        .get(&format!("{path}/supported"))
        .await
        .expect(200)
        .json();
    assert_eq!(supported, json!({"supported_boot_devices": ["pxe"]}));

    let r = put(
        &app,
        path,
        json!({"boot_device": "pxe", "persistent": true}),
    )
    .await;
    r.expect(204);
    assert!(r.text.is_empty());
    // Arguments may come in the query, and booleans as Ironic's words.
    app.request("PUT", &format!("{path}?boot_device=pxe&persistent=yes"))
        .send()
        .await
        .expect(204);
    put(&app, path, json!({"boot_device": "disk"}))
        .await
        .expect_error(400, &["Invalid boot device disk specified."]);
    put(&app, path, json!({"boot_device": null}))
        .await
        .expect_error(400, &["Invalid boot device None specified."]);
}

#[tokio::test]
async fn boot_device_arguments_are_checked_as_ironic_checks_them() {
    let app = TestApp::start().await;
    fake_node(&app, "m1", json!({})).await;
    let path = "/v1/nodes/m1/management/boot_device";
    let cases = [
        (
            json!({"persistent": true}),
            "Missing mandatory parameter: boot_device".to_string(),
        ),
        (
            json!([]),
            "Missing mandatory parameter: boot_device".to_string(),
        ),
        (
            json!({"boot_device": 5}),
            "Expected string for boot_device: 5".to_string(),
        ),
        (
            json!({"boot_device": true}),
            "Expected string for boot_device: True".to_string(),
        ),
        (
            json!({"boot_device": "pxe", "persistent": "maybe"}),
            format!("Invalid persistent: Unrecognized value 'maybe', {BOOL_WORDS}"),
        ),
        (
            json!({"boot_device": "pxe", "persistent": 0.0}),
            format!("Invalid persistent: Unrecognized value '0.0', {BOOL_WORDS}"),
        ),
        (
            json!({"boot_device": "pxe", "a": 1, "b": 2}),
            "Unexpected arguments: a, b".to_string(),
        ),
    ];
    for (body, text) in cases {
        let r = put(&app, path, body.clone()).await;
        r.expect(400);
        assert_eq!(r.fault(), text, "{body}");
    }
    app.get(&format!("{path}?x=1"))
        .await
        .expect_error(400, &["Unexpected arguments: x"]);
    app.get(&format!("{path}/supported?x=1"))
        .await
        .expect_error(400, &["Unexpected arguments: x"]);
    // Arguments are checked before the node is looked up.
    put(
        &app,
        "/v1/nodes/nope/management/boot_device",
        json!({"boot_device": 5}),
    )
    .await
    .expect_error(400, &["Expected string"]);
    put(
        &app,
        "/v1/nodes/nope/management/boot_device",
        json!({"boot_device": "pxe"}),
    )
    .await
    .expect_error(404, &["Node nope could not be found."]);
}

#[tokio::test]
async fn inject_nmi_exists_from_1_29_and_fake_management_refuses_it() {
    let app = TestApp::start().await;
    let uuid = fake_node(&app, "m1", json!({})).await;
    let path = format!("/v1/nodes/{uuid}/management/inject_nmi");
    app.request("PUT", &path)
        .version("1.28")
        .send()
        .await
        .expect_error(404, &["Resource could not be found."]);
    for body in ["", "{}", "[]", "not json"] {
        app.request("PUT", &path)
            .body(body)
            .send()
            .await
            .expect_error(
                400,
                &["Driver fake-hardware does not support inject_nmi (disabled or not implemented)."],
            );
    }
    put(&app, &path, json!({"a": 1}))
        .await
        .expect_error(400, &["Unexpected arguments: a"]);
    app.request("PUT", "/v1/nodes/nope/management/inject_nmi")
        .send()
        .await
        .expect_error(404, &["Node nope could not be found."]);
}

#[tokio::test]
async fn the_fake_console_is_enabled_and_shows_in_the_node() {
    let app = TestApp::start().await;
    let uuid = fake_node(&app, "m1", json!({})).await;
    let path = "/v1/nodes/m1/states/console";
    let off = json!({"console_enabled": false, "console_info": null});
    assert_eq!(app.get(path).await.expect(200).json(), off);

    let r = put(&app, path, json!({"enabled": true})).await;
    r.expect(202);
    assert!(r.text.is_empty());
    assert_eq!(
        r.header("location"),
        Some(format!("{}/v1/nodes/m1/states/console", app.base_url).as_str())
    );
    let on = json!({"console_enabled": true, "console_info": {}});
    assert_eq!(app.get(path).await.expect(200).json(), on);
    let node = app
        .get(&format!("/v1/nodes/{uuid}"))
        .await
        .expect(200)
        .json();
    assert_eq!(node["console_enabled"], true);
    let states = app.get("/v1/nodes/m1/states").await.expect(200).json();
    assert_eq!(states["console_enabled"], true);
    let list = app
        .get("/v1/nodes?fields=uuid,console_enabled")
        .await
        .expect(200)
        .json();
    assert_eq!(list["nodes"][0]["console_enabled"], true);
    // Asking again for the state it is in is accepted.
    put(&app, path, json!({"enabled": "on"})).await.expect(202);

    put(&app, path, json!({"enabled": "off"})).await.expect(202);
    assert_eq!(app.get(path).await.expect(200).json(), off);
    let node = app
        .get(&format!("/v1/nodes/{uuid}"))
        .await
        .expect(200)
        .json();
    assert_eq!(node["console_enabled"], false);
}

#[tokio::test]
async fn console_arguments_and_no_console() {
    let app = TestApp::start().await;
    fake_node(&app, "m1", json!({"console_interface": "no-console"})).await;
    let path = "/v1/nodes/m1/states/console";
    put(&app, path, json!({}))
        .await
        .expect_error(400, &["Missing mandatory parameter: enabled"]);
    let r = put(&app, path, json!({"enabled": "x"})).await;
    r.expect(400);
    assert_eq!(
        r.fault(),
        format!("Invalid enabled: Unrecognized value 'x', {BOOL_WORDS}")
    );
    put(&app, path, json!({"enabled": true, "a": 1}))
        .await
        .expect_error(400, &["Unexpected arguments: a"]);
    // no-console: reading says disabled, changing is refused naming the interface.
    let off = json!({"console_enabled": false, "console_info": null});
    assert_eq!(app.get(path).await.expect(200).json(), off);
    for enabled in [true, false] {
        put(&app, path, json!({ "enabled": enabled }))
            .await
            .expect_error(
                400,
                &["Driver fake-hardware does not support console (disabled or not implemented)."],
            );
    }
    put(
        &app,
        "/v1/nodes/nope/states/console",
        json!({"enabled": true}),
    )
    .await
    .expect_error(404, &["Node nope could not be found."]);
}

#[tokio::test]
async fn a_locked_node_refuses_what_takes_its_lock() {
    let app = TestApp::start().await;
    let uuid = fake_node(&app, "m1", json!({})).await;
    let node = app
        .db_run({
            let uuid = uuid.clone();
            move |conn| common::db::nodes::get_by_ident(conn, &uuid)
        })
        .await;
    app.set_reservation(node.id, Some("other-host")).await;
    let locked = "locked by host other-host";
    let mgmt = "/v1/nodes/m1/management";
    app.get(&format!("{mgmt}/boot_device"))
        .await
        .expect_error(409, &[locked]);
    put(
        &app,
        &format!("{mgmt}/boot_device"),
        json!({"boot_device": "pxe"}),
    )
    .await
    .expect_error(409, &[locked]);
    // The fake interface refuses NMIs only once it holds the lock.
    app.request("PUT", &format!("{mgmt}/inject_nmi"))
        .send()
        .await
        .expect_error(409, &[locked]);
    // Reading the supported devices and the console takes no lock; nor does asking
    // for the console state it is already in.
    app.get(&format!("{mgmt}/boot_device/supported"))
        .await
        .expect(200);
    app.get("/v1/nodes/m1/states/console").await.expect(200);
    put(
        &app,
        "/v1/nodes/m1/states/console",
        json!({"enabled": false}),
    )
    .await
    .expect(202);
    put(
        &app,
        "/v1/nodes/m1/states/console",
        json!({"enabled": true}),
    )
    .await
    .expect_error(409, &[locked]);
    app.set_reservation(node.id, None).await;
    put(
        &app,
        "/v1/nodes/m1/states/console",
        json!({"enabled": true}),
    )
    .await
    .expect(202);
}

#[tokio::test]
async fn no_provision_state_or_maintenance_stops_them() {
    let app = TestApp::start().await;
    let uuid = fake_node(&app, "m1", json!({})).await;
    let node = app
        .db_run(move |conn| common::db::nodes::get_by_ident(conn, &uuid))
        .await;
    app.request("PUT", "/v1/nodes/m1/maintenance")
        .send()
        .await
        .expect(202);
    for state in [ProvisionState::Active, ProvisionState::DeployFailed] {
        app.set_states(node.id, None, state).await;
        app.get("/v1/nodes/m1/management/boot_device")
            .await
            .expect(200);
        put(
            &app,
            "/v1/nodes/m1/management/boot_device",
            json!({"boot_device": "pxe"}),
        )
        .await
        .expect(204);
        let enabled = state == ProvisionState::Active;
        put(
            &app,
            "/v1/nodes/m1/states/console",
            json!({ "enabled": enabled }),
        )
        .await
        .expect(202);
    }
}

/// A redfish node whose BMC is the emulator.
async fn redfish_node(app: &TestApp, bmc: &Emulator) -> String {
    let body = json!({
        "driver": "redfish",
        "name": "rf",
        "driver_info": {
            "redfish_address": bmc.url,
            "redfish_system_id": SYSTEM_ID,
            "redfish_username": "admin",
            "redfish_password": "pw",
        },
    });
    let node = app.post("/v1/nodes", &body).await.expect(201).json();
    node["uuid"].as_str().expect("uuid").to_string()
}

#[tokio::test]
async fn redfish_boot_device_and_nmi_reach_the_bmc() {
    let bmc = Emulator::start().await;
    let app = TestApp::start().await;
    redfish_node(&app, &bmc).await;
    let path = "/v1/nodes/rf/management/boot_device";
    assert_eq!(
        app.get(path).await.expect(200).json(),
        json!({"boot_device": "disk", "persistent": true})
    );
    assert_eq!(
        app.get(&format!("{path}/supported"))
            .await
            .expect(200)
            .json(),
        json!({"supported_boot_devices": ["pxe", "disk", "cdrom", "uefihttp"]})
    );
    put(
        &app,
        path,
        json!({"boot_device": "cdrom", "persistent": false}),
    )
    .await
    .expect(204);
    assert_eq!(
        bmc.system(None).await["Boot"]["BootSourceOverrideTarget"],
        "Cd"
    );
    assert_eq!(
        app.get(path).await.expect(200).json()["boot_device"],
        "cdrom"
    );
    // Not among the BMC's AllowableValues.
    put(&app, path, json!({"boot_device": "bios"}))
        .await
        .expect_error(400, &["Invalid boot device bios specified."]);
    // The emulator's fake driver does not emulate NMIs: its 501 is the failure shown.
    app.request("PUT", "/v1/nodes/rf/management/inject_nmi")
        .send()
        .await
        .expect_error(500, &["inject an NMI", "HTTP 501"]);
    // Redfish offers no console interface: no-console.
    put(
        &app,
        "/v1/nodes/rf/states/console",
        json!({"enabled": true}),
    )
    .await
    .expect_error(
        400,
        &["Driver redfish does not support console (disabled or not implemented)."],
    );
}

#[tokio::test]
async fn an_unreachable_bmc_is_a_server_error_naming_it() {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
    let address = format!("http://{}", listener.local_addr().expect("addr"));
    drop(listener);
    let app = TestApp::start().await;
    let body = json!({"driver": "redfish", "name": "rf",
        "driver_info": {"redfish_address": address}});
    app.post("/v1/nodes", &body).await.expect(201);
    app.get("/v1/nodes/rf/management/boot_device")
        .await
        .expect_error(500, &["BMC unreachable", &address]);
    // driver_info the interface cannot use is the client's fault.
    let patch = json!([{"op": "replace", "path": "/driver_info", "value": {}}]);
    app.patch("/v1/nodes/rf", &patch).await.expect(200);
    app.get("/v1/nodes/rf/management/boot_device")
        .await
        .expect_error(400, &["redfish_address"]);
}
