//! The RabbitMQ transport (AMQP 0-9-1 through lapin).
//!
//! Routing: every conductor consumes one shared durable queue (competing consumers).
//! Exclusion comes from the node lock in the database, not from routing, so a
//! conductor that starts or stops changes nothing but who takes the next message; no
//! hash ring has to converge and no request waits on a dead conductor's queue.
//!
//! Delivery: requests are persistent and carry their deadline as a per-message TTL, so
//! the broker drops a request nobody waits for any more. A conductor acknowledges a
//! request only after the reply is published; a conductor that dies half-way has the
//! request redelivered to another one. Messages that cannot be decoded, or that carry
//! another schema version, are rejected into a dead-letter queue.
//!
//! Replies use RabbitMQ's direct reply-to (`amq.rabbitmq.reply-to`): no reply queue to
//! declare or clean up, and a reply to a gateway that has gone is simply dropped.

use std::collections::HashMap;
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use futures_util::StreamExt;
use lapin::message::{Delivery, DeliveryResult};
use lapin::options::{
    BasicAckOptions, BasicConsumeOptions, BasicPublishOptions, BasicQosOptions, BasicRejectOptions,
    ConfirmSelectOptions, ExchangeDeclareOptions, QueueBindOptions, QueueDeclareOptions,
};
use lapin::types::{AMQPValue, FieldTable, ShortString};
use lapin::uri::AMQPUri;
use lapin::{
    BasicProperties, Channel, Confirmation, Connection, ConnectionProperties, ExchangeKind,
};
use tokio::sync::oneshot;

use super::{
    Handler, Request, Response, Transport, Unreadable, decode, decode_request, encode, epoch_ms,
};
use crate::error::Error;

const REPLY_TO: &str = "amq.rabbitmq.reply-to";
/// AMQP delivery mode 2: the broker writes the message to disk.
const PERSISTENT: u8 = 2;
/// A request queue nobody has consumed for this long is deleted by the broker: its
/// requests have all expired by then, and a conductor that starts declares it again.
const QUEUE_EXPIRES_MS: u32 = 30 * 60 * 1000;
/// Dead letters are kept a week for inspection after the last look at their queue.
const DEAD_LETTER_EXPIRES_MS: u32 = 7 * 24 * 60 * 60 * 1000;

/// Names of the queues and exchanges, all derived from one prefix so that separate
/// deployments (or test runs) can share a broker.
#[derive(Clone, Debug)]
pub struct Topology {
    pub queue: String,
    pub dead_letter_exchange: String,
    pub dead_letter_queue: String,
}

impl Topology {
    pub fn new(prefix: &str) -> Topology {
        Topology {
            queue: format!("{prefix}.conductor"),
            dead_letter_exchange: format!("{prefix}.dead"),
            dead_letter_queue: format!("{prefix}.conductor.dead"),
        }
    }

    /// Declares everything both sides rely on. Idempotent, so gateways and conductors
    /// may start in any order.
    async fn declare(&self, channel: &Channel) -> lapin::Result<()> {
        // Auto-deleted once no queue is bound, i.e. when the dead-letter queue expires.
        let exchange = ExchangeDeclareOptions {
            durable: true,
            auto_delete: true,
            ..Default::default()
        };
        channel
            .exchange_declare(
                self.dead_letter_exchange.as_str().into(),
                ExchangeKind::Fanout,
                exchange,
                FieldTable::default(),
            )
            .await?;
        let mut dead_args = FieldTable::default();
        dead_args.insert(
            "x-expires".into(),
            AMQPValue::LongUInt(DEAD_LETTER_EXPIRES_MS),
        );
        channel
            .queue_declare(
                self.dead_letter_queue.as_str().into(),
                QueueDeclareOptions::durable(),
                dead_args,
            )
            .await?;
        channel
            .queue_bind(
                self.dead_letter_queue.as_str().into(),
                self.dead_letter_exchange.as_str().into(),
                "".into(),
                QueueBindOptions::default(),
                FieldTable::default(),
            )
            .await?;
        let mut args = FieldTable::default();
        args.insert(
            "x-dead-letter-exchange".into(),
            AMQPValue::LongString(self.dead_letter_exchange.as_str().into()),
        );
        args.insert("x-expires".into(), AMQPValue::LongUInt(QUEUE_EXPIRES_MS));
        channel
            .queue_declare(
                self.queue.as_str().into(),
                QueueDeclareOptions::durable(),
                args,
            )
            .await?;
        Ok(())
    }
}

