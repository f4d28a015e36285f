//! `conductor`: a production conductor process. Consumes RPCs from RabbitMQ
//! (`SANLINK_AMQP_URL`, required); start as many as the load needs.
//!
//! Usage: `conductor --help` (`conductor` alone serves).

use std::process::ExitCode;
use std::sync::Arc;

use common::config::{Settings, redact_url};
use common::ops::{BrokerUrlCheck, Check, Ops};
use common::rpc::amqp::{self, Topology};
use common::{cli, startup};
use conductor::Conductor;

fn main() -> ExitCode {
    cli::main_with("conductor", serve)
}

async fn serve(settings: Settings) -> Result<(), String> {
    let settings = Arc::new(settings);
    let url = settings
        .amqp_url
        .clone()
        .ok_or("SANLINK_AMQP_URL is required: conductors take their work from RabbitMQ")?;
    let db = startup::open_db(&settings)?;
    startup::upgrade(&db, &settings).await?;
    let conductor = Arc::new(Conductor::new(db.clone(), settings.clone()));
    conductor
        .start()
        .await
        .map_err(|e| format!("conductor start: {e}"))?;
    // Every conductor serves boot scripts for every node, rendered from the database.
    // ... and its /healthz, /readyz and /metrics, on the same listener.
    let broker: Arc<dyn Check> = Arc::new(BrokerUrlCheck(url.clone()));
    let ops = Ops::new(db.clone(), settings.heartbeat_timeout, vec![broker]);
    conductor::boot::server::start(settings.boot_listen, db.clone(), &settings, Some(ops)).await?;
    let (stop, stopped) = tokio::sync::watch::channel(false);
    let periodic = tokio::spawn(conductor::periodic::run(conductor.clone(), stopped.clone()));
    tokio::spawn(async move {
        startup::shutdown_signal().await;
        let _ = stop.send(true);
    });
    tracing::info!(hostname = %settings.conductor_hostname, broker = %redact_url(&url), "conductor serving");
    let served = amqp::serve(
        &url,
        Topology::new(&settings.amqp_prefix),
        conductor.clone(),
        settings.conductor_workers,
        stopped,
    )
    .await;
    let _ = periodic.await;
    // In-flight work is done: release this host's locks and leave the pool.
    conductor
        .stop()
        .await
        .map_err(|e| format!("conductor stop: {e}"))?;
    served.map_err(|e| format!("SANLINK_AMQP_URL {}: {e}", redact_url(&url)))
}
