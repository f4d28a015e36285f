//! The node subset, ports and portgroups end to end (spec: node-subset.md, conductor.md
//! §6, boot-from-volume.md §3), through HTTP against the embedded service.

use crate::support;

use serde_json::{Value, json};

use common::model::states::{PowerState, ProvisionState};
use support::TestApp;

const INSTANCE: &str = "5f0d3c4e-8e7b-4e33-9a3a-1d2c3b4a5f60";
const OTHER_INSTANCE: &str = "6a1e4d5f-9f8c-4f44-8b4b-2e3d4c5b6a71";

async fn create(app: &TestApp, body: Value) -> Value {
    app.post("/v1/nodes", &body).await.expect(201).json()
}

async fn fake_node(app: &TestApp, name: &str) -> Value {
    create(app, json!({"driver": "fake-hardware", "name": name})).await
}

fn uuid(v: &Value) -> String {
    v["uuid"].as_str().expect("uuid").to_string()
}

async fn show(app: &TestApp, ident: &str) -> Value {
    app.get(&format!("/v1/nodes/{ident}"))
        .await
        .expect(200)
        .json()
}

async fn provision(app: &TestApp, ident: &str, target: &str) -> support::Reply {
    app.request("PUT", &format!("/v1/nodes/{ident}/states/provision"))
        .json(&json!({"target": target}))
        .send()
        .await
}

async fn power(app: &TestApp, ident: &str, target: &str) -> support::Reply {
    app.request("PUT", &format!("/v1/nodes/{ident}/states/power"))
        .json(&json!({"target": target}))
        .send()
        .await
}

async fn port(app: &TestApp, node: &str, mac: &str) -> Value {
    app.post("/v1/ports", &json!({"node_uuid": node, "address": mac}))
        .await
        .expect(201)
        .json()
}

#[tokio::test]
async fn create_show_list_patch_delete() {
    let app = TestApp::start().await;
    let reply = app
        .post(
            "/v1/nodes",
            &json!({"driver": "fake-hardware", "name": "node-1"}),
        )
        .await;
    reply.expect(201);
    let node = reply.json();
    let id = uuid(&node);
    assert!(
        reply
            .header("location")
            .unwrap()
            .ends_with(&format!("/v1/nodes/{id}"))
    );
    assert_eq!(node["provision_state"], "enroll");
    assert_eq!(node["power_state"], Value::Null);
    assert_eq!(node["boot_interface"], "fake");
    assert_eq!(node["deploy_interface"], "fake");
    assert_eq!(node["storage_interface"], "noop");
    assert_eq!(node["network_interface"], "flat");
    assert_eq!(node["conductor_group"], "");
    for link in ["ports", "states", "portgroups", "volume", "links"] {
        assert!(node[link].is_array(), "{link}");
    }

    // By name and by UUID; fields drop the link arrays.
    assert_eq!(uuid(&show(&app, "node-1").await), id);
    let subset = app
        .get(&format!("/v1/nodes/{id}?fields=uuid,traits,resource_class"))
        .await
        .expect(200)
        .json();
    let mut keys: Vec<&String> = subset.as_object().unwrap().keys().collect();
    keys.sort();
    assert_eq!(keys, ["links", "resource_class", "traits", "uuid"]);
    app.get(&format!("/v1/nodes/{id}?fields=bogus"))
        .await
        .expect(400);
    app.get("/v1/nodes/not%20a%20name").await.expect(400);
    app.get("/v1/nodes/missing")
        .await
        .expect_error(404, &["Node missing could not be found."]);

    // Lists: default fields, detail, filters.
    let list = app.get("/v1/nodes").await.expect(200).json();
    let item = &list["nodes"][0];
    let mut keys: Vec<&String> = item.as_object().unwrap().keys().collect();
    keys.sort();
    assert_eq!(
        keys,
        [
            "instance_uuid",
            "links",
            "maintenance",
            "name",
            "power_state",
            "provision_state",
            "uuid"
        ]
    );
    let detail = app.get("/v1/nodes/detail").await.expect(200).json();
    assert_eq!(detail["nodes"][0]["driver"], "fake-hardware");
    let filtered = app
        .get("/v1/nodes?provision_state=enroll&driver=fake-hardware&maintenance=false&associated=false")
        .await
        .expect(200)
        .json();
    assert_eq!(filtered["nodes"].as_array().unwrap().len(), 1);
    let none = app
        .get("/v1/nodes?provision_state=active")
        .await
        .expect(200)
        .json();
    assert!(none["nodes"].as_array().unwrap().is_empty());
    app.get("/v1/nodes?provision_state=bogus").await.expect(400);
    app.get("/v1/nodes?maintenance=maybe").await.expect(400);
    app.get("/v1/nodes?instance_uuid=nope").await.expect(400);
    fake_node(&app, "node-2").await;
    let page = app.get("/v1/nodes?limit=1").await.expect(200).json();
    assert!(page["next"].as_str().unwrap().contains("marker="));

    // PATCH and DELETE.
    let patched = app
        .patch(
            &format!("/v1/nodes/{id}"),
            &json!([
                {"op": "add", "path": "/extra/foo", "value": "bar"},
                {"op": "replace", "path": "/name", "value": "renamed"},
                {"op": "replace", "path": "/resource_class", "value": "baremetal"},
            ]),
        )
        .await
        .expect(200)
        .json();
    assert_eq!(patched["extra"], json!({"foo": "bar"}));
    assert_eq!(patched["name"], "renamed");
    assert_eq!(patched["reservation"], Value::Null);
    app.patch(
        &format!("/v1/nodes/{id}"),
        &json!([{"op": "replace", "path": "/provision_state", "value": "active"}]),
    )
    .await
    .expect(400);
    app.patch(
        &format!("/v1/nodes/{id}"),
        &json!([{"op": "replace", "path": "/name", "value": "node-2"}]),
    )
    .await
    .expect(409);
    app.delete("/v1/nodes/renamed").await.expect(204);
    app.get(&format!("/v1/nodes/{id}")).await.expect(404);
}