/// The largest AMQP frame a connection offers, unless its URL sets `frame_max`. lapin
/// keeps a send and a receive buffer of 32 frames for each connection, written through:
/// at RabbitMQ's default of 128 KiB that is 8 MiB resident per connection. RPC bodies are
/// a few KiB; a larger one is sent as several frames.
const FRAME_MAX: u32 = 16 * 1024;

/// The broker URL `url`, with [`FRAME_MAX`] unless it sets `frame_max` itself.
fn broker_uri(url: &str) -> Result<AMQPUri, String> {
    let mut uri: AMQPUri = url.parse().map_err(|e| format!("broker URL: {e}"))?;
    uri.query.frame_max.get_or_insert(FRAME_MAX);
    Ok(uri)
}

/// Opens a connection without lapin's automatic recovery: both sides replace a lost
/// connection themselves. Recovery inside lapin could stall for good after the broker
/// closed the connection during a restart (a forced close followed by a reset), leaving
/// a conductor connected to nothing and never saying so.
async fn connect(url: &str, name: &str) -> Result<Connection, String> {
    let props = ConnectionProperties::default().with_connection_name(name.into());
    let uri = broker_uri(url)?;
    match tokio::time::timeout(CONNECT_TIMEOUT, Connection::connect_uri(uri, props)).await {
        Ok(connected) => connected.map_err(|e| e.to_string()),
        Err(_) => Err(format!(
            "no answer from the broker within {}s",
            CONNECT_TIMEOUT.as_secs()
        )),
    }
}

/// A broker that accepts the TCP connection but never answers (still starting, or
/// overloaded) must not hold a caller, or a reconnecting conductor, for ever.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(5);

/// The first wait before reconnecting after a lost connection, doubled on each failure
/// up to `RECONNECT_MAX`.
const RECONNECT_MIN: Duration = Duration::from_millis(250);
const RECONNECT_MAX: Duration = Duration::from_secs(5);
/// How often a consuming conductor checks that its connection is still open, in case
/// the loss never reaches its consumer as an error.
const LIVENESS_CHECK: Duration = Duration::from_secs(1);

fn unavailable(what: &str) -> Error {
    Error::Unavailable(format!("{what}, please retry later."))
}

type Pending = Arc<Mutex<HashMap<String, oneshot::Sender<Vec<u8>>>>>;

/// A connection, the channel requests are published on, and the callers waiting for a
/// reply on that channel. Replaced as a whole once the channel is closed: replies come
/// back only on the channel that published the request, so its waiters are answered
/// at once when it goes instead of waiting out their deadlines.
struct Link {
    connection: Arc<Connection>,
    channel: Channel,
    pending: Pending,
}

impl Drop for Link {
    fn drop(&mut self) {
        // Dropping the senders wakes every waiter with "connection lost".
        self.pending.lock().expect("pending replies").clear();
    }
}

/// The gateway side: publishes requests and routes replies back to their callers.
pub struct AmqpTransport {
    url: String,
    topology: Topology,
    link: tokio::sync::Mutex<Arc<Link>>,
    /// Conductors consuming the request queue, as last read from the broker. With none,
    /// a call fails at once instead of waiting out its deadline.
    consumers: Arc<AtomicU32>,
}

/// How often the gateway re-reads the number of conductors consuming (and, through
/// that, notices a lost connection while no request arrives).
const CONSUMER_POLL: Duration = Duration::from_secs(1);

impl AmqpTransport {
    /// Connects, and starts the task that keeps the consumer count fresh while the
    /// transport lives.
    pub async fn connect(url: &str, topology: Topology) -> Result<Arc<AmqpTransport>, String> {
        let connection = connect(url, "sanlink-gateway").await?;
        let link = open_link(Arc::new(connection), &topology)
            .await
            .map_err(|e| e.to_string())?;
        let initial = count_consumers(&link.connection, &topology)
            .await
            .unwrap_or(0);
        let consumers = Arc::new(AtomicU32::new(initial));
        let transport = Arc::new(AmqpTransport {
            url: url.to_string(),
            topology,
            link: tokio::sync::Mutex::new(Arc::new(link)),
            consumers,
        });
        tokio::spawn(watch_consumers(Arc::downgrade(&transport)));
        Ok(transport)
    }

