//! Port groups end to end: their CRUD at `/v1/portgroups`, ports' `portgroup_uuid`, and
//! the port and port group lists below a node or a port group, with Ironic's version
//! gates and error texts.

use crate::support;

use serde_json::{Value, json};

use support::TestApp;

const MISSING: &str = "5f0d3c4e-8e7b-4e33-9a3a-1d2c3b4a5f60";

async fn node(app: &TestApp, name: &str) -> String {
    let body = json!({"driver": "fake-hardware", "name": name});
    uuid(&app.post("/v1/nodes", &body).await.expect(201).json())
}

async fn portgroup(app: &TestApp, body: Value) -> Value {
    app.post("/v1/portgroups", &body).await.expect(201).json()
}

async fn port(app: &TestApp, node: &str, mac: &str, portgroup: Option<&str>) -> Value {
    let body = json!({"node_uuid": node, "address": mac, "portgroup_uuid": portgroup});
    app.post("/v1/ports", &body).await.expect(201).json()
}

fn uuid(v: &Value) -> String {
    v["uuid"].as_str().expect("uuid").to_string()
}

fn uuids(list: &Value, key: &str) -> Vec<String> {
    list[key]
        .as_array()
        .expect("a list")
        .iter()
        .map(uuid)
        .collect()
}

fn keys(item: &Value) -> Vec<String> {
    let mut keys: Vec<String> = item.as_object().expect("object").keys().cloned().collect();
    keys.sort();
    keys
}

fn replace(path: &str, value: Value) -> Value {
    json!([{"op": "replace", "path": path, "value": value}])
}