#[tokio::test]
async fn bad_input_is_400_never_500() {
    let app = TestApp::start().await;
    let long = "x".repeat(256);
    for (body, part) in [
        (json!({"driver": "nope"}), "No valid host"),
        (
            json!({"driver": "ipmi", "power_interface": "fake"}),
            "'ironic.hardware.interfaces.power' entrypoint: fake.",
        ),
        (
            json!({"driver": "fake-hardware", "boot_interface": "nope"}),
            "'ironic.hardware.interfaces.boot' entrypoint",
        ),
        (json!({"driver": long.clone()}), "too long"),
        (json!({"driver": "fake-hardware", "name": long}), "too long"),
        (
            json!({"driver": "fake-hardware", "name": "detail"}),
            "Cannot create node with invalid name",
        ),
        (json!({"driver": "fake-hardware", "uuid": "nope"}), "UUID"),
        (
            json!({"driver": "fake-hardware", "driver_info": "x"}),
            "object",
        ),
        (json!({"driver": 5}), "string"),
        (
            json!({"driver": "fake-hardware", "resource_class": "r".repeat(81)}),
            "too long",
        ),
        (
            json!({"driver": "fake-hardware", "conductor_group": "a b"}),
            "conductor group",
        ),
        (
            json!({"driver": "fake-hardware", "provision_state": "active"}),
            "Additional",
        ),
        (
            json!({"driver": "fake-hardware", "chassis_uuid": INSTANCE}),
            "Chassis",
        ),
    ] {
        app.post("/v1/nodes", &body)
            .await
            .expect_error(400, &[part]);
    }
    app.request("POST", "/v1/nodes")
        .body("[1,")
        .send()
        .await
        .expect(400);
    let node = fake_node(&app, "n").await;
    let id = uuid(&node);
    for ops in [
        json!([{"op": "replace", "path": "/instance_uuid", "value": "nope"}]),
        json!([{"op": "replace", "path": "/driver_info", "value": []}]),
        json!([{"op": "replace", "path": "/maintenance", "value": "maybe"}]),
        json!([{"op": "replace", "path": "/boot_interface", "value": "pxe-nope"}]),
        json!([{"op": "remove", "path": "/driver"}]),
        json!([{"op": "replace", "path": "/traits", "value": []}]),
        json!({"op": "add"}),
    ] {
        app.patch(&format!("/v1/nodes/{id}"), &ops)
            .await
            .expect(400);
    }
    app.post("/v1/nodes", &json!({"driver": "fake-hardware", "uuid": id}))
        .await
        .expect(409);
}

