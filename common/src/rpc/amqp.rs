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

async fn connect(url: &str, name: &str) -> lapin::Result<Connection> {
    let props = ConnectionProperties::default()
        .with_connection_name(name.into())
        .enable_auto_recover();
    Connection::connect(url, props).await
}

fn unavailable(what: &str) -> Error {
    Error::Unavailable(format!("{what}, please retry later."))
}

type Pending = Arc<Mutex<HashMap<String, oneshot::Sender<Vec<u8>>>>>;

/// A connection and the channel requests are published on. Replaced as a whole when
/// the broker closed it for good: auto-recovery heals lost connections, but a channel
/// the broker closed with an error (say, a publish racing the recovery of the reply
/// consumer) stays closed.
struct Link {
    connection: Arc<Connection>,
    channel: Channel,
}

/// The gateway side: publishes requests and routes replies back to their callers.
pub struct AmqpTransport {
    url: String,
    topology: Topology,
    link: tokio::sync::Mutex<Arc<Link>>,
    pending: Pending,
    /// Conductors consuming the request queue, as last read from the broker. With none,
    /// a call fails at once instead of waiting out its deadline.
    consumers: Arc<AtomicU32>,
}

/// How often the gateway re-reads the number of conductors consuming.
const CONSUMER_POLL: Duration = Duration::from_secs(1);

impl AmqpTransport {
    /// Connects, and starts the task that keeps the consumer count fresh while the
    /// transport lives.
    pub async fn connect(url: &str, topology: Topology) -> Result<Arc<AmqpTransport>, String> {
        let pending: Pending = Arc::default();
        let connection = connect(url, "sanlink-gateway")
            .await
            .map_err(|e| e.to_string())?;
        let link = open_link(Arc::new(connection), &topology, &pending)
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
            pending,
            consumers,
        });
        tokio::spawn(watch_consumers(Arc::downgrade(&transport)));
        Ok(transport)
    }

    /// The link to publish on, replaced first if the broker closed it for good.
    async fn link(&self) -> Result<Arc<Link>, Error> {
        let mut link = self.link.lock().await;
        let channel = link.channel.status();
        if channel.connected() {
            return Ok(link.clone());
        }
        if channel.reconnecting() || link.connection.status().reconnecting() {
            return Err(unavailable("The message broker is unreachable"));
        }
        tracing::warn!("broker channel closed; opening a new one");
        let connection = if link.connection.status().connected() {
            link.connection.clone()
        } else {
            Arc::new(connect(&self.url, "sanlink-gateway").await.map_err(|e| {
                tracing::warn!(error = %e, "cannot reach the broker");
                unavailable("The message broker is unreachable")
            })?)
        };
        let fresh = open_link(connection, &self.topology, &self.pending)
            .await
            .map_err(|e| {
                tracing::warn!(error = %e, "cannot open a broker channel");
                unavailable("The message broker is unreachable")
            })?;
        *link = Arc::new(fresh);
        Ok(link.clone())
    }

    async fn publish(&self, request: &Request, correlation_id: &str) -> Result<(), Error> {
        let link = self.link().await?;
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
async fn open_link(
    connection: Arc<Connection>,
    topology: &Topology,
    pending: &Pending,
) -> lapin::Result<Link> {
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

/// Keeps the consumer count fresh for as long as the transport exists.
async fn watch_consumers(transport: std::sync::Weak<AmqpTransport>) {
    loop {
        tokio::time::sleep(CONSUMER_POLL).await;
        let Some(t) = transport.upgrade() else { return };
        let link = t.link.lock().await.clone();
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
struct PendingGuard<'a> {
    pending: &'a Pending,
    id: String,
}

impl Drop for PendingGuard<'_> {
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
        let correlation_id = uuid::Uuid::new_v4().to_string();
        let (tx, rx) = oneshot::channel();
        self.pending
            .lock()
            .expect("pending replies")
            .insert(correlation_id.clone(), tx);
        let _guard = PendingGuard {
            pending: &self.pending,
            id: correlation_id.clone(),
        };
        self.publish(&request, &correlation_id).await?;
        let wait = Duration::from_millis(request.deadline_ms.saturating_sub(epoch_ms()));
        match tokio::time::timeout(wait, rx).await {
            Ok(Ok(bytes)) => decode::<Response>(&bytes)
                .map_err(|e| Error::Internal(format!("undecodable reply: {e}")))?,
            Ok(Err(_)) | Err(_) => {
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
/// flight before returning.
pub async fn serve(
    url: &str,
    topology: Topology,
    handler: Arc<dyn Handler>,
    prefetch: u16,
    mut stop: tokio::sync::watch::Receiver<bool>,
) -> Result<(), String> {
    let connection = connect(url, "sanlink-conductor")
        .await
        .map_err(|e| e.to_string())?;
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
    let mut consumer = channel
        .basic_consume(
            topology.queue.as_str().into(),
            format!("sanlink-conductor-{}", uuid::Uuid::new_v4())
                .as_str()
                .into(),
            BasicConsumeOptions::default(),
            FieldTable::default(),
        )
        .await
        .map_err(|e| e.to_string())?;
    tracing::info!(queue = %topology.queue, "consuming conductor requests");
    let mut in_flight = tokio::task::JoinSet::new();
    loop {
        tokio::select! {
            _ = stop.changed() => break,
            next = consumer.next() => match next {
                Some(Ok(delivery)) => {
                    let (handler, channel) = (handler.clone(), channel.clone());
                    in_flight.spawn(async move { process(handler, channel, delivery).await });
                }
                Some(Err(e)) => {
                    tracing::warn!(error = %e, "broker connection lost; waiting for recovery");
                    if let Err(e) = channel.wait_for_recovery(e).await {
                        return Err(format!("broker connection not recovered: {e}"));
                    }
                }
                None => break,
            },
            Some(_) = in_flight.join_next(), if !in_flight.is_empty() => {}
        }
    }
    // Stop taking work, then let what was taken finish and be acknowledged.
    let _ = channel
        .basic_cancel(consumer.tag(), Default::default())
        .await;
    while in_flight.join_next().await.is_some() {}
    let _ = connection.close(200, "conductor stopping".into()).await;
    Ok(())
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
    let connection = Connection::connect(url, props)
        .await
        .map_err(|e| format!("broker: {e}"))?;
    let _ = connection.close(200, "probed".into()).await;
    Ok(())
}