#[tokio::test]
async fn a_portgroup_is_created_shown_and_listed_with_ironics_fields() {
    let app = TestApp::start().await;
    let n = node(&app, "pg-node").await;
    let reply = app
        .post(
            "/v1/portgroups",
            &json!({"node_uuid": n, "name": "bond0", "address": "52:54:00:AA:00:01"}),
        )
        .await;
    reply.expect(201);
    let pg = reply.json();
    let id = uuid(&pg);
    assert!(
        reply
            .header("location")
            .unwrap()
            .ends_with(&format!("/v1/portgroups/{id}"))
    );
    assert_eq!(pg["address"], "52:54:00:aa:00:01");
    assert_eq!(pg["mode"], "active-backup");
    assert_eq!(pg["standalone_ports_supported"], true);
    assert_eq!(pg["properties"], json!({}));
    assert_eq!(pg["node_uuid"], n.as_str());
    assert!(
        pg["ports"][0]["href"]
            .as_str()
            .unwrap()
            .ends_with(&format!("/v1/portgroups/{id}/ports"))
    );
    assert_eq!(
        keys(&pg),
        [
            "address",
            "created_at",
            "extra",
            "internal_info",
            "links",
            "mode",
            "name",
            "node_uuid",
            "ports",
            "properties",
            "standalone_ports_supported",
            "updated_at",
            "uuid"
        ]
    );
    // By name or UUID; mode and properties only from 1.26; nothing below 1.23.
    assert_eq!(app.get("/v1/portgroups/bond0").await.expect(200).json(), pg);
    let old = app
        .request("GET", &format!("/v1/portgroups/{id}"))
        .version("1.25")
        .send()
        .await
        .expect(200)
        .json();
    assert!(old.get("mode").is_none() && old.get("properties").is_none());
    app.request("GET", &format!("/v1/portgroups/{id}"))
        .version("1.22")
        .send()
        .await
        .expect_error(404, &["The API is not supported for this version"]);
    app.request("GET", "/v1/portgroups")
        .version("1.22")
        .send()
        .await
        .expect(404);
    let shown = app
        .get("/v1/portgroups/bond0?fields=uuid,mode")
        .await
        .expect(200)
        .json();
    assert_eq!(keys(&shown), ["links", "mode", "uuid"]);
    app.request("GET", "/v1/portgroups/bond0?fields=mode")
        .version("1.25")
        .send()
        .await
        .expect_error(406, &["Request not acceptable."]);
    app.get("/v1/portgroups/bond0?fields=physical_network")
        .await
        .expect(406);
    app.get("/v1/portgroups/nope")
        .await
        .expect_error(404, &["Portgroup nope could not be found."]);
    app.get("/v1/portgroups/bad%20name")
        .await
        .expect_error(400, &["Expected UUID or name for portgroup: bad name"]);

    // Lists: the default fields, details, filters.
    let other = node(&app, "other").await;
    let second = portgroup(&app, json!({"node_uuid": other, "name": "bond1"})).await;
    let list = app.get("/v1/portgroups").await.expect(200).json();
    assert_eq!(uuids(&list, "portgroups"), [id.clone(), uuid(&second)]);
    assert_eq!(
        keys(&list["portgroups"][0]),
        ["address", "links", "name", "uuid"]
    );
    let detail = app.get("/v1/portgroups/detail").await.expect(200).json();
    assert_eq!(detail["portgroups"][0], pg);
    let by_node = app
        .get("/v1/portgroups?node=other")
        .await
        .expect(200)
        .json();
    assert_eq!(uuids(&by_node, "portgroups"), [uuid(&second)]);
    let by_address = app
        .get("/v1/portgroups?address=52-54-00-aa-00-01")
        .await
        .expect(200)
        .json();
    assert_eq!(uuids(&by_address, "portgroups"), vec![id.clone()]);
    let sorted = app
        .get("/v1/portgroups?sort_key=name&sort_dir=desc")
        .await
        .expect(200)
        .json();
    assert_eq!(uuids(&sorted, "portgroups"), [uuid(&second), id.clone()]);
    let page = app.get("/v1/portgroups?limit=1").await.expect(200).json();
    assert_eq!(uuids(&page, "portgroups"), vec![id.clone()]);
    let next = page["next"].as_str().expect("a next link");
    let next = &next[next.find("/v1/").unwrap()..];
    let rest = app.get(next).await.expect(200).json();
    assert_eq!(uuids(&rest, "portgroups"), [uuid(&second)]);

    app.get("/v1/portgroups?node=other&address=52:54:00:aa:00:01")
        .await
        .expect_error(
            400,
            &["Filtering by node, address, or shard simultaneously is not supported."],
        );
    app.get("/v1/portgroups?address=zz")
        .await
        .expect_error(400, &["Schema error: 'zz' is not a 'mac-address'"]);
    app.get("/v1/portgroups?node=nope")
        .await
        .expect_error(404, &["Node nope could not be found."]);
    app.get("/v1/portgroups?fields=bogus")
        .await
        .expect_error(400, &["Schema error: 'bogus' is not one of ["]);
    app.get("/v1/portgroups?sort_key=extra").await.expect_error(
        400,
        &["The sort_key value extra is an invalid field for sorting"],
    );
    app.request("GET", "/v1/portgroups?sort_key=mode")
        .version("1.25")
        .send()
        .await
        .expect(406);
    app.get("/v1/portgroups?detail=true&fields=uuid")
        .await
        .expect_error(
            400,
            &["Can not specify ?detail=True and fields in the same request."],
        );
    app.get("/v1/portgroups/detail?fields=uuid")
        .await
        .expect_error(400, &["Unexpected arguments: fields"]);
}