#[tokio::test]
async fn fields_newer_than_the_request_are_406_and_hidden() {
    let app = TestApp::start().await;
    let with_storage = json!({"driver": "fake-hardware", "storage_interface": "external"});
    app.request("POST", "/v1/nodes")
        .version("1.32")
        .json(&with_storage)
        .send()
        .await
        .expect(406);
    let node = create(&app, with_storage).await;
    let id = uuid(&node);
    assert_eq!(node["storage_interface"], "external");

    let old = app
        .request("GET", &format!("/v1/nodes/{id}"))
        .version("1.32")
        .send()
        .await
        .expect(200)
        .json();
    assert!(old.get("storage_interface").is_none());
    assert!(old.get("conductor_group").is_none());
    assert!(old["boot_interface"].is_string());
    assert!(old["volume"].is_array());
    let older = app
        .request("GET", &format!("/v1/nodes/{id}"))
        .version("1.20")
        .send()
        .await
        .expect(200)
        .json();
    assert!(older.get("boot_interface").is_none());
    assert!(older.get("volume").is_none());
    assert!(older["network_interface"].is_string());
    app.request("GET", &format!("/v1/nodes/{id}?fields=storage_interface"))
        .version("1.32")
        .send()
        .await
        .expect(406);
    app.request("GET", "/v1/nodes?conductor_group=x")
        .version("1.45")
        .send()
        .await
        .expect(406);
    app.request("PATCH", &format!("/v1/nodes/{id}"))
        .version("1.32")
        .json(&json!([{"op": "replace", "path": "/storage_interface", "value": "noop"}]))
        .send()
        .await
        .expect(406);
    // Names came with 1.5, the enroll state with 1.11.
    app.request("GET", "/v1/nodes/some-name")
        .version("1.4")
        .send()
        .await
        .expect(404);
    let legacy = app
        .request("POST", "/v1/nodes")
        .version("1.10")
        .json(&json!({"driver": "fake-hardware"}))
        .send()
        .await
        .expect(201)
        .json();
    assert_eq!(legacy["provision_state"], "available");
}

#[tokio::test]
async fn instance_uuid_is_claimed_once() {
    let app = TestApp::start().await;
    let id = uuid(&fake_node(&app, "n").await);
    let path = format!("/v1/nodes/{id}");
    let claim =
        |instance: &str| json!([{"op": "replace", "path": "/instance_uuid", "value": instance}]);
    let claimed = app.patch(&path, &claim(INSTANCE)).await.expect(200).json();
    assert_eq!(claimed["instance_uuid"], INSTANCE);
    app.patch(&path, &claim(OTHER_INSTANCE))
        .await
        .expect_error(409, &["is associated with instance"]);
    app.patch(&path, &claim(INSTANCE)).await.expect(200);
    let found = app
        .get(&format!("/v1/nodes?instance_uuid={INSTANCE}"))
        .await
        .expect(200)
        .json();
    assert_eq!(found["nodes"].as_array().unwrap().len(), 1);
    app.delete(&path).await.expect_error(409, &["associated"]);
    app.patch(&path, &json!([{"op": "remove", "path": "/instance_uuid"}]))
        .await
        .expect(200);
    let found = app
        .get(&format!("/v1/nodes?instance_uuid={INSTANCE}"))
        .await
        .expect(200)
        .json();
    assert!(found["nodes"].as_array().unwrap().is_empty());
}

#[tokio::test]
async fn power_and_maintenance() {
    let app = TestApp::start().await;
    let id = uuid(&fake_node(&app, "n").await);
    let reply = power(&app, &id, "power on").await;
    reply.expect(202);
    assert!(reply.text.is_empty());
    assert!(
        reply
            .header("location")
            .unwrap()
            .ends_with(&format!("/v1/nodes/{id}/states"))
    );
    let states = app
        .get(&format!("/v1/nodes/{id}/states"))
        .await
        .expect(200)
        .json();
    assert_eq!(states["power_state"], "power on");
    assert_eq!(states["target_power_state"], Value::Null);
    power(&app, "n", "rebooting").await.expect(202);
    power(&app, &id, "power off").await.expect(202);
    assert_eq!(show(&app, &id).await["power_state"], "power off");
    power(&app, &id, "sideways").await.expect(400);
    app.request("PUT", &format!("/v1/nodes/{id}/states/power"))
        .version("1.26")
        .json(&json!({"target": "soft power off"}))
        .send()
        .await
        .expect(406);

    // A real BMC protocol is refused up front when its address is missing.
    let ipmi = uuid(&create(&app, json!({"driver": "ipmi"})).await);
    power(&app, &ipmi, "power on")
        .await
        .expect_error(400, &["ipmi_address"]);

    app.request("PUT", &format!("/v1/nodes/{id}/maintenance"))
        .json(&json!({"reason": "disk"}))
        .send()
        .await
        .expect(202);
    let node = show(&app, &id).await;
    assert_eq!(node["maintenance"], true);
    assert_eq!(node["maintenance_reason"], "disk");
    app.delete(&format!("/v1/nodes/{id}/maintenance"))
        .await
        .expect(202);
    let node = show(&app, &id).await;
    assert_eq!(node["maintenance"], false);
    assert_eq!(node["maintenance_reason"], Value::Null);
}