    /// The link to publish on, replaced first if its channel is closed.
    async fn link(&self) -> Result<Arc<Link>, Error> {
        let mut link = self.link.lock().await;
        if link.channel.status().connected() {
            return Ok(link.clone());
        }
        // No reply can arrive on a closed channel: answer its waiters now, even if no
        // new link can be opened yet.
        link.pending.lock().expect("pending replies").clear();
        let connection = if link.connection.status().connected() {
            tracing::warn!("broker channel closed; opening a new one");
            link.connection.clone()
        } else {
            tracing::warn!("broker connection lost; reconnecting");
            Arc::new(connect(&self.url, "sanlink-gateway").await.map_err(|e| {
                tracing::warn!(error = %e, "cannot reach the broker");
                unavailable("The message broker is unreachable")
            })?)
        };
        let fresh = open_link(connection, &self.topology).await.map_err(|e| {
            tracing::warn!(error = %e, "cannot open a broker channel");
            unavailable("The message broker is unreachable")
        })?;
        tracing::info!("broker link restored");
        *link = Arc::new(fresh);
        Ok(link.clone())
    }

    async fn publish(
        &self,
        link: &Link,
        request: &Request,
        correlation_id: &str,
    ) -> Result<(), Error> {
        let ttl = request.deadline_ms.saturating_sub(epoch_ms()).max(1);
        let properties = BasicProperties::default()
            .with_correlation_id(correlation_id.into())
            .with_reply_to(REPLY_TO.into())
            .with_delivery_mode(PERSISTENT)
            .with_expiration(ShortString::from(ttl.to_string()));
        let confirm = link
            .channel
            .basic_publish(
                "".into(),
                self.topology.queue.as_str().into(),
                BasicPublishOptions {
                    mandatory: true,
                    ..Default::default()
                },
                &encode(request),
                properties,
            )
            .await
            .map_err(|e| {
                tracing::warn!(error = %e, "publish failed");
                unavailable("The message broker is unreachable")
            })?
            .await
            .map_err(|_| unavailable("The message broker did not confirm the request"))?;
        match confirm {
            Confirmation::Ack(None) => Ok(()),
            Confirmation::Ack(Some(_)) => Err(unavailable("No conductor queue exists")),
            Confirmation::Nack(_) => Err(unavailable("The message broker refused the request")),
            Confirmation::NotRequested => Ok(()),
        }
    }
}

/// Opens the publishing channel with confirms, and the direct reply-to consumer on it
/// (replies come back on the channel that published the request).
async fn open_link(connection: Arc<Connection>, topology: &Topology) -> lapin::Result<Link> {
    let channel = connection.create_channel().await?;
    topology.declare(&channel).await?;
    channel
        .confirm_select(ConfirmSelectOptions::default())
        .await?;
    let consumer = channel
        .basic_consume(
            REPLY_TO.into(),
            "sanlink-gateway-replies".into(),
            BasicConsumeOptions {
                no_ack: true,
                ..Default::default()
            },
            FieldTable::default(),
        )
        .await?;
    let pending: Pending = Arc::default();
    let routes = pending.clone();
    consumer.set_delegate(move |delivery: DeliveryResult| {
        let routes = routes.clone();
        async move {
            if let Ok(Some(delivery)) = delivery {
                route_reply(&routes, delivery);
            }
        }
    });
    Ok(Link {
        connection,
        channel,
        pending,
    })
}

/// Asks the broker how many consumers the request queue has. A passive declare closes
/// its channel when the queue is missing, so each count uses a channel of its own.
async fn count_consumers(connection: &Connection, topology: &Topology) -> lapin::Result<u32> {
    let channel = connection.create_channel().await?;
    let queue = channel
        .queue_declare(
            topology.queue.as_str().into(),
            QueueDeclareOptions {
                passive: true,
                ..Default::default()
            },
            FieldTable::default(),
        )
        .await;
    let _ = channel.close(200, "counted".into()).await;
    Ok(queue?.consumer_count())
}

/// Keeps the consumer count fresh for as long as the transport exists. It goes through
/// `link()`, so a lost connection is replaced within one poll even when no request
/// comes (requests are refused while the last count says no conductor consumes).
async fn watch_consumers(transport: std::sync::Weak<AmqpTransport>) {
    loop {
        tokio::time::sleep(CONSUMER_POLL).await;
        let Some(t) = transport.upgrade() else { return };
        let Ok(link) = t.link().await else { continue };
        if let Ok(n) = count_consumers(&link.connection, &t.topology).await {
            t.consumers.store(n, Ordering::Relaxed);
        }
    }
}

fn route_reply(pending: &Pending, delivery: Delivery) {
    let Some(id) = delivery
        .properties
        .correlation_id()
        .as_ref()
        .map(|c| c.to_string())
    else {
        return;
    };
    let waiter = pending.lock().expect("pending replies").remove(&id);
    match waiter {
        Some(tx) => {
            let _ = tx.send(delivery.data);
        }
        None => tracing::debug!(correlation_id = %id, "reply for a caller that gave up"),
    }
}