#[tokio::test]
async fn creates_are_checked_as_ironic_checks_them() {
    let app = TestApp::start().await;
    let n = node(&app, "pg-node").await;
    portgroup(
        &app,
        json!({"node_uuid": n, "name": "bond0", "address": "52:54:00:aa:00:01"}),
    )
    .await;
    let refused = [
        (
            json!({"node_uuid": n, "name": "bond0"}),
            409,
            "A portgroup with name bond0 already exists.",
        ),
        (
            json!({"node_uuid": n, "address": "52:54:00:AA:00:01"}),
            409,
            "A portgroup with MAC address 52:54:00:aa:00:01 already exists.",
        ),
        (
            json!({"node_uuid": n, "address": "zz"}),
            400,
            "Expected valid MAC address for address: zz",
        ),
        (
            json!({"node_uuid": n, "name": "bad name"}),
            400,
            "Cannot create portgroup with invalid name 'bad name'",
        ),
        (
            json!({"node_uuid": MISSING}),
            400,
            "Node 5f0d3c4e-8e7b-4e33-9a3a-1d2c3b4a5f60 could not be found.",
        ),
        (
            json!({"node_uuid": "pg-node"}),
            400,
            "Expected UUID for node_uuid: pg-node",
        ),
        (
            json!({"node_uuid": n, "standalone_ports_supported": "maybe"}),
            400,
            "Invalid standalone_ports_supported: Unrecognized value 'maybe'",
        ),
        (
            json!({"node_uuid": n, "physical_network": "x"}),
            400,
            "Schema error for portgroup: Additional properties are not allowed ('physical_network' was unexpected)",
        ),
        (json!({}), 400, "'node_uuid' is a required property"),
    ];
    for (body, status, text) in refused {
        app.post("/v1/portgroups", &body)
            .await
            .expect_error(status, &[text]);
    }
    // Ironic's boolean words; a name may look like a UUID; null is the default.
    let pg = portgroup(
        &app,
        json!({"node_uuid": n, "standalone_ports_supported": "no", "mode": null,
               "name": "9c1f8f0e-0b8a-4c55-9a7e-3f2e1d0c9b8a"}),
    )
    .await;
    assert_eq!(pg["standalone_ports_supported"], false);
    assert_eq!(pg["mode"], "active-backup");
    for version in ["1.25", "1.22"] {
        let reply = app
            .request("POST", "/v1/portgroups")
            .version(version)
            .json(&json!({"node_uuid": n, "mode": "802.3ad"}))
            .send()
            .await;
        reply.expect(if version == "1.25" { 406 } else { 404 });
    }
    // An empty mode document is no mode, as Ironic reads it.
    app.request("POST", "/v1/portgroups")
        .version("1.25")
        .json(&json!({"node_uuid": n, "properties": {}}))
        .send()
        .await
        .expect(201);
    app.request("POST", "/v1/nodes/pg-node/portgroups")
        .json(&json!({"node_uuid": n}))
        .send()
        .await
        .expect_error(400, &["Malformed request URI."]);
}

#[tokio::test]
async fn patches_follow_ironics_rules() {
    let app = TestApp::start().await;
    let n = node(&app, "pg-node").await;
    let other = node(&app, "other").await;
    let pg = portgroup(&app, json!({"node_uuid": n, "name": "bond0"})).await;
    portgroup(
        &app,
        json!({"node_uuid": other, "name": "bond1", "address": "52:54:00:aa:00:02"}),
    )
    .await;
    let path = "/v1/portgroups/bond0";
    let patched = app
        .patch(
            path,
            &json!([{"op": "replace", "path": "/mode", "value": "802.3ad"},
                    {"op": "add", "path": "/properties/miimon", "value": "100"},
                    {"op": "add", "path": "/extra/rack", "value": 4},
                    {"op": "replace", "path": "/address", "value": "52:54:00:AA:00:03"},
                    {"op": "replace", "path": "/standalone_ports_supported", "value": "off"}]),
        )
        .await
        .expect(200)
        .json();
    assert_eq!(patched["mode"], "802.3ad");
    assert_eq!(patched["properties"], json!({"miimon": "100"}));
    assert_eq!(patched["extra"], json!({"rack": 4}));
    assert_eq!(patched["address"], "52:54:00:aa:00:03");
    assert_eq!(patched["standalone_ports_supported"], false);
    assert!(patched["updated_at"].is_string());

    let refused = [
        (
            replace("/uuid", json!(MISSING)),
            400,
            "Cannot patch /uuid. Only the following can be updated: address, extra, mode, name, node_uuid, properties, standalone_ports_supported, physical_network, category",
        ),
        (
            replace("/internal_info", json!({})),
            400,
            "Cannot patch /internal_info.",
        ),
        (
            json!([{"op": "remove", "path": "/mode"}]),
            400,
            "'mode' is a mandatory attribute and can not be removed",
        ),
        (
            replace("/name", json!("bad name")),
            400,
            "Portgroup bond0: Cannot change name to invalid name 'bad name'",
        ),
        (
            replace("/address", json!("zz")),
            400,
            "Expected valid MAC address for address: zz",
        ),
        (
            replace("/address", json!("52:54:00:aa:00:02")),
            409,
            "A portgroup with MAC address 52:54:00:aa:00:02 already exists.",
        ),
        (
            replace("/name", json!("bond1")),
            409,
            "A portgroup with name bond1 already exists.",
        ),
        (
            replace("/node_uuid", json!(MISSING)),
            400,
            "Unable to apply the requested node_uuid '5f0d3c4e-8e7b-4e33-9a3a-1d2c3b4a5f60'. Requested value was invalid.",
        ),
    ];
    for (ops, status, text) in refused {
        app.patch(path, &ops).await.expect_error(status, &[text]);
    }
    app.request("PATCH", path)
        .version("1.25")
        .json(&replace("/mode", json!("balance-rr")))
        .send()
        .await
        .expect_error(406, &["Request not acceptable."]);

    // A port group moves to another node only without ports.
    let p = port(&app, &n, "52:54:00:00:00:01", Some(&uuid(&pg))).await;
    app.patch(path, &replace("/node_uuid", json!(other)))
        .await
        .expect_error(
            400,
            &[&format!(
                "Portgroup {} can not be associated with node {other} because there are ports associated with this portgroup.",
                uuid(&pg)
            )],
        );
    app.patch(
        &format!("/v1/ports/{}", uuid(&p)),
        &json!([{"op": "remove", "path": "/portgroup_uuid"}]),
    )
    .await
    .expect(200);
    let moved = app
        .patch(path, &replace("/node_uuid", json!(other)))
        .await
        .expect(200)
        .json();
    assert_eq!(moved["node_uuid"], other.as_str());
    // Removing the name and the address leaves them null.
    let cleared = app
        .patch(
            path,
            &json!([{"op": "remove", "path": "/name"}, {"op": "remove", "path": "/address"}]),
        )
        .await
        .expect(200)
        .json();
    assert_eq!(cleared["name"], Value::Null);
    assert_eq!(cleared["address"], Value::Null);
}

