//! The operator endpoints: `/healthz`, `/readyz` (with the database or the broker
//! down) and the Prometheus metrics, against the real service.

use crate::support;

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use api_gateway::app::AppState;
use common::db::Db;
use common::ops::{BrokerUrlCheck, Check, Ops};
use common::rpc::amqp::{self, AmqpTransport, Topology};
use common::rpc::client::ConductorClient;
use common::rpc::memory::MemoryTransport;
use common::rpc::{Call, Caller, Request, RequestContext, encode};
use conductor::Conductor;
use serde_json::{Value, json};
use support::TestApp;

const AMQP_URL: &str = "amqp://guest:guest@127.0.0.1:5672/%2f";

fn amqp_url() -> String {
    std::env::var("TEST_AMQP_URL").unwrap_or_else(|_| AMQP_URL.into())
}

/// A loopback port where nothing listens.
fn closed_port() -> u16 {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
    listener.local_addr().expect("addr").port()
}

/// Serves `router` on a free port; returns its base URL.
async fn serve(router: axum::Router) -> String {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let addr = listener.local_addr().expect("addr");
    let limits = common::config::Settings::from_lookup(|_| None)
        .expect("default settings")
        .http;
    tokio::spawn(api_gateway::server::serve_on(
        listener,
        router,
        limits,
        std::future::pending(),
    ));
    format!("http://{addr}")
}

/// GET without any API version header; (status, JSON body or the text as a string).
async fn get(url: &str) -> (u16, Value) {
    let response = support::http_get(url).await.expect("request");
    let status = response.status().as_u16();
    let text = response.text().await.expect("body");
    (
        status,
        serde_json::from_str(&text).unwrap_or(Value::String(text)),
    )
}

/// The value of one exposed series (`name{labels}` exactly as rendered), 0 if absent.
fn value(metrics: &str, series: &str) -> f64 {
    metrics
        .lines()
        .find_map(|line| line.strip_prefix(series)?.strip_prefix(' '))
        .map(|v| v.trim().parse().expect("a number"))
        .unwrap_or(0.0)
}

async fn scrape(base: &str) -> String {
    let response = support::http_get(format!("{base}/metrics"))
        .await
        .expect("scrape");
    assert_eq!(response.status(), 200);
    let content_type = response.headers()["content-type"]
        .to_str()
        .unwrap()
        .to_string();
    assert!(content_type.starts_with("text/plain"), "{content_type}");
    response.text().await.expect("body")
}

#[tokio::test]
async fn health_endpoints_need_no_version_header_and_leave_the_api_alone() {
    let app = TestApp::start().await;
    let (status, body) = get(&format!("{}/healthz", app.base_url)).await;
    assert_eq!((status, body), (200, json!({"status": "ok"})));
    let (status, body) = get(&format!("{}/readyz", app.base_url)).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["status"], "ready");
    assert_eq!(body["down"], json!([]));
    assert_eq!(body["checks"]["database"]["status"], "ok");
    // A version the API refuses does not matter here.
    let reply = app.request("GET", "/readyz").version("9.99").send().await;
    assert_eq!(reply.status, 200, "{}", reply.text);
    // ...while the API still refuses it, and its routes answer as before.
    app.request("GET", "/v1/nodes")
        .version("9.99")
        .send()
        .await
        .expect(406);
    app.get("/v1/nodes").await.expect(200);
    app.get("/v1/healthz").await.expect(404);
}

#[tokio::test]
async fn readiness_names_a_database_that_is_down() {
    let settings = Arc::new(common::config::Settings::from_lookup(|_| None).unwrap());
    let url = format!("postgres://postgres@127.0.0.1:{}/sanlink", closed_port());
    let db = Db::open(&url, 2).expect("a pool opens without connecting");
    let conductor = Arc::new(Conductor::new(db.clone(), settings.clone()));
    let state = AppState {
        db,
        conductor: ConductorClient::new(
            Arc::new(MemoryTransport::new(conductor)),
            settings.rpc_timeout,
        ),
        settings,
    };
    let base = serve(api_gateway::build_router(state).unwrap()).await;
    let start = Instant::now();
    let (status, body) = get(&format!("{base}/readyz")).await;
    assert!(
        start.elapsed() < Duration::from_secs(5),
        "{:?}",
        start.elapsed()
    );
    assert_eq!(status, 503, "{body}");
    assert_eq!(body["status"], "not ready");
    assert_eq!(body["down"], json!(["database"]));
    assert_eq!(body["checks"]["database"]["status"], "down");
    assert!(body["checks"]["database"]["error"].is_string(), "{body}");
    // Liveness does not depend on the database.
    assert_eq!(get(&format!("{base}/healthz")).await.0, 200);
}

