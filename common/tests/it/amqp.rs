//! The RabbitMQ transport against the machine's broker (`TEST_AMQP_URL`, default
//! guest@127.0.0.1). Each test uses its own queue prefix, so tests share the broker.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use common::Error;
use common::rpc::amqp::{self, AmqpTransport, Topology};
use common::rpc::{Call, Caller, Handler, Reply, Request, RequestContext, Response, Transport};
use lapin::options::{BasicPublishOptions, QueueDeclareOptions};
use lapin::types::FieldTable;
use lapin::{BasicProperties, Connection, ConnectionProperties};

fn url() -> String {
    std::env::var("TEST_AMQP_URL")
        .unwrap_or_else(|_| "amqp://guest:guest@127.0.0.1:5672/%2f".into())
}

fn topology() -> (String, Topology) {
    let prefix = format!("sanlink-test-{}", uuid::Uuid::new_v4().simple());
    (prefix.clone(), Topology::new(&prefix))
}

/// Answers every call with `Done` and counts them: the transport is what is under test.
#[derive(Default)]
struct Counting(AtomicUsize);

#[async_trait::async_trait]
impl Handler for Counting {
    async fn handle(&self, _request: Request) -> Response {
        self.0.fetch_add(1, Ordering::SeqCst);
        Ok(Reply::Done)
    }
}

fn request(timeout: Duration) -> Request {
    Request::new(
        RequestContext::new("req-test", Caller::default()),
        timeout,
        Call::DestroyVolumeConnector { uuid: "x".into() },
    )
}

struct Conductor {
    stop: tokio::sync::watch::Sender<bool>,
    task: tokio::task::JoinHandle<Result<(), String>>,
}

fn start_conductor(topology: &Topology, handler: Arc<dyn Handler>) -> Conductor {
    let (stop, stopped) = tokio::sync::watch::channel(false);
    let (url, topology) = (url(), topology.clone());
    let task = tokio::spawn(async move { amqp::serve(&url, topology, handler, 4, stopped).await });
    Conductor { stop, task }
}

impl Conductor {
    async fn shut_down(self) {
        let _ = self.stop.send(true);
        self.task.await.unwrap().unwrap();
    }
}

/// Waits until the gateway has seen the conductor's consumer.
async fn call_when_ready(transport: &AmqpTransport) -> Response {
    let start = Instant::now();
    loop {
        match transport.call(request(Duration::from_secs(5))).await {
            Err(Error::Unavailable(_)) if start.elapsed() < Duration::from_secs(5) => {
                tokio::time::sleep(Duration::from_millis(100)).await
            }
            other => return other,
        }
    }
}

#[tokio::test]
async fn a_call_reaches_a_conductor_and_its_reply_comes_back() {
    let (_, topology) = topology();
    let handler = Arc::new(Counting::default());
    let conductor = start_conductor(&topology, handler.clone());
    let transport = AmqpTransport::connect(&url(), topology.clone())
        .await
        .unwrap();
    assert_eq!(call_when_ready(&transport).await, Ok(Reply::Done));
    for _ in 0..20 {
        assert_eq!(
            transport.call(request(Duration::from_secs(5))).await,
            Ok(Reply::Done)
        );
    }
    assert_eq!(handler.0.load(Ordering::SeqCst), 21);
    conductor.shut_down().await;
    remove(&topology).await;
}

/// Answers a call with its connector's UUID, in an error's text.
struct Echo;

#[async_trait::async_trait]
impl Handler for Echo {
    async fn handle(&self, request: Request) -> Response {
        match request.call {
            Call::DestroyVolumeConnector { uuid } => Err(Error::invalid(uuid)),
            _ => Ok(Reply::Done),
        }
    }
}

/// Connections offer small frames (their buffers are 32 frames each): a request and a
/// reply many frames long still arrive whole.
#[tokio::test]
async fn a_request_and_a_reply_larger_than_a_frame_arrive_whole() {
    let (_, topology) = topology();
    let conductor = start_conductor(&topology, Arc::new(Echo));
    let transport = AmqpTransport::connect(&url(), topology.clone())
        .await
        .unwrap();
    // The echo of the readiness call's own connector.
    assert_eq!(call_when_ready(&transport).await, Err(Error::invalid("x")));
    let long: String = (0..300_000)
        .map(|i| char::from(b'a' + (i % 26) as u8))
        .collect();
    let call = Call::DestroyVolumeConnector { uuid: long.clone() };
    let context = RequestContext::new("req-long", Caller::default());
    let answer = transport
        .call(Request::new(context, Duration::from_secs(5), call))
        .await;
    assert_eq!(answer, Err(Error::invalid(long)));
    conductor.shut_down().await;
    remove(&topology).await;
}

