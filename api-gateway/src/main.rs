//! `api-gateway`: the production HTTP front. Reads from the database, sends every
//! mutation to the conductors over RabbitMQ (`SANLINK_AMQP_URL`, required).
//!
//! Usage: `api-gateway --help` (`api-gateway` alone serves).

use std::process::ExitCode;
use std::sync::Arc;

use api_gateway::app::AppState;
use common::config::{Settings, redact_url};
use common::rpc::amqp::{AmqpTransport, Topology};
use common::rpc::client::ConductorClient;
use common::{cli, startup};

fn main() -> ExitCode {
    cli::main_with("api-gateway", serve)
}

async fn serve(settings: Settings) -> Result<(), String> {
    let settings = Arc::new(settings);
    let url = settings
        .amqp_url
        .clone()
        .ok_or("SANLINK_AMQP_URL is required: the gateway reaches conductors through RabbitMQ")?;
    let db = startup::open_db(&settings)?;
    startup::upgrade(&db, &settings).await?;
    let transport = AmqpTransport::connect(&url, Topology::new(&settings.amqp_prefix))
        .await
        .map_err(|e| format!("SANLINK_AMQP_URL {}: {e}", redact_url(&url)))?;
    let state = AppState {
        db,
        conductor: ConductorClient::new(transport, settings.rpc_timeout),
        settings: settings.clone(),
    };
    let router = api_gateway::build_router(state)?;
    let listener = api_gateway::server::bind(settings.listen)
        .await
        .map_err(|e| format!("SANLINK_LISTEN {}: {e}", settings.listen))?;
    // Only now that the port is bound: clients and tests wait for this line.
    tracing::info!(listen = %settings.listen, broker = %redact_url(&url), "api-gateway serving");
    api_gateway::server::serve_on(listener, router, settings.http, startup::shutdown_signal())
        .await
        .map_err(|e| format!("SANLINK_LISTEN {}: {e}", settings.listen))
}