/// A TCP relay to the broker that can be cut, to take "the broker" away from one
/// client without touching the shared RabbitMQ.
struct Relay {
    port: u16,
    tasks: Arc<Mutex<Vec<tokio::task::JoinHandle<()>>>>,
}

impl Relay {
    async fn start(upstream: &str) -> Relay {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind");
        let port = listener.local_addr().unwrap().port();
        let tasks: Arc<Mutex<Vec<tokio::task::JoinHandle<()>>>> = Arc::default();
        let upstream = upstream.to_string();
        let spawned = tasks.clone();
        let accept = tokio::spawn(async move {
            while let Ok((mut client, _)) = listener.accept().await {
                let upstream = upstream.clone();
                let relay = tokio::spawn(async move {
                    if let Ok(mut server) = tokio::net::TcpStream::connect(upstream).await {
                        let _ = tokio::io::copy_bidirectional(&mut client, &mut server).await;
                    }
                });
                spawned.lock().unwrap().push(relay);
            }
        });
        tasks.lock().unwrap().push(accept);
        Relay { port, tasks }
    }

    /// Closes the listener and every relayed connection.
    fn cut(&self) {
        for task in self.tasks.lock().unwrap().drain(..) {
            task.abort();
        }
    }
}

#[tokio::test]
async fn readiness_names_a_broker_that_is_down() {
    let app = TestApp::start().await;
    let broker = url_authority(&amqp_url());
    let relay = Relay::start(&broker).await;
    let relayed = amqp_url().replacen(&broker, &format!("127.0.0.1:{}", relay.port), 1);
    let prefix = format!("sanlink-ops-{}", uuid::Uuid::new_v4().simple());
    let transport = AmqpTransport::connect(&relayed, Topology::new(&prefix))
        .await
        .expect("broker through the relay");
    let state = AppState {
        db: app.db.clone(),
        conductor: ConductorClient::new(transport, app.settings.rpc_timeout),
        settings: app.settings.clone(),
    };
    let base = serve(api_gateway::build_router(state).unwrap()).await;
    let (status, body) = get(&format!("{base}/readyz")).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["checks"]["broker"]["status"], "ok");

    relay.cut();
    let (status, body) = get(&format!("{base}/readyz")).await;
    assert_eq!(status, 503, "{body}");
    assert_eq!(body["down"], json!(["broker"]));
    assert_eq!(body["checks"]["database"]["status"], "ok");
    assert_eq!(body["checks"]["broker"]["status"], "down");

    delete_queues(&Topology::new(&prefix)).await;

    // A conductor's check: it connects to the broker URL of its settings.
    let closed = format!("amqp://guest:guest@127.0.0.1:{}/%2f", closed_port());
    let checks: Vec<Arc<dyn Check>> = vec![Arc::new(BrokerUrlCheck(closed))];
    let ops = Ops::new(app.db.clone(), app.settings.heartbeat_timeout, checks);
    let base = serve(ops.router()).await;
    let (status, body) = get(&format!("{base}/readyz")).await;
    assert_eq!(status, 503, "{body}");
    assert_eq!(body["down"], json!(["broker"]));
    let checks: Vec<Arc<dyn Check>> = vec![Arc::new(BrokerUrlCheck(amqp_url()))];
    let ops = Ops::new(app.db.clone(), app.settings.heartbeat_timeout, checks);
    let base = serve(ops.router()).await;
    let (status, body) = get(&format!("{base}/readyz")).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["checks"]["broker"]["status"], "ok");
}

/// Removes a test's queues from the shared broker instead of leaving them to expire.
async fn delete_queues(topology: &Topology) {
    use lapin::options::QueueDeleteOptions;
    let connection = lapin::Connection::connect(&amqp_url(), Default::default())
        .await
        .expect("broker");
    let channel = connection.create_channel().await.expect("channel");
    for queue in [&topology.queue, &topology.dead_letter_queue] {
        let _ = channel
            .queue_delete(queue.as_str().into(), QueueDeleteOptions::default())
            .await;
    }
    let _ = connection.close(200, "done".into()).await;
}

/// `host:port` of a URL.
fn url_authority(url: &str) -> String {
    let rest = url.split_once("://").map(|(_, r)| r).unwrap_or(url);
    let authority = rest.split('/').next().unwrap_or(rest);
    authority
        .rsplit('@')
        .next()
        .unwrap_or(authority)
        .to_string()
}