/// Removes a caller's entry however its call ends.
struct PendingGuard {
    pending: Pending,
    id: String,
}

impl Drop for PendingGuard {
    fn drop(&mut self) {
        self.pending
            .lock()
            .expect("pending replies")
            .remove(&self.id);
    }
}

#[async_trait::async_trait]
impl Transport for AmqpTransport {
    async fn call(&self, request: Request) -> Response {
        if self.consumers.load(Ordering::Relaxed) == 0 {
            return Err(unavailable("No conductor is running"));
        }
        let link = self.link().await?;
        let correlation_id = uuid::Uuid::new_v4().to_string();
        let (tx, rx) = oneshot::channel();
        link.pending
            .lock()
            .expect("pending replies")
            .insert(correlation_id.clone(), tx);
        let _guard = PendingGuard {
            pending: link.pending.clone(),
            id: correlation_id.clone(),
        };
        self.publish(&link, &request, &correlation_id).await?;
        // Only the transport keeps the link: once it is replaced, this waiter is woken.
        drop(link);
        let wait = Duration::from_millis(request.deadline_ms.saturating_sub(epoch_ms()));
        match tokio::time::timeout(wait, rx).await {
            Ok(Ok(bytes)) => decode::<Response>(&bytes)
                .map_err(|e| Error::Internal(format!("undecodable reply: {e}")))?,
            Ok(Err(_)) => Err(unavailable(
                "The message broker connection was lost before the reply",
            )),
            Err(_) => {
                let method = request.call.method();
                metrics::counter!(crate::metrics::RPC_TIMEOUTS, "method" => method).increment(1);
                Err(unavailable("No conductor answered in time"))
            }
        }
    }

    fn has_broker(&self) -> bool {
        true
    }

    /// A round-trip to the broker over the gateway's own link.
    async fn check_broker(&self) -> Result<(), String> {
        let link = self.link().await.map_err(|e| e.to_string())?;
        count_consumers(&link.connection, &self.topology)
            .await
            .map(|_| ())
            .map_err(|e| format!("broker: {e}"))
    }
}

/// The conductor side: consumes requests until `stop` fires, then finishes the ones in
/// flight before returning. A lost broker connection is replaced, with growing waits
/// while the broker stays away; requests that were in flight on it come back from the
/// broker (they were never acknowledged) and are answered from the current state.
pub async fn serve(
    url: &str,
    topology: Topology,
    handler: Arc<dyn Handler>,
    prefetch: u16,
    mut stop: tokio::sync::watch::Receiver<bool>,
) -> Result<(), String> {
    // Start-up fails loudly: a wrong URL or credentials are not an outage to wait out.
    let mut session = Session::open(url, &topology, prefetch).await?;
    let mut in_flight = tokio::task::JoinSet::new();
    loop {
        tracing::info!(queue = %topology.queue, "consuming conductor requests");
        match session.consume(&handler, &mut in_flight, &mut stop).await {
            Ended::Stopped => break,
            Ended::Lost(reason) => {
                tracing::warn!(%reason, "broker connection lost; reconnecting");
                match reconnect(url, &topology, prefetch, &mut stop).await {
                    Some(fresh) => session = fresh,
                    None => break,
                }
            }
        }
    }
    session.finish(in_flight).await;
    Ok(())
}

/// One connection's channel and consumer.
struct Session {
    connection: Connection,
    channel: Channel,
    consumer: lapin::Consumer,
}

/// Why a session stopped consuming.
enum Ended {
    Stopped,
    Lost(String),
}

impl Session {
    async fn open(url: &str, topology: &Topology, prefetch: u16) -> Result<Session, String> {
        let connection = connect(url, "sanlink-conductor").await?;
        let channel = connection
            .create_channel()
            .await
            .map_err(|e| e.to_string())?;
        topology
            .declare(&channel)
            .await
            .map_err(|e| e.to_string())?;
        channel
            .basic_qos(prefetch, BasicQosOptions::default())
            .await
            .map_err(|e| e.to_string())?;
        let tag = format!("sanlink-conductor-{}", uuid::Uuid::new_v4());
        let consumer = channel
            .basic_consume(
                topology.queue.as_str().into(),
                tag.as_str().into(),
                BasicConsumeOptions::default(),
                FieldTable::default(),
            )
            .await
            .map_err(|e| e.to_string())?;
        Ok(Session {
            connection,
            channel,
            consumer,
        })
    }