#[tokio::test]
async fn provision_state_machine() {
    let app = TestApp::start().await;
    let id = uuid(&fake_node(&app, "n").await);
    provision(&app, &id, "active")
        .await
        .expect_error(400, &["can not be performed", "enroll"]);
    app.request("PUT", &format!("/v1/nodes/{id}/states/provision"))
        .version("1.3")
        .json(&json!({"target": "manage"}))
        .send()
        .await
        .expect(406);
    let reply = provision(&app, &id, "manage").await;
    reply.expect(202);
    assert!(reply.header("location").unwrap().ends_with("/states"));
    let node = show(&app, &id).await;
    assert_eq!(node["provision_state"], "manageable");
    // The fake power interface echoes the stored state, which is still unknown.
    assert_eq!(node["power_state"], Value::Null);
    provision(&app, &id, "provide").await.expect(202);
    assert_eq!(show(&app, &id).await["provision_state"], "available");
    app.request("PUT", &format!("/v1/nodes/{id}/states/provision"))
        .json(&json!({"target": "provide", "configdrive": "abc"}))
        .send()
        .await
        .expect(400);
    app.request("PUT", &format!("/v1/nodes/{id}/states/provision"))
        .json(&json!({"target": "fly"}))
        .send()
        .await
        .expect(400);
    app.request("PUT", &format!("/v1/nodes/{id}/states/provision"))
        .json(&json!({"target": "active", "configdrive": "H4sIA"}))
        .send()
        .await
        .expect(202);
    let node = show(&app, &id).await;
    assert_eq!(node["provision_state"], "active");
    assert_eq!(node["target_provision_state"], Value::Null);
    assert_eq!(node["instance_info"]["configdrive"], "******");
    app.delete(&format!("/v1/nodes/{id}"))
        .await
        .expect_error(409, &["provision state \"active\""]);
    provision(&app, &id, "deleted").await.expect(202);
    let node = show(&app, &id).await;
    assert_eq!(node["provision_state"], "available");
    assert_eq!(node["instance_info"], json!({}));
    provision(&app, &id, "manage").await.expect(202);
    app.delete(&format!("/v1/nodes/{id}")).await.expect(204);
}

/// A boot-from-volume node: iPXE boot, direct deploy, external storage.
async fn bfv_node(app: &TestApp) -> (String, String, String) {
    let node = create(
        app,
        json!({
            "driver": "fake-hardware", "name": "bfv",
            "boot_interface": "ipxe", "deploy_interface": "direct",
            "storage_interface": "external",
            "properties": {"capabilities": "iscsi_boot:true"},
        }),
    )
    .await;
    let id = uuid(&node);
    port(app, &id, "52:54:00:12:34:56").await;
    let connector = app
        .post(
            "/v1/volume/connectors",
            &json!({"node_uuid": id, "type": "iqn", "connector_id": "iqn.2024-01.org.example:bfv"}),
        )
        .await
        .expect(201)
        .json();
    let target = app
        .post(
            "/v1/volume/targets",
            &json!({"node_uuid": id, "volume_type": "iscsi", "boot_index": 0, "volume_id": "vol-0",
                    "properties": {"target_iqn": "iqn.x", "target_portal": "10.0.0.1:3260", "target_lun": 0}}),
        )
        .await
        .expect(201)
        .json();
    (id, uuid(&connector), uuid(&target))
}

