//! The boot server end to end: a boot-from-volume deploy through the API, then the
//! node's iPXE script fetched over HTTP the way a booting node fetches it (spec:
//! boot-from-volume.md §5, §6).

use crate::support;

use serde_json::{Value, json};

use support::TestApp;

const MAC: &str = "52:54:00:12:34:56";
const INITIATOR: &str = "iqn.2024-01.org.example:bfv";

fn uuid(v: &Value) -> String {
    v["uuid"].as_str().expect("uuid").to_string()
}

async fn put_state(app: &TestApp, node: &str, kind: &str, target: &str) {
    app.request("PUT", &format!("/v1/nodes/{node}/states/{kind}"))
        .json(&json!({"target": target}))
        .send()
        .await
        .expect(202);
}

/// A node that boots from an iSCSI volume: iPXE boot, direct deploy, external storage.
async fn bfv_node(app: &TestApp) -> String {
    let node = app
        .post(
            "/v1/nodes",
            &json!({
                "driver": "fake-hardware", "name": "bfv",
                "boot_interface": "ipxe", "deploy_interface": "direct",
                "storage_interface": "external",
                "properties": {"capabilities": "iscsi_boot:true"},
            }),
        )
        .await
        .expect(201)
        .json();
    let id = uuid(&node);
    app.post("/v1/ports", &json!({"node_uuid": id, "address": MAC}))
        .await
        .expect(201);
    app.post(
        "/v1/volume/connectors",
        &json!({"node_uuid": id, "type": "iqn", "connector_id": INITIATOR}),
    )
    .await
    .expect(201);
    app.post(
        "/v1/volume/targets",
        &json!({"node_uuid": id, "volume_type": "iscsi", "boot_index": 0, "volume_id": "vol-0",
                "properties": {"target_iqn": "iqn.2004-04.com.example:vol-boot",
                               "target_portal": "192.0.2.10:3260", "target_lun": 1,
                               "auth_username": "boot user", "auth_password": "pa$${word}"}}),
    )
    .await
    .expect(201);
    id
}

struct Fetched {
    status: u16,
    text: String,
}

async fn fetch(boot: &str, path: &str) -> Fetched {
    let reply = support::http_get(format!("http://{boot}{path}"))
        .await
        .expect("boot server answers");
    Fetched {
        status: reply.status().as_u16(),
        text: reply.text().await.expect("a body"),
    }
}

#[tokio::test]
async fn a_deployed_boot_from_volume_node_is_served_its_script_until_torn_down() {
    let app = TestApp::start().await;
    let boot = app.boot_listener().await;
    let boot = boot.to_string();
    let id = bfv_node(&app).await;
    let by_node = format!("/{id}/config");
    let by_mac = "/pxelinux.cfg/52-54-00-12-34-56";

    put_state(&app, &id, "power", "power off").await;
    for action in ["manage", "provide"] {
        put_state(&app, &id, "provision", action).await;
    }
    assert_eq!(fetch(&boot, &by_node).await.status, 404, "not deployed yet");

    put_state(&app, &id, "provision", "active").await;
    let node = app.get(&format!("/v1/nodes/{id}")).await.expect(200).json();
    assert_eq!(node["provision_state"], "active", "{}", node["last_error"]);

    let script = fetch(&boot, &by_node).await;
    assert_eq!(script.status, 200);
    let expected = format!(
        "#!ipxe
# Boot-from-volume script of node {id}, served from {url}.
# Rendered on each request from the node's volume targets and connectors.

goto boot_iscsi

:boot_iscsi
imgfree
set username:uristring boot%20user
set password:uristring pa%24%24%7Bword%7D
set initiator-iqn {INITIATOR}
sanhook --drive 0x80 iscsi:192.0.2.10::3260:1:iqn.2004-04.com.example:vol-boot || goto fail_iscsi_retry


sanboot --no-describe || goto fail_iscsi_retry

:fail_iscsi_retry
echo Could not attach the SAN volumes of node {id}, trying again in 10 seconds.
sleep 10
goto boot_iscsi",
        url = app.settings.boot_url,
    );
    assert_eq!(script.text, expected);
    let by_mac_script = fetch(&boot, by_mac).await;
    assert_eq!(by_mac_script.status, 200);
    assert_eq!(by_mac_script.text, expected);
    assert_eq!(
        fetch(&boot, "/pxelinux.cfg/52-54-00-00-00-00").await.status,
        404,
        "a MAC no port has"
    );

    let generic = fetch(&boot, "/boot.ipxe").await;
    assert_eq!(generic.status, 200);
    assert!(generic.text.starts_with("#!ipxe\n"));
    assert!(
        generic
            .text
            .contains("chain --autofree pxelinux.cfg/${net${nic}/mac:hexhyp}")
    );

    put_state(&app, &id, "provision", "deleted").await;
    assert_eq!(fetch(&boot, &by_node).await.status, 404);
    assert_eq!(fetch(&boot, by_mac).await.status, 404);
    assert_eq!(fetch(&boot, "/boot.ipxe").await.status, 200);
}