    /// Hands each delivery to its own task until told to stop or the connection is lost.
    async fn consume(
        &mut self,
        handler: &Arc<dyn Handler>,
        in_flight: &mut tokio::task::JoinSet<()>,
        stop: &mut tokio::sync::watch::Receiver<bool>,
    ) -> Ended {
        let mut liveness = tokio::time::interval(LIVENESS_CHECK);
        loop {
            tokio::select! {
                _ = stop.changed() => return Ended::Stopped,
                next = self.consumer.next() => match next {
                    Some(Ok(delivery)) => {
                        let (handler, channel) = (handler.clone(), self.channel.clone());
                        in_flight.spawn(async move { process(handler, channel, delivery).await });
                    }
                    Some(Err(e)) => return Ended::Lost(e.to_string()),
                    None => return Ended::Lost("the broker cancelled the consumer".into()),
                },
                _ = liveness.tick() => {
                    if !self.channel.status().connected() {
                        return Ended::Lost("the channel is closed".into());
                    }
                }
                Some(_) = in_flight.join_next(), if !in_flight.is_empty() => {}
            }
        }
    }

    /// Stops taking work, lets what was taken finish and be acknowledged, then closes.
    async fn finish(self, mut in_flight: tokio::task::JoinSet<()>) {
        let _ = self
            .channel
            .basic_cancel(self.consumer.tag(), Default::default())
            .await;
        while in_flight.join_next().await.is_some() {}
        let _ = self
            .connection
            .close(200, "conductor stopping".into())
            .await;
    }
}

/// Opens a new session, waiting longer after each failure; `None` when told to stop first.
async fn reconnect(
    url: &str,
    topology: &Topology,
    prefetch: u16,
    stop: &mut tokio::sync::watch::Receiver<bool>,
) -> Option<Session> {
    let mut wait = RECONNECT_MIN;
    loop {
        tokio::select! {
            _ = stop.changed() => return None,
            _ = tokio::time::sleep(wait) => {}
        }
        match Session::open(url, topology, prefetch).await {
            Ok(session) => {
                tracing::info!("broker connection restored");
                return Some(session);
            }
            Err(e) => {
                wait = (wait * 2).min(RECONNECT_MAX);
                tracing::warn!(error = %e, retry_in_ms = wait.as_millis() as u64, "cannot reach the broker");
            }
        }
    }
}

/// Handles one delivery: decode, answer, publish the reply, then acknowledge.
async fn process(handler: Arc<dyn Handler>, channel: Channel, delivery: Delivery) {
    let request = match decode_request(&delivery.data) {
        Ok(r) => r,
        Err(Unreadable::Version(version)) => {
            let detail = format!("unsupported message version {version}");
            return dead_letter(&delivery, "version", &detail).await;
        }
        Err(Unreadable::Undecodable(e)) => {
            let detail = format!("undecodable message: {e}");
            return dead_letter(&delivery, "undecodable", &detail).await;
        }
    };
    if delivery.redelivered {
        metrics::counter!(crate::metrics::RPC_REDELIVERED).increment(1);
        tracing::info!(request_id = %request.context.request_id, "request redelivered");
    }
    let reply = handler.handle(request).await;
    let props = &delivery.properties;
    if let (Some(reply_to), Some(correlation_id)) = (props.reply_to(), props.correlation_id()) {
        let properties = BasicProperties::default().with_correlation_id(correlation_id.clone());
        let published = channel
            .basic_publish(
                "".into(),
                reply_to.clone(),
                BasicPublishOptions::default(),
                &encode(&reply),
                properties,
            )
            .await;
        if let Err(e) = published {
            // Not acknowledged: the request comes back and is answered again.
            tracing::warn!(error = %e, "could not publish reply");
            return;
        }
    }
    if let Err(e) = delivery.acker.ack(BasicAckOptions::default()).await {
        tracing::warn!(error = %e, "could not acknowledge request");
    }
}

async fn dead_letter(delivery: &Delivery, kind: &'static str, reason: &str) {
    metrics::counter!(crate::metrics::RPC_DEAD_LETTERED, "reason" => kind).increment(1);
    tracing::error!(reason, bytes = delivery.data.len(), "request dead-lettered");
    if let Err(e) = delivery
        .acker
        .reject(BasicRejectOptions { requeue: false })
        .await
    {
        tracing::warn!(error = %e, "could not dead-letter request");
    }
}

/// Connects to the broker and disconnects: the readiness check of a conductor, whose
/// consuming connection is not shared.
pub async fn probe(url: &str) -> Result<(), String> {
    let props = ConnectionProperties::default().with_connection_name("sanlink-probe".into());
    let connection = Connection::connect_uri(broker_uri(url)?, props)
        .await
        .map_err(|e| format!("broker: {e}"))?;
    let _ = connection.close(200, "probed".into()).await;
    Ok(())
}
