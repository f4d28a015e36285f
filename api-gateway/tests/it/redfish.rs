//! Redfish nodes through the API, against a real Redfish BMC: the sushy-tools
//! emulator (fake driver). Power and provision requests reach the BMC; a BMC that
//! cannot be reached or refuses the credentials shows as the node's `last_error`, and
//! the node keeps its data.

use crate::support;

use crate::sushy;

use serde_json::{Value, json};

use support::TestApp;
use sushy::{Emulator, SYSTEM_ID};

fn uuid(v: &Value) -> String {
    v["uuid"].as_str().expect("uuid").to_string()
}

async fn show(app: &TestApp, ident: &str) -> Value {
    app.get(&format!("/v1/nodes/{ident}"))
        .await
        .expect(200)
        .json()
}

async fn put_state(app: &TestApp, ident: &str, kind: &str, target: &str) {
    app.request("PUT", &format!("/v1/nodes/{ident}/states/{kind}"))
        .json(&json!({ "target": target }))
        .send()
        .await
        .expect(202);
}

/// A redfish node whose BMC is at `address`, with `extra` fields in the create body.
async fn redfish_node(app: &TestApp, address: &str, password: &str, extra: Value) -> String {
    let mut body = json!({
        "driver": "redfish",
        "name": "rf",
        "properties": {"cpus": 4},
        "driver_info": {
            "redfish_address": address,
            "redfish_system_id": SYSTEM_ID,
            "redfish_username": "admin",
            "redfish_password": password,
            "redfish_verify_ca": false,
        },
    });
    for (k, v) in extra.as_object().expect("an object") {
        body[k] = v.clone();
    }
    uuid(&app.post("/v1/nodes", &body).await.expect(201).json())
}

/// A loopback address where nothing listens.
fn closed_address() -> String {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
    format!("http://{}", listener.local_addr().expect("addr"))
}

#[tokio::test]
async fn power_requests_reach_the_bmc_and_its_state_is_read_back() {
    let bmc = Emulator::start().await;
    let app = TestApp::start().await;
    let id = redfish_node(&app, &bmc.url, "pw", json!({})).await;
    let node = show(&app, &id).await;
    assert_eq!(node["power_interface"], "redfish");
    assert_eq!(node["management_interface"], "redfish");

    put_state(&app, &id, "provision", "manage").await;
    let node = show(&app, &id).await;
    assert_eq!(
        node["provision_state"], "manageable",
        "{}",
        node["last_error"]
    );
    assert_eq!(node["power_state"], "power off");

    put_state(&app, &id, "power", "power on").await;
    let node = show(&app, &id).await;
    assert_eq!(node["power_state"], "power on", "{}", node["last_error"]);
    assert_eq!(node["target_power_state"], Value::Null);
    assert_eq!(node["last_error"], Value::Null);
    assert_eq!(bmc.system(None).await["PowerState"], "On");

    put_state(&app, &id, "power", "power off").await;
    assert_eq!(show(&app, &id).await["power_state"], "power off");
    assert_eq!(bmc.system(None).await["PowerState"], "Off");
}

#[tokio::test]
async fn an_unreachable_bmc_becomes_last_error_and_the_node_keeps_its_data() {
    let app = TestApp::start().await;
    let address = closed_address();
    let id = redfish_node(&app, &address, "s3cret-pw", json!({})).await;
    let before = show(&app, &id).await;

    put_state(&app, &id, "power", "power on").await;
    let node = show(&app, &id).await;
    let error = node["last_error"].as_str().expect("last_error is set");
    assert!(error.contains("BMC unreachable"), "{error}");
    assert!(error.contains(&address), "{error}");
    assert!(!error.contains("s3cret"), "{error}");
    assert_eq!(node["power_state"], Value::Null);
    assert_eq!(node["target_power_state"], Value::Null);
    for field in [
        "name",
        "driver",
        "driver_info",
        "properties",
        "provision_state",
    ] {
        assert_eq!(node[field], before[field], "{field}");
    }

    // Verification cannot read the power state either: the node stays enrolled.
    put_state(&app, &id, "provision", "manage").await;
    let node = show(&app, &id).await;
    assert_eq!(node["provision_state"], "enroll");
    let error = node["last_error"].as_str().expect("last_error is set");
    assert!(error.contains("BMC unreachable"), "{error}");
}