#[tokio::test]
async fn http_metrics_are_labelled_by_route_template_and_status() {
    let app = TestApp::start().await;
    let node = app.node(|_| {}).await;
    app.get(&format!("/v1/nodes/{}", node.uuid))
        .await
        .expect(200);
    app.get("/v1/nodes/no-such-node").await.expect(404);
    app.get("/v1/no/such/path").await.expect(404);
    let metrics = scrape(&app.base_url).await;
    for series in [
        r#"sanlink_http_requests_total{method="GET",route="/v1/nodes/{ident}",status="200"}"#,
        r#"sanlink_http_requests_total{method="GET",route="/v1/nodes/{ident}",status="404"}"#,
        r#"sanlink_http_requests_total{method="GET",route="unmatched",status="404"}"#,
        r#"sanlink_http_request_duration_seconds_count{method="GET",route="/v1/nodes/{ident}",status="200"}"#,
        r#"sanlink_http_request_duration_seconds_bucket{method="GET",route="/v1/nodes/{ident}",status="200",le="+Inf"}"#,
    ] {
        assert!(
            value(&metrics, series) >= 1.0,
            "{series} missing:\n{metrics}"
        );
    }
    assert!(metrics.contains("# TYPE sanlink_http_request_duration_seconds histogram"));
    // Raw paths never become labels: one series per route, not per node.
    assert!(!metrics.contains(&node.uuid), "{metrics}");
    assert!(!metrics.contains("no-such-node"), "{metrics}");
    // This test's conductor has registered and heartbeats.
    assert!(
        value(&metrics, "sanlink_conductors_alive") >= 1.0,
        "{metrics}"
    );
}

