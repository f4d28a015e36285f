//! The drivers API, node BIOS settings, target RAID configurations, vendor passthru and
//! rescue, through HTTP against the service (in-process or over RabbitMQ).

use crate::support;

use serde_json::{Value, json};

use common::hardware::{self, HARDWARE_TYPES, INTERFACES};
use common::model::node::Node;
use common::model::states::{PowerState, ProvisionState};
use support::TestApp;

/// A node straight in the database, with every interface at its default and then
/// `edit` applied.
async fn node_in(app: &TestApp, state: ProvisionState, edit: impl FnOnce(&mut Node)) -> Node {
    app.node(|n| {
        for kind in INTERFACES {
            let default = hardware::default_interface(&n.driver, kind).map(str::to_string);
            n.interfaces.set(kind, default);
        }
        n.provision_state = state;
        n.power_state = Some(PowerState::On);
        edit(n);
    })
    .await
}

async fn show(app: &TestApp, ident: &str) -> Value {
    app.get(&format!("/v1/nodes/{ident}"))
        .await
        .expect(200)
        .json()
}

async fn provision(app: &TestApp, ident: &str, body: Value) -> support::Reply {
    app.request("PUT", &format!("/v1/nodes/{ident}/states/provision"))
        .json(&body)
        .send()
        .await
}

#[tokio::test]
async fn drivers_are_the_hardware_types_of_the_live_conductors() {
    let app = TestApp::start().await;
    let host = app.settings.conductor_hostname.clone();
    let list = app.get("/v1/drivers").await.expect(200).json();
    let drivers = list["drivers"].as_array().unwrap();
    let names: Vec<&str> = drivers
        .iter()
        .map(|d| d["name"].as_str().unwrap())
        .collect();
    assert_eq!(names, HARDWARE_TYPES);
    for d in drivers {
        assert!(d["hosts"].as_array().unwrap().contains(&json!(host)), "{d}");
        assert_eq!(d["type"], "dynamic");
        assert!(
            d["links"][0]["href"]
                .as_str()
                .unwrap()
                .ends_with(&format!("/v1/drivers/{}", d["name"].as_str().unwrap()))
        );
        assert!(
            d["properties"][0]["href"]
                .as_str()
                .unwrap()
                .ends_with("/properties")
        );
        assert!(
            d.get("default_boot_interface").is_none(),
            "no detail without ?detail"
        );
    }
    // Before 1.14 no properties links, before 1.30 no type.
    let old = app
        .request("GET", "/v1/drivers")
        .version("1.13")
        .send()
        .await;
    let first = &old.expect(200).json()["drivers"][0];
    assert!(first.get("properties").is_none() && first.get("type").is_none());

    let detail = app.get("/v1/drivers?detail=true").await.expect(200).json();
    let fake = &detail["drivers"][0];
    assert_eq!(fake["default_deploy_interface"], "fake");
    assert_eq!(fake["default_storage_interface"], "noop");
    assert_eq!(fake["default_network_interface"], "flat");
    assert_eq!(fake["enabled_raid_interfaces"], json!(["fake", "no-raid"]));
    assert_eq!(
        fake["enabled_rescue_interfaces"],
        json!(["fake", "no-rescue"])
    );

    assert_eq!(
        app.get("/v1/drivers?type=classic").await.expect(200).json(),
        json!({"drivers": []})
    );
    assert_eq!(
        app.get("/v1/drivers?type=dynamic").await.expect(200).json()["drivers"]
            .as_array()
            .unwrap()
            .len(),
        3
    );
    app.get("/v1/drivers?type=foo").await.expect_error(
        400,
        &["\"type\" filter must be one of \"classic\" or \"dynamic\", if specified."],
    );
    app.get("/v1/drivers?detail=maybe")
        .await
        .expect_error(400, &["Invalid detail: Unrecognized value 'maybe'"]);
    app.get("/v1/drivers?colour=blue")
        .await
        .expect_error(400, &["Unexpected arguments: colour"]);
    app.get("/v1/drivers?fields=name")
        .await
        .expect_error(406, &["Request not acceptable."]);
    for query in ["?detail=true", "?detail=false", "?type=dynamic"] {
        app.request("GET", &format!("/v1/drivers{query}"))
            .version("1.29")
            .send()
            .await
            .expect_error(406, &["The minimal required API version should be 1.30"]);
    }
}