#[tokio::test]
async fn boot_from_volume_deploy_and_tear_down() {
    let app = TestApp::start().await;
    let (id, connector, target) = bfv_node(&app).await;
    power(&app, &id, "power off").await.expect(202);
    provision(&app, &id, "manage").await.expect(202);
    provision(&app, &id, "provide").await.expect(202);
    let path = format!("/v1/nodes/{id}");
    app.patch(
        &path,
        &json!([
            {"op": "replace", "path": "/instance_uuid", "value": INSTANCE},
            {"op": "add", "path": "/instance_info/root_gb", "value": "10"},
        ]),
    )
    .await
    .expect(200);
    app.post(&format!("{path}/vifs"), &json!({"id": "vif-1"}))
        .await
        .expect(204);

    let validation = app
        .get(&format!("{path}/validate"))
        .await
        .expect(200)
        .json();
    for key in [
        "boot",
        "deploy",
        "power",
        "storage",
        "network",
        "management",
    ] {
        assert_eq!(validation[key], json!({"result": true}), "{key}");
    }

    provision(&app, &id, "active").await.expect(202);
    let node = show(&app, &id).await;
    assert_eq!(node["provision_state"], "active", "{}", node["last_error"]);
    assert_eq!(node["power_state"], "power on");
    assert_eq!(
        node["driver_internal_info"]["boot_from_volume"],
        target.as_str()
    );

    provision(&app, &id, "deleted").await.expect(202);
    let node = show(&app, &id).await;
    assert_eq!(node["provision_state"], "available");
    assert_eq!(node["power_state"], "power off");
    assert_eq!(node["instance_uuid"], Value::Null);
    assert_eq!(node["instance_info"], json!({}));
    assert!(
        node["driver_internal_info"]
            .get("boot_from_volume")
            .is_none()
    );
    app.get(&format!("/v1/volume/targets/{target}"))
        .await
        .expect(404);
    app.get(&format!("/v1/volume/connectors/{connector}"))
        .await
        .expect(200);
    let vifs = app.get(&format!("{path}/vifs")).await.expect(200).json();
    assert_eq!(vifs, json!({"vifs": []}));
}

#[tokio::test]
async fn validate_reports_every_interface() {
    let app = TestApp::start().await;
    let id = uuid(&fake_node(&app, "n").await);
    let validation = app
        .get(&format!("/v1/nodes/{id}/validate"))
        .await
        .expect(200)
        .json();
    let mut keys: Vec<&String> = validation.as_object().unwrap().keys().collect();
    keys.sort();
    assert_eq!(
        keys,
        [
            "bios",
            "boot",
            "console",
            "deploy",
            "firmware",
            "inspect",
            "management",
            "network",
            "power",
            "raid",
            "rescue",
            "storage"
        ]
    );
    assert_eq!(validation["storage"], json!({"result": true}));

    // Cinder: no endpoint is configured, and an iqn connector needs iPXE.
    let cinder = uuid(
        &create(
            &app,
            json!({"driver": "fake-hardware", "storage_interface": "cinder"}),
        )
        .await,
    );
    let v = app
        .get(&format!("/v1/nodes/{cinder}/validate"))
        .await
        .expect(200)
        .json();
    assert_eq!(v["storage"]["result"], false);
    assert!(v["storage"]["reason"].as_str().unwrap().contains("Cinder"));

    // External with a boot volume but a boot interface that cannot iPXE.
    let external = uuid(
        &create(
            &app,
            json!({"driver": "ipmi", "storage_interface": "external", "boot_interface": "pxe"}),
        )
        .await,
    );
    app.post(
        "/v1/volume/targets",
        &json!({"node_uuid": external, "volume_type": "iscsi", "boot_index": 0, "volume_id": "v"}),
    )
    .await
    .expect(201);
    let v = app
        .get(&format!("/v1/nodes/{external}/validate"))
        .await
        .expect(200)
        .json();
    assert_eq!(v["storage"]["result"], false);
    assert!(v["storage"]["reason"].as_str().unwrap().contains("ipxe"));
    assert_eq!(v["power"]["result"], false);
    assert_eq!(v["bios"]["result"], false);
    assert!(v["bios"]["reason"].is_string());
}