#[tokio::test]
async fn ports_belong_to_portgroups_of_their_node() {
    let app = TestApp::start().await;
    let n = node(&app, "pg-node").await;
    let other = node(&app, "other").await;
    let pg = uuid(&portgroup(&app, json!({"node_uuid": n, "name": "bond0"})).await);
    let foreign = uuid(&portgroup(&app, json!({"node_uuid": other, "name": "bond1"})).await);
    let member = port(&app, &n, "52:54:00:00:00:01", Some(&pg)).await;
    assert_eq!(member["portgroup_uuid"], pg.as_str());
    let loose = port(&app, &n, "52:54:00:00:00:02", None).await;
    let refused = [
        (
            json!({"node_uuid": n, "address": "52:54:00:00:00:03", "portgroup_uuid": foreign}),
            "Port can not be added to a portgroup belonging to a different node.",
        ),
        (
            json!({"node_uuid": n, "address": "52:54:00:00:00:03", "portgroup_uuid": MISSING}),
            "Portgroup 5f0d3c4e-8e7b-4e33-9a3a-1d2c3b4a5f60 could not be found.",
        ),
        (
            json!({"node_uuid": n, "address": "52:54:00:00:00:03", "portgroup_uuid": "bond0"}),
            "Expected UUID for portgroup_uuid: bond0",
        ),
    ];
    for (body, text) in refused {
        app.post("/v1/ports", &body)
            .await
            .expect_error(400, &[text]);
    }
    app.request("POST", "/v1/ports")
        .version("1.23")
        .json(&json!({"node_uuid": n, "address": "52:54:00:00:00:03", "portgroup_uuid": pg}))
        .send()
        .await
        .expect(406);
    let loose_path = format!("/v1/ports/{}", uuid(&loose));
    app.patch(&loose_path, &replace("/portgroup_uuid", json!(foreign)))
        .await
        .expect_error(
            400,
            &["Port can not be added to a portgroup belonging to a different node."],
        );
    let joined = app
        .patch(&loose_path, &replace("/portgroup_uuid", json!(pg)))
        .await
        .expect(200)
        .json();
    assert_eq!(joined["portgroup_uuid"], pg.as_str());

    // The portgroup filter (1.24), and what Ironic refuses with it.
    let members = app
        .get("/v1/ports?portgroup=bond0")
        .await
        .expect(200)
        .json();
    assert_eq!(uuids(&members, "ports"), [uuid(&member), uuid(&loose)]);
    let none = app
        .get(&format!("/v1/ports?portgroup={foreign}"))
        .await
        .expect(200)
        .json();
    assert_eq!(uuids(&none, "ports"), Vec::<String>::new());
    app.request("GET", "/v1/ports?portgroup=bond0")
        .version("1.23")
        .send()
        .await
        .expect(406);
    app.get("/v1/ports?portgroup=bond0&node=pg-node")
        .await
        .expect_error(403, &["Operation not permitted."]);
    app.get("/v1/ports?portgroup=nope")
        .await
        .expect_error(404, &["Portgroup nope could not be found."]);

    // A port group with ports cannot be deleted.
    app.delete("/v1/portgroups/bond0").await.expect_error(
        400,
        &[
            "Cannot complete the requested action because portgroup",
            "contains ports.",
        ],
    );
    for p in [&member, &loose] {
        app.patch(
            &format!("/v1/ports/{}", uuid(p)),
            &json!([{"op": "remove", "path": "/portgroup_uuid"}]),
        )
        .await
        .expect(200);
    }
    app.delete("/v1/portgroups/bond0").await.expect(204);
    app.get("/v1/portgroups/bond0").await.expect(404);
    app.delete("/v1/portgroups/bond0").await.expect(404);

    // Deleting a node takes its port groups and ports along.
    port(&app, &other, "52:54:00:00:00:04", Some(&foreign)).await;
    app.delete(&format!("/v1/nodes/{other}")).await.expect(204);
    app.get(&format!("/v1/portgroups/{foreign}"))
        .await
        .expect(404);
    let left = app.get("/v1/ports").await.expect(200).json();
    assert_eq!(left["ports"].as_array().unwrap().len(), 2);
}