#[tokio::test]
async fn a_driver_shows_the_interfaces_nodes_get_and_accept() {
    let app = TestApp::start().await;
    for driver in HARDWARE_TYPES {
        let shown = app
            .get(&format!("/v1/drivers/{driver}"))
            .await
            .expect(200)
            .json();
        assert_eq!(shown["name"], driver);
        // One source of truth: a new node gets exactly the defaults shown, and every
        // enabled interface is one node creation accepts.
        let node = app
            .post("/v1/nodes", &json!({"driver": driver}))
            .await
            .expect(201)
            .json();
        for kind in INTERFACES {
            assert_eq!(
                shown[format!("default_{kind}_interface")],
                node[format!("{kind}_interface")],
                "{driver} {kind}"
            );
        }
        for name in shown["enabled_rescue_interfaces"].as_array().unwrap() {
            app.post(
                "/v1/nodes",
                &json!({"driver": driver, "rescue_interface": name}),
            )
            .await
            .expect(201);
        }
    }
    // Interfaces newer than the request are hidden.
    let at31 = app
        .request("GET", "/v1/drivers/fake-hardware")
        .version("1.31")
        .send()
        .await;
    let at31 = at31.expect(200).json();
    assert!(at31.get("default_boot_interface").is_some());
    for hidden in [
        "default_storage_interface",
        "enabled_rescue_interfaces",
        "default_bios_interface",
    ] {
        assert!(at31.get(hidden).is_none(), "{hidden}");
    }
    app.get("/v1/drivers/nope").await.expect_error(
        404,
        &["Could not find the following driver(s) or hardware type(s): nope."],
    );
    app.get("/v1/drivers/fake-hardware?foo=1")
        .await
        .expect_error(400, &["Unexpected arguments: foo"]);
}

#[tokio::test]
async fn properties_raid_and_vendor_methods_of_a_driver() {
    let app = TestApp::start().await;
    let fake = app
        .get("/v1/drivers/fake-hardware/properties")
        .await
        .expect(200)
        .json();
    assert_eq!(
        fake,
        json!({"B1": "B1 description. Required.", "B2": "B2 description. Required."})
    );
    let redfish = app
        .get("/v1/drivers/redfish/properties")
        .await
        .expect(200)
        .json();
    assert!(
        redfish["redfish_address"]
            .as_str()
            .unwrap()
            .contains("Redfish controller")
    );
    assert!(redfish.get("deploy_kernel").is_some());
    app.get("/v1/drivers/nope/properties")
        .await
        .expect_error(404, &["The driver 'nope' is unknown."]);

    let raid = app
        .get("/v1/drivers/ipmi/raid/logical_disk_properties")
        .await
        .expect(200)
        .json();
    assert_eq!(raid.as_object().unwrap().len(), 10);
    assert!(
        raid["raid_level"]
            .as_str()
            .unwrap()
            .starts_with("RAID level for the logical disk.")
    );
    app.request("GET", "/v1/drivers/ipmi/raid/logical_disk_properties")
        .version("1.11")
        .send()
        .await
        .expect_error(406, &["Request not acceptable."]);
    app.get("/v1/drivers/nope/raid/logical_disk_properties")
        .await
        .expect_error(404, &["The driver 'nope' is unknown."]);

    assert_eq!(
        app.get("/v1/drivers/redfish/vendor_passthru/methods")
            .await
            .expect(200)
            .json(),
        json!({})
    );
    app.get("/v1/drivers/nope/vendor_passthru/methods")
        .await
        .expect_error(404, &["The driver 'nope' is unknown."]);
    let call = |q: &'static str| {
        app.request(
            "POST",
            &format!("/v1/drivers/fake-hardware/vendor_passthru{q}"),
        )
        .json(&json!({}))
        .send()
    };
    call("")
        .await
        .expect_error(400, &["Missing mandatory parameter: method"]);
    call("?method=x")
        .await
        .expect_error(400, &["No handler for method x"]);
}

