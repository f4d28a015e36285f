//! `sanlink`: the whole service in one process (the embedded mode). The gateway and a
//! conductor share a database (SQLite by default) and talk over the in-process transport.
//!
//! Usage: `sanlink --help` (`sanlink` alone serves).

use std::process::ExitCode;
use std::sync::Arc;

use api_gateway::app::AppState;
use common::config::{Settings, redact_url};
use common::ops::Ops;
use common::rpc::client::ConductorClient;
use common::rpc::memory::MemoryTransport;
use common::{cli, startup};
use conductor::Conductor;

fn main() -> ExitCode {
    cli::main_with("sanlink", serve)
}

async fn serve(settings: Settings) -> Result<(), String> {
    let settings = Arc::new(settings);
    let db = startup::open_db(&settings)?;
    startup::upgrade(&db, &settings).await?;
    let conductor = Arc::new(Conductor::new(db.clone(), settings.clone()));
    conductor
        .start()
        .await
        .map_err(|e| format!("conductor start: {e}"))?;
    // The boot listener serves the operator endpoints as a conductor's does, so that
    // probes and scrapes are configured alike in both topologies.
    let ops = Ops::new(db.clone(), settings.heartbeat_timeout, Vec::new());
    conductor::boot::server::start(settings.boot_listen, db.clone(), &settings, Some(ops)).await?;
    let (stop, stopped) = tokio::sync::watch::channel(false);
    let periodic = tokio::spawn(conductor::periodic::run(conductor.clone(), stopped));
    let transport = Arc::new(MemoryTransport::new(conductor.clone()));
    let state = AppState {
        db,
        conductor: ConductorClient::new(transport, settings.rpc_timeout),
        settings: settings.clone(),
    };
    let router = api_gateway::build_router(state)?;
    let served = match api_gateway::server::bind(settings.listen).await {
        Ok(listener) => {
            // Only now that the port is bound: clients and tests wait for this line.
            tracing::info!(listen = %settings.listen, database = %redact_url(&settings.database_url), "sanlink serving (embedded mode)");
            api_gateway::server::serve_on(
                listener,
                router,
                settings.http,
                startup::shutdown_signal(),
            )
            .await
        }
        Err(e) => Err(e),
    };
    let _ = stop.send(true);
    let _ = periodic.await;
    conductor
        .stop()
        .await
        .map_err(|e| format!("conductor stop: {e}"))?;
    served.map_err(|e| format!("SANLINK_LISTEN {}: {e}", settings.listen))
}