#[tokio::test]
async fn lists_below_a_node_or_a_portgroup() {
    let app = TestApp::start().await;
    let n = node(&app, "pg-node").await;
    let other = node(&app, "other").await;
    let pg = uuid(&portgroup(&app, json!({"node_uuid": n, "name": "bond0"})).await);
    portgroup(&app, json!({"node_uuid": other, "name": "bond1"})).await;
    let member = uuid(&port(&app, &n, "52:54:00:00:00:01", Some(&pg)).await);
    let loose = uuid(&port(&app, &n, "52:54:00:00:00:02", None).await);
    port(&app, &other, "52:54:00:00:00:03", None).await;

    // A node's ports, by name or UUID, at any version; the parent wins over `node`.
    for path in [
        "/v1/nodes/pg-node/ports".to_string(),
        format!("/v1/nodes/{n}/ports?node=other"),
        "/v1/nodes/pg-node/ports?address=52:54:00:00:00:03".to_string(),
    ] {
        let list = app.get(&path).await.expect(200).json();
        assert_eq!(
            uuids(&list, "ports"),
            [member.clone(), loose.clone()],
            "{path}"
        );
    }
    let old = app
        .request("GET", &format!("/v1/nodes/{n}/ports"))
        .version("1.1")
        .send()
        .await
        .expect(200)
        .json();
    assert_eq!(keys(&old["ports"][0]), ["address", "links", "uuid"]);
    let detail = app
        .get("/v1/nodes/pg-node/ports/detail")
        .await
        .expect(200)
        .json();
    assert_eq!(detail["ports"][0]["portgroup_uuid"], pg.as_str());
    app.get("/v1/nodes/pg-node/ports/detail?fields=uuid")
        .await
        .expect_error(400, &["Unexpected arguments: fields"]);
    app.get("/v1/nodes/pg-node/ports?portgroup=bond0")
        .await
        .expect_error(403, &["Operation not permitted."]);
    app.get("/v1/nodes/nope/ports")
        .await
        .expect_error(404, &["Node nope could not be found."]);
    app.get(&format!("/v1/nodes/pg-node/ports/{member}"))
        .await
        .expect_error(400, &["Malformed request URI."]);

    // A node's port groups (1.24).
    let groups = app
        .get("/v1/nodes/pg-node/portgroups")
        .await
        .expect(200)
        .json();
    assert_eq!(uuids(&groups, "portgroups"), vec![pg.clone()]);
    let groups = app
        .get("/v1/nodes/pg-node/portgroups/detail?node=other")
        .await
        .expect(200)
        .json();
    assert_eq!(uuids(&groups, "portgroups"), vec![pg.clone()]);
    assert_eq!(groups["portgroups"][0]["mode"], "active-backup");
    app.get("/v1/nodes/pg-node/portgroups?address=52:54:00:00:00:01")
        .await
        .expect(400);
    app.request("GET", "/v1/nodes/pg-node/portgroups")
        .version("1.23")
        .send()
        .await
        .expect(404);
    app.get(&format!("/v1/nodes/pg-node/portgroups/{pg}"))
        .await
        .expect_error(400, &["Malformed request URI."]);

    // A port group's ports (1.24), by name or UUID.
    for path in [
        "/v1/portgroups/bond0/ports",
        "/v1/portgroups/bond0/ports/detail",
    ] {
        let list = app.get(path).await.expect(200).json();
        assert_eq!(uuids(&list, "ports"), vec![member.clone()], "{path}");
    }
    let list = app
        .get(&format!("/v1/portgroups/{pg}/ports?portgroup=bond1"))
        .await
        .expect(200)
        .json();
    assert_eq!(uuids(&list, "ports"), vec![member.clone()]);
    app.get("/v1/portgroups/bond0/ports?node=other")
        .await
        .expect_error(403, &["Operation not permitted."]);
    app.request("GET", "/v1/portgroups/bond0/ports")
        .version("1.23")
        .send()
        .await
        .expect(404);
    app.get("/v1/portgroups/nope/ports")
        .await
        .expect_error(404, &["Portgroup nope could not be found."]);
}