#[tokio::test]
async fn a_conductor_that_stopped_heartbeating_offers_no_driver() {
    use common::db::schema::conductors;
    use diesel::prelude::*;
    let app = TestApp::start().await;
    app.db_run(|conn| {
        diesel::update(conductors::table)
            .set(conductors::online.eq(false))
            .execute(conn)?;
        Ok(())
    })
    .await;
    assert_eq!(
        app.get("/v1/drivers").await.expect(200).json(),
        json!({"drivers": []})
    );
    app.get("/v1/drivers/fake-hardware").await.expect(404);
}

#[tokio::test]
async fn bios_settings_exist_from_1_40_and_are_empty() {
    let app = TestApp::start().await;
    let node = node_in(&app, ProvisionState::Manageable, |_| {}).await;
    let path = format!("/v1/nodes/{}/bios", node.uuid);
    app.request("GET", &path)
        .version("1.39")
        .send()
        .await
        .expect(404);
    assert_eq!(app.get(&path).await.expect(200).json(), json!({"bios": []}));
    app.get(&format!("{path}/ProcTurboMode"))
        .await
        .expect_error(
            404,
            &[&format!(
                "Node {} doesn't have a BIOS setting 'ProcTurboMode'",
                node.uuid
            )],
        );
    app.get(&format!("{path}?detail=true")).await.expect_error(
        400,
        &["Additional properties are not allowed ('detail' was unexpected)"],
    );
    app.get("/v1/nodes/no-such-node/bios")
        .await
        .expect_error(404, &["Node no-such-node could not be found."]);
}

#[tokio::test]
async fn target_raid_configs_are_checked_by_the_raid_interface() {
    let app = TestApp::start().await;
    let fake = node_in(&app, ProvisionState::Manageable, |_| {}).await;
    let none = node_in(&app, ProvisionState::Manageable, |n| {
        n.interfaces.raid = Some("no-raid".into())
    })
    .await;
    let put = |uuid: &str, body: &str, version: &'static str| {
        app.request("PUT", &format!("/v1/nodes/{uuid}/states/raid"))
            .version(version)
            .body(body.to_string())
            .send()
    };
    let config =
        json!({"logical_disks": [{"size_gb": 10, "raid_level": "1", "is_root_volume": true}]});
    put(&fake.uuid, &config.to_string(), "1.46")
        .await
        .expect(204);
    assert_eq!(show(&app, &fake.uuid).await["target_raid_config"], config);
    let states = app
        .get(&format!("/v1/nodes/{}/states", fake.uuid))
        .await
        .expect(200)
        .json();
    assert_eq!(states["target_raid_config"], config);

    put(
        &fake.uuid,
        r#"{"logical_disks": [{"size_gb": 10}]}"#,
        "1.46",
    )
    .await
    .expect_error(
        400,
        &["RAID config validation error: 'raid_level' is a required property"],
    );
    put(&fake.uuid, "[]", "1.46").await.expect_error(
        400,
        &["Expected types <class 'dict'> for target_raid_config: []"],
    );
    put(&fake.uuid, &config.to_string(), "1.11")
        .await
        .expect_error(406, &["Request not acceptable."]);
    put(&none.uuid, &config.to_string(), "1.46")
        .await
        .expect_error(
            404,
            &["Driver fake-hardware does not support raid (disabled or not implemented)."],
        );
    // An empty configuration clears the target, whatever the interface.
    put(&none.uuid, "{}", "1.46").await.expect(204);
    put(&fake.uuid, "{}", "1.46").await.expect(204);
    assert_eq!(
        show(&app, &fake.uuid).await["target_raid_config"],
        json!({})
    );

    app.set_reservation(fake.id, Some("other-conductor")).await;
    put(&fake.uuid, &config.to_string(), "1.46")
        .await
        .expect(409);
}