#[tokio::test]
async fn wrong_bmc_credentials_keep_the_node_enrolled_with_a_clear_error() {
    let bmc = Emulator::start_with_credentials("admin", "right-pw").await;
    let app = TestApp::start().await;
    let id = redfish_node(&app, &bmc.url, "wrong-pw", json!({})).await;
    put_state(&app, &id, "provision", "manage").await;
    let node = show(&app, &id).await;
    assert_eq!(node["provision_state"], "enroll");
    let error = node["last_error"].as_str().expect("last_error is set");
    assert!(error.contains("wrong BMC credentials"), "{error}");
    assert!(!error.contains("wrong-pw"), "{error}");
    assert_eq!(node["driver_info"]["redfish_password"], "******");

    app.patch(
        &format!("/v1/nodes/{id}"),
        &json!([{"op": "replace", "path": "/driver_info/redfish_password", "value": "right-pw"}]),
    )
    .await
    .expect(200);
    put_state(&app, &id, "provision", "manage").await;
    let node = show(&app, &id).await;
    assert_eq!(
        node["provision_state"], "manageable",
        "{}",
        node["last_error"]
    );
    assert_eq!(node["last_error"], Value::Null);
}

#[tokio::test]
async fn validation_names_a_missing_or_malformed_bmc_address() {
    let app = TestApp::start().await;
    let id = redfish_node(&app, "ftp://bmc.example", "pw", json!({})).await;
    let v = app
        .get(&format!("/v1/nodes/{id}/validate"))
        .await
        .expect(200)
        .json();
    assert_eq!(v["power"]["result"], false);
    assert!(v["power"]["reason"].as_str().unwrap().contains("http"));
    assert_eq!(v["management"]["result"], false);

    app.patch(
        &format!("/v1/nodes/{id}"),
        &json!([{"op": "remove", "path": "/driver_info/redfish_address"}]),
    )
    .await
    .expect(200);
    let v = app
        .get(&format!("/v1/nodes/{id}/validate"))
        .await
        .expect(200)
        .json();
    assert!(
        v["power"]["reason"]
            .as_str()
            .unwrap()
            .contains("redfish_address")
    );
}

#[tokio::test]
async fn an_ipxe_boot_from_volume_deploy_sets_pxe_and_powers_on_through_the_bmc() {
    let bmc = Emulator::start().await;
    let app = TestApp::start().await;
    let bfv = json!({
        "boot_interface": "ipxe", "deploy_interface": "direct",
        "storage_interface": "external",
        "properties": {"capabilities": "iscsi_boot:true"},
    });
    let id = redfish_node(&app, &bmc.url, "pw", bfv).await;
    app.post(
        "/v1/ports",
        &json!({"node_uuid": id, "address": "52:54:00:12:34:57"}),
    )
    .await
    .expect(201);
    app.post(
        "/v1/volume/connectors",
        &json!({"node_uuid": id, "type": "iqn", "connector_id": "iqn.2024-01.org.example:rf"}),
    )
    .await
    .expect(201);
    app.post(
        "/v1/volume/targets",
        &json!({"node_uuid": id, "volume_type": "iscsi", "boot_index": 0, "volume_id": "vol-rf",
                "properties": {"target_iqn": "iqn.x", "target_portal": "10.0.0.1:3260", "target_lun": 0}}),
    )
    .await
    .expect(201);
    put_state(&app, &id, "provision", "manage").await;
    put_state(&app, &id, "provision", "provide").await;

    put_state(&app, &id, "provision", "active").await;
    let node = show(&app, &id).await;
    assert_eq!(node["provision_state"], "active", "{}", node["last_error"]);
    assert_eq!(node["power_state"], "power on");
    let system = bmc.system(None).await;
    assert_eq!(system["PowerState"], "On");
    assert_eq!(system["Boot"]["BootSourceOverrideTarget"], "Pxe");

    put_state(&app, &id, "provision", "deleted").await;
    let node = show(&app, &id).await;
    assert_eq!(
        node["provision_state"], "available",
        "{}",
        node["last_error"]
    );
    assert_eq!(node["power_state"], "power off");
    assert_eq!(bmc.system(None).await["PowerState"], "Off");
}