#[tokio::test]
async fn a_deploy_whose_extra_volume_lacks_credentials_fails() {
    let app = TestApp::start().await;
    let id = bfv_node(&app).await;
    app.post(
        "/v1/volume/targets",
        &json!({"node_uuid": id, "volume_type": "iscsi", "boot_index": 1, "volume_id": "vol-1",
                "properties": {"target_iqn": "iqn.x", "target_portal": "192.0.2.11:3260",
                               "target_lun": 0}}),
    )
    .await
    .expect(201);
    put_state(&app, &id, "power", "power off").await;
    for action in ["manage", "provide", "active"] {
        put_state(&app, &id, "provision", action).await;
    }
    let node = app.get(&format!("/v1/nodes/{id}")).await.expect(200).json();
    assert_eq!(node["provision_state"], "deploy failed");
    let error = node["last_error"].as_str().unwrap_or_default();
    assert!(error.contains("no auth_username"), "{error}");
}

/// Fibre Channel boot volumes are stored and validated, but no boot interface here can
/// boot one: validation says so, and a deploy is refused rather than reported done.
#[tokio::test]
async fn a_fibre_channel_boot_volume_fails_validation_and_deploy_with_the_reason() {
    let app = TestApp::start().await;
    let node = app
        .post(
            "/v1/nodes",
            &json!({
                "driver": "fake-hardware", "boot_interface": "ipxe",
                "deploy_interface": "direct", "storage_interface": "external",
                "properties": {"capabilities": "fibre_channel_boot:true"},
            }),
        )
        .await
        .expect(201)
        .json();
    let id = uuid(&node);
    app.post("/v1/ports", &json!({"node_uuid": id, "address": MAC}))
        .await
        .expect(201);
    app.post(
        "/v1/volume/connectors",
        &json!({"node_uuid": id, "type": "wwpn", "connector_id": "50:06:01:60:3e:a0:1b:01"}),
    )
    .await
    .expect(201);
    app.post(
        "/v1/volume/targets",
        &json!({"node_uuid": id, "volume_type": "fibre_channel", "boot_index": 0,
                "volume_id": "vol-fc", "properties": {"target_wwn": "500a098280feeba5", "target_lun": 0}}),
    )
    .await
    .expect(201);
    let validation = app
        .get(&format!("/v1/nodes/{id}/validate"))
        .await
        .expect(200)
        .json();
    assert_eq!(validation["storage"]["result"], json!(true), "{validation}");
    for kind in ["boot", "deploy"] {
        assert_eq!(validation[kind]["result"], json!(false), "{validation}");
        let reason = validation[kind]["reason"].as_str().unwrap_or_default();
        assert!(reason.contains("Fibre Channel"), "{kind}: {reason}");
    }
    put_state(&app, &id, "power", "power off").await;
    put_state(&app, &id, "provision", "manage").await;
    put_state(&app, &id, "provision", "provide").await;
    app.request("PUT", &format!("/v1/nodes/{id}/states/provision"))
        .json(&json!({"target": "active"}))
        .send()
        .await
        .expect_error(400, &["Fibre Channel"]);
    let after = app.get(&format!("/v1/nodes/{id}")).await.expect(200).json();
    assert_eq!(after["provision_state"], "available");
    assert_eq!(after["power_state"], "power off");
}