#[tokio::test]
async fn vendor_passthru_calls_the_nodes_vendor_interface() {
    let app = TestApp::start().await;
    let fake = node_in(&app, ProvisionState::Manageable, |_| {}).await;
    let none = node_in(&app, ProvisionState::Manageable, |n| {
        n.interfaces.vendor = Some("no-vendor".into())
    })
    .await;
    let methods = app
        .get(&format!("/v1/nodes/{}/vendor_passthru/methods", fake.uuid))
        .await
        .expect(200)
        .json();
    let mut names: Vec<&String> = methods.as_object().unwrap().keys().collect();
    names.sort();
    assert_eq!(
        names,
        [
            "fourth_method_shared_lock",
            "log_passthrough",
            "second_method",
            "third_method_sync"
        ]
    );
    assert_eq!(methods["third_method_sync"]["async"], false);
    assert_eq!(
        app.get(&format!("/v1/nodes/{}/vendor_passthru/methods", none.uuid))
            .await
            .expect(200)
            .json(),
        json!({})
    );

    let call = |uuid: &str, verb: &'static str, method: &str, body: Value| {
        app.request(
            verb,
            &format!("/v1/nodes/{uuid}/vendor_passthru?method={method}"),
        )
        .json(&body)
        .send()
    };
    let sync = call(
        &fake.uuid,
        "POST",
        "third_method_sync",
        json!({"bar": "meow"}),
    )
    .await;
    assert_eq!(sync.expect(200).json(), json!(true));
    let other = call(
        &fake.uuid,
        "POST",
        "third_method_sync",
        json!({"bar": "purr"}),
    )
    .await;
    assert_eq!(other.expect(200).json(), json!(false));
    let async_reply = call(&fake.uuid, "POST", "second_method", json!({"bar": "kazoo"})).await;
    assert_eq!(async_reply.expect(202).text, "");
    call(&fake.uuid, "POST", "second_method", json!({}))
        .await
        .expect_error(
            400,
            &["Parameter 'bar' not passed to method 'second_method'."],
        );
    call(&fake.uuid, "GET", "third_method_sync", json!({}))
        .await
        .expect_error(
            400,
            &["The method third_method_sync does not support HTTP GET"],
        );
    call(&none.uuid, "POST", "second_method", json!({"bar": "x"}))
        .await
        .expect_error(400, &["No handler for method second_method"]);
    app.request("POST", &format!("/v1/nodes/{}/vendor_passthru", fake.uuid))
        .json(&json!({}))
        .send()
        .await
        .expect_error(400, &["Missing mandatory parameter: method"]);
}