#[tokio::test]
async fn node_locks_rpc_calls_and_bmc_failures_are_measured() {
    let app = TestApp::start().await;
    let before = scrape(&app.base_url).await;
    let locked = r#"sanlink_node_lock_wait_seconds_count{outcome="locked"}"#;
    let refused = r#"sanlink_rpc_duration_seconds_count{method="update_node",outcome="error"}"#;
    let created = r#"sanlink_rpc_duration_seconds_count{method="create_node",outcome="ok"}"#;
    let unreachable = r#"sanlink_bmc_errors_total{kind="unreachable"}"#;
    let bmc_calls = r#"sanlink_bmc_request_duration_seconds_count{method="GET",outcome="error"}"#;

    let node = app.node(|_| {}).await;
    app.set_reservation(node.id, Some("another-conductor"))
        .await;
    let patch = json!([{"op": "add", "path": "/extra/a", "value": "b"}]);
    app.patch(&format!("/v1/nodes/{}", node.uuid), &patch)
        .await
        .expect(409);

    let closed = format!("http://127.0.0.1:{}", closed_port());
    let body = json!({"driver": "redfish", "driver_info": {"redfish_address": closed, "redfish_system_id": "/redfish/v1/Systems/1"}});
    let created_node = app.post("/v1/nodes", &body).await.expect(201).json();
    let uuid = created_node["uuid"].as_str().unwrap();
    app.request("PUT", &format!("/v1/nodes/{uuid}/states/power"))
        .json(&json!({"target": "power on"}))
        .send()
        .await
        .expect(202);

    // The power change finishes after the 202; wait for the BMC's failure to count.
    let deadline = Instant::now() + Duration::from_secs(20);
    let after = loop {
        let after = scrape(&app.base_url).await;
        if value(&after, unreachable) > value(&before, unreachable) || Instant::now() > deadline {
            break after;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    };
    for series in [
        locked,
        "sanlink_node_locked_total",
        refused,
        created,
        unreachable,
        bmc_calls,
    ] {
        assert!(
            value(&after, series) > value(&before, series),
            "{series} did not grow:\n{after}"
        );
    }
    assert!(
        value(
            &after,
            r#"sanlink_node_lock_wait_seconds_count{outcome="acquired"}"#
        ) >= 1.0
    );
}

#[tokio::test]
async fn a_conductor_call_nobody_answers_in_time_counts_as_a_timeout() {
    // The node stays locked for longer than the gateway waits.
    let app = TestApp::start_with(&[
        ("SANLINK_RPC_TIMEOUT", "0.3"),
        ("SANLINK_NODE_LOCKED_RETRY_INTERVAL", "0.5"),
    ])
    .await;
    let series = r#"sanlink_rpc_timeouts_total{method="update_node"}"#;
    let before = value(&scrape(&app.base_url).await, series);
    let node = app.node(|_| {}).await;
    app.set_reservation(node.id, Some("another-conductor"))
        .await;
    let patch = json!([{"op": "add", "path": "/extra/a", "value": "b"}]);
    app.patch(&format!("/v1/nodes/{}", node.uuid), &patch)
        .await
        .expect(503);
    let after = scrape(&app.base_url).await;
    assert_eq!(value(&after, series), before + 1.0, "{after}");
    assert!(
        value(
            &after,
            r#"sanlink_rpc_duration_seconds_count{method="update_node",outcome="unavailable"}"#
        ) >= 1.0,
        "{after}"
    );
}

/// Polls the process's metrics until `series` exceeds `floor`.
async fn grows(series: &str, floor: f64) -> bool {
    let deadline = Instant::now() + Duration::from_secs(15);
    while Instant::now() < deadline {
        if value(&common::metrics::render(), series) > floor {
            return true;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    false
}

#[tokio::test]
async fn redelivered_and_dead_lettered_requests_are_counted() {
    use lapin::options::{BasicGetOptions, BasicPublishOptions};
    use lapin::{BasicProperties, Connection, ConnectionProperties};

    let app = TestApp::start().await;
    let url = amqp_url();
    let topology = Topology::new(&format!("sanlink-ops-{}", uuid::Uuid::new_v4().simple()));
    let conductor = Arc::new(Conductor::new(app.db.clone(), app.settings.clone()));
    let redelivered = "sanlink_rpc_redelivered_total";
    let dead = r#"sanlink_rpc_dead_lettered_total{reason="undecodable"}"#;
    let (before_redelivered, before_dead) = {
        let m = common::metrics::render();
        (value(&m, redelivered), value(&m, dead))
    };

    // A conductor declares the queues and stops again.
    let (stop, stopped) = tokio::sync::watch::channel(false);
    let first = tokio::spawn({
        let (url, topology, conductor) = (url.clone(), topology.clone(), conductor.clone());
        async move { amqp::serve(&url, topology, conductor, 4, stopped).await }
    });
    tokio::time::sleep(Duration::from_millis(500)).await;
    stop.send(true).unwrap();
    first.await.unwrap().expect("first conductor ran");

    // A request taken and never acknowledged, as by a conductor that died with it.
    let connection = Connection::connect(&url, ConnectionProperties::default())
        .await
        .expect("broker");
    let channel = connection.create_channel().await.unwrap();
    let request = Request::new(
        RequestContext::new("req-redelivered", Caller::default()),
        Duration::from_secs(60),
        Call::ValidateDriverInterfaces {
            uuid: "no-such-node".into(),
        },
    );
    let publish = |bytes: Vec<u8>| {
        let channel = channel.clone();
        let queue = topology.queue.clone();
        async move {
            channel
                .basic_publish(
                    "".into(),
                    queue.as_str().into(),
                    BasicPublishOptions::default(),
                    &bytes,
                    BasicProperties::default(),
                )
                .await
                .expect("publish")
                .await
                .expect("published");
        }
    };
    publish(encode(&request)).await;
    let taken = channel
        .basic_get(
            topology.queue.as_str().into(),
            BasicGetOptions { no_ack: false },
        )
        .await
        .expect("basic.get");
    assert!(taken.is_some(), "the request was not in the queue");
    let _ = channel.close(200, "dying".into()).await;

    // A conductor starts and gets it again, then a message nobody can decode.
    let (stop, stopped) = tokio::sync::watch::channel(false);
    let second = tokio::spawn({
        let (url, topology) = (url.clone(), topology.clone());
        async move { amqp::serve(&url, topology, conductor, 4, stopped).await }
    });
    assert!(
        grows(redelivered, before_redelivered).await,
        "{}",
        common::metrics::render()
    );
    let channel = connection.create_channel().await.unwrap();
    channel
        .basic_publish(
            "".into(),
            topology.queue.as_str().into(),
            BasicPublishOptions::default(),
            b"not msgpack",
            BasicProperties::default(),
        )
        .await
        .unwrap()
        .await
        .unwrap();
    assert!(
        grows(dead, before_dead).await,
        "{}",
        common::metrics::render()
    );

    stop.send(true).unwrap();
    second.await.unwrap().expect("second conductor ran");
    let _ = connection.close(200, "done".into()).await;
    delete_queues(&topology).await;
}