#[tokio::test]
async fn ports_of_a_group_without_standalone_ports_neither_boot_nor_bind_alone() {
    let app = TestApp::start().await;
    let n = node(&app, "pg-node").await;
    let closed = uuid(
        &portgroup(
            &app,
            json!({"node_uuid": n, "name": "closed", "standalone_ports_supported": false}),
        )
        .await,
    );
    // Ironic's API refuses an explicit `pxe_enabled: true` only.
    app.post(
        "/v1/ports",
        &json!({"node_uuid": n, "address": "52:54:00:00:00:01", "portgroup_uuid": closed,
                "pxe_enabled": true}),
    )
    .await
    .expect_error(
        409,
        &[&format!(
            "Port group {closed} doesn't support standalone ports. This port cannot be created as a member of that portgroup as the port's 'pxe_enabled' field was set to True."
        )],
    );
    port(&app, &n, "52:54:00:00:00:01", Some(&closed)).await;

    // Joining it, the flat network interface wants no PXE.
    let loose = uuid(&port(&app, &n, "52:54:00:00:00:02", None).await);
    let path = format!("/v1/ports/{loose}");
    app.patch(&path, &replace("/portgroup_uuid", json!(closed)))
        .await
        .expect_error(
            409,
            &[&format!(
                "Port group {closed} doesn't support standalone ports. This port {loose} cannot be  a member of that port group because of: 'pxe_enabled' was set to True"
            )],
        );
    app.patch(
        &path,
        &json!([{"op": "replace", "path": "/portgroup_uuid", "value": closed},
                {"op": "replace", "path": "/pxe_enabled", "value": false}]),
    )
    .await
    .expect(200);

    // A group stops supporting standalone ports only without PXE members.
    let open = uuid(&portgroup(&app, json!({"node_uuid": n, "name": "open"})).await);
    port(&app, &n, "52:54:00:00:00:03", Some(&open)).await;
    app.patch(
        "/v1/portgroups/open",
        &replace("/standalone_ports_supported", json!(false)),
    )
    .await
    .expect_error(
        409,
        &[&format!(
            "standalone_ports_supported can not be set to False, because the port group {open} contains port with 'pxe_enabled' is set to True"
        )],
    );

    // The noop network interface does not hold port groups to it.
    let quiet = uuid(
        &app.post(
            "/v1/nodes",
            &json!({"driver": "fake-hardware", "network_interface": "noop"}),
        )
        .await
        .expect(201)
        .json(),
    );
    let free = uuid(&portgroup(&app, json!({"node_uuid": quiet, "name": "free"})).await);
    port(&app, &quiet, "52:54:00:00:00:04", Some(&free)).await;
    app.patch(
        "/v1/portgroups/free",
        &replace("/standalone_ports_supported", json!(false)),
    )
    .await
    .expect(200);
}