#[tokio::test]
async fn vifs_bind_to_free_ports() {
    let app = TestApp::start().await;
    let a = uuid(&fake_node(&app, "a").await);
    let b = uuid(&fake_node(&app, "b").await);
    let vifs = |n: &str| format!("/v1/nodes/{n}/vifs");
    app.request("GET", &vifs(&a))
        .version("1.27")
        .send()
        .await
        .expect(404);
    app.post(&vifs(&a), &json!({"id": "vif-1"}))
        .await
        .expect_error(400, &["not enough free physical ports"]);
    let p = port(&app, &a, "52:54:00:00:00:01").await;
    port(&app, &b, "52:54:00:00:00:02").await;
    app.post(&vifs(&a), &json!({"id": "vif-1"}))
        .await
        .expect(204);
    assert_eq!(
        app.get(&vifs(&a)).await.expect(200).json(),
        json!({"vifs": [{"id": "vif-1"}]})
    );
    let bound = app
        .get(&format!("/v1/ports/{}", uuid(&p)))
        .await
        .expect(200)
        .json();
    assert_eq!(bound["internal_info"]["tenant_vif_port_id"], "vif-1");
    app.post(&vifs(&b), &json!({"id": "vif-1"}))
        .await
        .expect(409);
    app.post(&vifs(&a), &json!({"id": "vif-2"}))
        .await
        .expect(400);
    app.post(&vifs(&a), &json!({"id": 5})).await.expect(400);
    app.delete(&format!("/v1/ports/{}", uuid(&p)))
        .await
        .expect_error(409, &["bound to VIF"]);
    app.delete(&format!("{}/vif-1", vifs(&a))).await.expect(204);
    app.delete(&format!("{}/vif-1", vifs(&a)))
        .await
        .expect_error(400, &["not attached"]);
}

#[tokio::test]
async fn ports_and_portgroups() {
    let app = TestApp::start().await;
    let node = uuid(&fake_node(&app, "n").await);
    let reply = app
        .post(
            "/v1/ports",
            &json!({"node_uuid": node, "address": "52:54:00:AB:CD:EF"}),
        )
        .await;
    reply.expect(201);
    let p = reply.json();
    assert!(
        reply
            .header("location")
            .unwrap()
            .ends_with(&format!("/v1/ports/{}", uuid(&p)))
    );
    assert_eq!(p["address"], "52:54:00:ab:cd:ef");
    assert_eq!(p["node_uuid"], node.as_str());
    assert_eq!(p["pxe_enabled"], true);
    assert_eq!(p["portgroup_uuid"], Value::Null);

    app.post(
        "/v1/ports",
        &json!({"node_uuid": node, "address": "52:54:00:ab:cd:ef"}),
    )
    .await
    .expect(409);
    for body in [
        json!({"node_uuid": node, "address": "not-a-mac"}),
        json!({"node_uuid": node, "address": "x".repeat(40)}),
        json!({"node_uuid": node}),
        json!({"node_uuid": INSTANCE, "address": "52:54:00:00:00:09"}),
        json!({"node_uuid": "nope", "address": "52:54:00:00:00:09"}),
        json!({"node_uuid": node, "address": "52:54:00:00:00:09", "internal_info": {}}),
    ] {
        app.post("/v1/ports", &body).await.expect(400);
    }
    app.request("POST", "/v1/ports")
        .version("1.18")
        .json(&json!({"node_uuid": node, "address": "52:54:00:00:00:09", "pxe_enabled": false}))
        .send()
        .await
        .expect(406);

    let detail = app
        .get(&format!(
            "/v1/ports/detail?node={node}&address=52:54:00:AB:CD:EF"
        ))
        .await
        .expect(200)
        .json();
    let item = &detail["ports"][0];
    for key in [
        "uuid",
        "address",
        "node_uuid",
        "internal_info",
        "extra",
        "portgroup_uuid",
        "pxe_enabled",
    ] {
        assert!(item.get(key).is_some(), "{key}");
    }
    let list = app.get("/v1/ports?node=n").await.expect(200).json();
    assert_eq!(list["ports"].as_array().unwrap().len(), 1);
    app.get("/v1/ports?address=bogus").await.expect(400);
    app.get(&format!("/v1/ports?node={INSTANCE}"))
        .await
        .expect(404);

    let path = format!("/v1/ports/{}", uuid(&p));
    let patched = app
        .patch(&path, &json!([{"op": "add", "path": "/extra/switch", "value": "sw1"},
                               {"op": "replace", "path": "/address", "value": "52:54:00:00:00:AA"}]))
        .await
        .expect(200)
        .json();
    assert_eq!(patched["extra"], json!({"switch": "sw1"}));
    assert_eq!(patched["address"], "52:54:00:00:00:aa");
    app.patch(
        &path,
        &json!([{"op": "replace", "path": "/address", "value": "bad"}]),
    )
    .await
    .expect(400);
    app.patch(
        &path,
        &json!([{"op": "replace", "path": "/internal_info", "value": {}}]),
    )
    .await
    .expect(400);
    app.delete(&path).await.expect(204);
    app.get(&path).await.expect(404);
    app.get("/v1/ports/nope").await.expect(400);

    let groups = app
        .get(&format!("/v1/portgroups/detail?node={node}"))
        .await
        .expect(200)
        .json();
    assert_eq!(groups, json!({"portgroups": []}));
    app.get("/v1/portgroups?address=nope").await.expect(400);
    app.get(&format!("/v1/portgroups?node={INSTANCE}"))
        .await
        .expect(404);
}