#[tokio::test]
async fn rescue_and_unrescue_go_through_the_state_machine() {
    let app = TestApp::start().await;
    let node = node_in(&app, ProvisionState::Active, |n| {
        n.instance_uuid = Some("5f0d3c4e-8e7b-4e33-9a3a-1d2c3b4a5f60".into());
    })
    .await;
    let id = node.uuid.clone();
    provision(&app, &id, json!({"target": "rescue"}))
        .await
        .expect_error(400, &["A non-empty \"rescue_password\" is required when setting target provision state to rescue"]);
    provision(
        &app,
        &id,
        json!({"target": "rescue", "rescue_password": "  "}),
    )
    .await
    .expect(400);
    provision(&app, &id, json!({"target": "rescue", "rescue_password": 5}))
        .await
        .expect_error(400, &["Expected string for rescue_password: 5"]);
    provision(&app, &id, json!({"target": "unrescue"}))
        .await
        .expect_error(
            400,
            &[
                "The requested action \"unrescue\" can not be performed on node",
                "while it is in state \"active\"",
            ],
        );
    provision(
        &app,
        &id,
        json!({"target": "deleted", "rescue_password": "x"}),
    )
    .await
    .expect_error(
        400,
        &["\"rescue_password\" is only valid when setting target provision state to rescue"],
    );
    app.request("PUT", &format!("/v1/nodes/{id}/states/provision"))
        .version("1.37")
        .json(&json!({"target": "rescue", "rescue_password": "x"}))
        .send()
        .await
        .expect(406);

    provision(
        &app,
        &id,
        json!({"target": "rescue", "rescue_password": "s3cret"}),
    )
    .await
    .expect(202);
    let rescued = show(&app, &id).await;
    assert_eq!(rescued["provision_state"], "rescue");
    assert_eq!(rescued["target_provision_state"], Value::Null);
    assert_eq!(rescued["instance_info"]["rescue_password"], "******");
    assert_eq!(rescued["instance_info"]["hashed_rescue_password"], "******");
    // Rescuing again is allowed; unrescue returns to active.
    provision(
        &app,
        &id,
        json!({"target": "rescue", "rescue_password": "again"}),
    )
    .await
    .expect(202);
    provision(&app, &id, json!({"target": "unrescue"}))
        .await
        .expect(202);
    assert_eq!(show(&app, &id).await["provision_state"], "active");

    // Maintenance refuses, as does a node without a rescue interface.
    app.request("PUT", &format!("/v1/nodes/{id}/maintenance"))
        .send()
        .await
        .expect(202);
    provision(
        &app,
        &id,
        json!({"target": "rescue", "rescue_password": "x"}),
    )
    .await
    .expect_error(
        400,
        &[
            "The rescuing operation can't be performed on node",
            "because it's in maintenance mode.",
        ],
    );
    let plain = node_in(&app, ProvisionState::Active, |n| {
        n.interfaces.rescue = Some("no-rescue".into())
    })
    .await;
    provision(&app, &plain.uuid, json!({"target": "rescue", "rescue_password": "x"}))
        .await
        .expect_error(400, &[&format!("Failed to rescue instance None for node {}: Validation failed: Driver fake-hardware does not support rescue (disabled or not implemented).", plain.uuid)]);
    assert_eq!(show(&app, &plain.uuid).await["provision_state"], "active");
}

#[tokio::test]
async fn a_rescued_node_can_be_torn_down() {
    let app = TestApp::start().await;
    let node = node_in(&app, ProvisionState::Active, |_| {}).await;
    provision(
        &app,
        &node.uuid,
        json!({"target": "rescue", "rescue_password": "pw"}),
    )
    .await
    .expect(202);
    provision(&app, &node.uuid, json!({"target": "deleted"}))
        .await
        .expect(202);
    let torn = show(&app, &node.uuid).await;
    assert_eq!(torn["provision_state"], "available");
    assert_eq!(torn["instance_info"], json!({}));
}

#[tokio::test]
async fn the_rescue_interface_field_is_versioned() {
    let app = TestApp::start().await;
    let body = json!({"driver": "fake-hardware", "rescue_interface": "no-rescue"});
    app.request("POST", "/v1/nodes")
        .version("1.37")
        .json(&body)
        .send()
        .await
        .expect(406);
    let node = app.post("/v1/nodes", &body).await.expect(201).json();
    assert_eq!(node["rescue_interface"], "no-rescue");
    let uuid = node["uuid"].as_str().unwrap();
    let old = app
        .request("GET", &format!("/v1/nodes/{uuid}"))
        .version("1.37")
        .send()
        .await;
    assert!(old.expect(200).json().get("rescue_interface").is_none());
    let patch = json!([{"op": "replace", "path": "/rescue_interface", "value": "fake"}]);
    let patched = app
        .patch(&format!("/v1/nodes/{uuid}"), &patch)
        .await
        .expect(200)
        .json();
    assert_eq!(patched["rescue_interface"], "fake");
    let bad = json!([{"op": "replace", "path": "/rescue_interface", "value": "agent"}]);
    app.patch(&format!("/v1/nodes/{uuid}"), &bad)
        .await
        .expect_error(400, &["Could not find the following interface in the 'ironic.hardware.interfaces.rescue' entrypoint: agent."]);
}