#[tokio::test]
async fn without_a_conductor_a_call_fails_fast_with_unavailable() {
    let (_, topology) = topology();
    let transport = AmqpTransport::connect(&url(), topology.clone())
        .await
        .unwrap();
    let start = Instant::now();
    let reply = transport.call(request(Duration::from_secs(30))).await;
    assert!(matches!(reply, Err(Error::Unavailable(_))), "{reply:?}");
    assert!(
        start.elapsed() < Duration::from_secs(2),
        "took {:?}",
        start.elapsed()
    );
    remove(&topology).await;
}

#[tokio::test]
async fn garbage_is_dead_lettered_and_the_conductor_keeps_serving() {
    let (_, topology) = topology();
    let handler = Arc::new(Counting::default());
    let conductor = start_conductor(&topology, handler.clone());
    let transport = AmqpTransport::connect(&url(), topology.clone())
        .await
        .unwrap();
    assert_eq!(call_when_ready(&transport).await, Ok(Reply::Done));

    let conn = Connection::connect(&url(), ConnectionProperties::default())
        .await
        .unwrap();
    let channel = conn.create_channel().await.unwrap();
    let mut newer = common::rpc::encode(&request(Duration::from_secs(5)));
    // A message of a schema version this conductor does not know.
    let mut future_version = request(Duration::from_secs(5));
    future_version.version = 99;
    let bodies: Vec<Vec<u8>> = vec![
        b"\x00\xffnot msgpack at all".to_vec(),
        {
            newer.truncate(newer.len() / 2);
            newer
        },
        common::rpc::encode(&future_version),
        common::rpc::encode(
            &serde_json::json!({"version": 2, "context": {"request_id": "r", "caller": {"user_id": null, "user_name": null, "project_id": null, "roles": [], "system_scope": null}}, "deadline_ms": 1, "call": {"method": "format_disk", "args": {}}}),
        ),
        // Empty, a bare integer, fields of the wrong types, and 256 KiB of noise.
        Vec::new(),
        common::rpc::encode(&42),
        common::rpc::encode(
            &serde_json::json!({"version": "1", "request_id": 7, "deadline_ms": "soon", "call": []}),
        ),
        noise(256 * 1024),
    ];
    for body in &bodies {
        channel
            .basic_publish(
                "".into(),
                topology.queue.as_str().into(),
                BasicPublishOptions::default(),
                body,
                BasicProperties::default(),
            )
            .await
            .unwrap()
            .await
            .unwrap();
    }
    let dead = wait_for_messages(&channel, &topology.dead_letter_queue, bodies.len() as u32).await;
    assert_eq!(
        dead,
        bodies.len() as u32,
        "every bad message is dead-lettered"
    );
    assert_eq!(
        transport.call(request(Duration::from_secs(5))).await,
        Ok(Reply::Done)
    );
    assert_eq!(
        handler.0.load(Ordering::SeqCst),
        2,
        "no bad message reached the handler"
    );
    conductor.shut_down().await;
    remove(&topology).await;
}

/// Deletes a test's queues and exchange, which are durable.
/// `len` pseudo-random bytes (a fixed sequence, so that a failure repeats).
fn noise(len: usize) -> Vec<u8> {
    let mut x: u64 = 0x9e37_79b9_7f4a_7c15;
    (0..len)
        .map(|_| {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            x as u8
        })
        .collect()
}

async fn remove(topology: &Topology) {
    let conn = Connection::connect(&url(), ConnectionProperties::default())
        .await
        .unwrap();
    let channel = conn.create_channel().await.unwrap();
    for q in [&topology.queue, &topology.dead_letter_queue] {
        let _ = channel
            .queue_delete(q.as_str().into(), Default::default())
            .await;
    }
    let _ = channel
        .exchange_delete(
            topology.dead_letter_exchange.as_str().into(),
            Default::default(),
        )
        .await;
}

async fn wait_for_messages(channel: &lapin::Channel, queue: &str, want: u32) -> u32 {
    let start = Instant::now();
    loop {
        let q = channel
            .queue_declare(
                queue.into(),
                QueueDeclareOptions {
                    passive: true,
                    ..Default::default()
                },
                FieldTable::default(),
            )
            .await
            .unwrap();
        if q.message_count() >= want || start.elapsed() > Duration::from_secs(5) {
            return q.message_count();
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}
