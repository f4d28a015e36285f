//! The floor: what this machine allows for the two things a write waits on, measured
//! one at a time with nothing else running.
//!
//! * an RPC round trip over RabbitMQ done as sanlink does it: a persistent request on a
//!   durable queue with publisher confirms, the reply on direct reply-to, the request
//!   acknowledged after the reply (and, for comparison, the same without persistence
//!   and confirms);
//! * a one-row insert committed on each database, through the same pool and settings
//!   the service uses (SQLite in WAL mode with `synchronous = NORMAL`).

use std::time::{Duration, Instant};

use anyhow::{Context, Result, anyhow};
use futures_util::StreamExt;
use hdrhistogram::Histogram;
use lapin::options::{
    BasicAckOptions, BasicConsumeOptions, BasicPublishOptions, ConfirmSelectOptions,
    QueueDeclareOptions, QueueDeleteOptions,
};
use lapin::types::{AMQPValue, FieldTable};
use lapin::{BasicProperties, Connection, ConnectionProperties};
use serde::Serialize;

const REPLY_TO: &str = "amq.rabbitmq.reply-to";

/// Median and 99th percentile of one floor measurement, in milliseconds.
#[derive(Clone, Copy, Debug, Default, Serialize)]
pub struct Floor {
    pub p50_ms: f64,
    pub p99_ms: f64,
    pub samples: u64,
}

/// Repeats `once` for `window`, one at a time.
async fn measure<F>(window: Duration, mut once: F) -> Result<Floor>
where
    F: AsyncFnMut() -> Result<()>,
{
    let mut latency = Histogram::<u64>::new_with_bounds(1, 60_000_000, 3)?;
    // A few rounds first: connections and caches warm.
    for _ in 0..20 {
        once().await?;
    }
    let end = Instant::now() + window;
    while Instant::now() < end {
        let began = Instant::now();
        once().await?;
        latency.saturating_record(began.elapsed().as_micros().max(1) as u64);
    }
    Ok(Floor {
        p50_ms: latency.value_at_quantile(0.5) as f64 / 1000.0,
        p99_ms: latency.value_at_quantile(0.99) as f64 / 1000.0,
        samples: latency.len(),
    })
}

/// One RPC round trip over RabbitMQ: `durable` as sanlink sends requests (persistent,
/// confirmed), or plain.
pub async fn amqp_round_trip(
    url: &str,
    prefix: &str,
    durable: bool,
    window: Duration,
) -> Result<Floor> {
    let queue = format!("{prefix}.floor");
    let server = Connection::connect(url, ConnectionProperties::default())
        .await
        .context("connect to RabbitMQ")?;
    let client = Connection::connect(url, ConnectionProperties::default()).await?;
    let server_channel = server.create_channel().await?;
    let mut args = FieldTable::default();
    // Removed by the broker if this run dies before deleting it.
    args.insert("x-expires".into(), AMQPValue::LongUInt(60_000));
    server_channel
        .queue_declare(queue.as_str().into(), QueueDeclareOptions::durable(), args)
        .await?;
    let mut requests = server_channel
        .basic_consume(
            queue.as_str().into(),
            "floor-server".into(),
            BasicConsumeOptions::default(),
            FieldTable::default(),
        )
        .await?;
    // The answering side: reply on the caller's reply-to, then acknowledge.
    let answering = server_channel.clone();
    let answerer = tokio::spawn(async move {
        while let Some(Ok(delivery)) = requests.next().await {
            let props = &delivery.properties;
            if let (Some(reply_to), Some(id)) = (props.reply_to(), props.correlation_id()) {
                let reply = BasicProperties::default().with_correlation_id(id.clone());
                let _ = answering
                    .basic_publish(
                        "".into(),
                        reply_to.clone(),
                        BasicPublishOptions::default(),
                        b"ok",
                        reply,
                    )
                    .await;
            }
            let _ = delivery.acker.ack(BasicAckOptions::default()).await;
        }
    });

    let channel = client.create_channel().await?;
    if durable {
        channel
            .confirm_select(ConfirmSelectOptions::default())
            .await?;
    }
    let no_ack = BasicConsumeOptions {
        no_ack: true,
        ..Default::default()
    };
    let mut replies = channel
        .basic_consume(
            REPLY_TO.into(),
            "floor-client".into(),
            no_ack,
            FieldTable::default(),
        )
        .await?;
    let body = vec![0u8; 200];
    let mut n = 0u64;
    let result = measure(window, async || {
        n += 1;
        let mut props = BasicProperties::default()
            .with_correlation_id(n.to_string().as_str().into())
            .with_reply_to(REPLY_TO.into());
        if durable {
            props = props.with_delivery_mode(2);
        }
        let confirm = channel
            .basic_publish(
                "".into(),
                queue.as_str().into(),
                BasicPublishOptions::default(),
                &body,
                props,
            )
            .await?;
        if durable {
            // sanlink waits for the confirm before it waits for the reply.
            confirm.await?;
        }
        replies
            .next()
            .await
            .ok_or_else(|| anyhow!("reply consumer ended"))??;
        Ok(())
    })
    .await;
    let _ = server_channel
        .queue_delete(queue.as_str().into(), QueueDeleteOptions::default())
        .await;
    answerer.abort();
    let _ = client.close(200, "done".into()).await;
    let _ = server.close(200, "done".into()).await;
    result
}

/// A one-row insert committed, on the database at `url` (a scratch table, dropped after).
pub async fn commit(url: &str, window: Duration) -> Result<Floor> {
    use diesel::connection::SimpleConnection;
    let db = common::db::Db::open(url, 1).map_err(|e| anyhow!(e))?;
    let backend = db.backend();
    let create = match backend {
        common::db::Backend::Mysql => {
            "CREATE TABLE IF NOT EXISTS bench_floor (id BIGINT AUTO_INCREMENT PRIMARY KEY, v VARCHAR(64))"
        }
        common::db::Backend::Postgres => {
            "CREATE TABLE IF NOT EXISTS bench_floor (id BIGSERIAL PRIMARY KEY, v VARCHAR(64))"
        }
        common::db::Backend::Sqlite => {
            "CREATE TABLE IF NOT EXISTS bench_floor (id INTEGER PRIMARY KEY, v VARCHAR(64))"
        }
    };
    db.with_conn(|c| c.batch_execute(create).map_err(Into::into))
        .map_err(|e| anyhow!("{e}"))?;
    let result = measure(window, async || {
        db.with_conn(|c| {
            common::db::write_transaction(c, |c| {
                c.batch_execute("INSERT INTO bench_floor (v) VALUES ('floor')")
                    .map_err(Into::into)
            })
        })
        .map_err(|e| anyhow!("{e}"))
    })
    .await;
    let _ = db.with_conn(|c| {
        c.batch_execute("DROP TABLE bench_floor")
            .map_err(Into::into)
    });
    result
}