#[tokio::test]
async fn deletion_cascades_and_respects_state() {
    let app = TestApp::start().await;
    let (id, connector, target) = bfv_node(&app).await;
    provision(&app, &id, "manage").await.expect(202);
    app.patch(
        &format!("/v1/nodes/{id}"),
        &json!([{"op": "replace", "path": "/driver", "value": "ipmi"}]),
    )
    .await
    .expect_error(400, &["interfaces.bios' entrypoint: fake"]);
    app.delete(&format!("/v1/nodes/{id}")).await.expect(204);
    app.get(&format!("/v1/volume/connectors/{connector}"))
        .await
        .expect(404);
    app.get(&format!("/v1/volume/targets/{target}"))
        .await
        .expect(404);
    let ports = app.get("/v1/ports").await.expect(200).json();
    assert!(ports["ports"].as_array().unwrap().is_empty());
}

#[tokio::test]
async fn interfaces_change_only_out_of_service_and_updates_wait_for_locks() {
    let app = TestApp::start().await;
    let id = uuid(&fake_node(&app, "n").await);
    let path = format!("/v1/nodes/{id}");
    let uuid2 = id.clone();
    let node = app
        .db_run(move |conn| common::db::nodes::get_by_uuid(conn, &uuid2))
        .await;
    app.set_states(node.id, Some(PowerState::On), ProvisionState::Active)
        .await;
    let extra = json!([{"op": "add", "path": "/extra/a", "value": "b"}]);
    app.patch(&path, &extra).await.expect(200);
    app.patch(
        &path,
        &json!([{"op": "replace", "path": "/boot_interface", "value": "ipxe"}]),
    )
    .await
    .expect_error(409, &["boot_interface"]);

    app.set_reservation(node.id, Some("other-host")).await;
    app.patch(&path, &extra)
        .await
        .expect_error(409, &["locked by host other-host"]);
    provision(&app, &id, "deleted").await.expect(409);
    power(&app, &id, "power off").await.expect(409);
    // Validation takes no lock.
    app.get(&format!("{path}/validate")).await.expect(200);
}

#[tokio::test]
async fn inspection_and_adoption_as_the_fake_interfaces_do_them() {
    let app = TestApp::start().await;
    let n = uuid(&fake_node(&app, "inspected").await);
    provision(&app, &n, "inspect")
        .await
        .expect_error(400, &["can not be performed", "\"enroll\""]);
    provision(&app, &n, "manage").await.expect(202);
    provision(&app, &n, "inspect").await.expect(202);
    let inspected = show(&app, &n).await;
    assert_eq!(inspected["provision_state"], "manageable");
    assert!(
        inspected["inspection_finished_at"].is_string(),
        "{inspected}"
    );
    // Adoption takes the node as deployed.
    provision(&app, &n, "adopt").await.expect(202);
    assert_eq!(show(&app, &n).await["provision_state"], "active");
    provision(&app, &n, "adopt")
        .await
        .expect_error(400, &["\"active\""]);

    let none = uuid(
        &create(
            &app,
            json!({"driver": "fake-hardware", "inspect_interface": "no-inspect"}),
        )
        .await,
    );
    provision(&app, &none, "manage").await.expect(202);
    provision(&app, &none, "inspect").await.expect_error(
        400,
        &["Driver fake-hardware does not support inspect (disabled or not implemented)."],
    );
    assert_eq!(show(&app, &none).await["provision_state"], "manageable");
}
