//! `sanlink`: the whole service in one process (the embedded mode). The gateway and a
//! conductor share a database (SQLite by default) and talk over the in-process transport.
//!
//! Usage: `sanlink` (serve), `sanlink db upgrade`, `sanlink db version`.

use std::process::ExitCode;
use std::sync::Arc;

use api_gateway::app::AppState;
use common::config::{Settings, redact_url};
use common::db::Db;
use common::rpc::client::ConductorClient;
use common::rpc::memory::MemoryTransport;
use conductor::Conductor;

fn main() -> ExitCode {
    init_logging();
    let settings = match Settings::from_env() {
        Ok(s) => s,
        Err(e) => {
            eprintln!("sanlink: {e}");
            return ExitCode::from(2);
        }
    };
    let runtime = tokio::runtime::Runtime::new().expect("tokio runtime");
    let args: Vec<String> = std::env::args().skip(1).collect();
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    let result = match args.as_slice() {
        [] | ["serve"] => runtime.block_on(serve(settings)),
        ["db", "upgrade"] => db_upgrade(&settings),
        ["db", "version"] => db_version(&settings),
        _ => Err("usage: sanlink [serve | db upgrade | db version]".to_string()),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("sanlink: {e}");
            ExitCode::FAILURE
        }
    }
}

fn init_logging() {
    let filter = tracing_subscriber::EnvFilter::try_from_env("SANLINK_LOG")
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info"));
    tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .init();
}

fn open_db(settings: &Settings) -> Result<Db, String> {
    let db = Db::open(&settings.database_url, settings.db_max_connections)
        .map_err(|e| format!("SANLINK_DATABASE_URL: {e}"))?;
    Ok(db)
}

fn db_upgrade(settings: &Settings) -> Result<(), String> {
    let db = open_db(settings)?;
    let applied = db
        .upgrade()
        .map_err(|e| format!("database {}: {e}", redact_url(&settings.database_url)))?;
    println!("applied {} migration(s)", applied.len());
    Ok(())
}

fn db_version(settings: &Settings) -> Result<(), String> {
    let db = open_db(settings)?;
    match db.version()? {
        Some(v) => println!("{v}"),
        None => println!("none"),
    }
    Ok(())
}

async fn serve(settings: Settings) -> Result<(), String> {
    let settings = Arc::new(settings);
    let db = open_db(&settings)?;
    let db_for_upgrade = db.clone();
    tokio::task::spawn_blocking(move || db_for_upgrade.upgrade())
        .await
        .map_err(|e| e.to_string())?
        .map_err(|e| format!("database {}: {e}", redact_url(&settings.database_url)))?;
    let conductor = Arc::new(Conductor::new(db.clone(), settings.clone()));
    conductor
        .start()
        .await
        .map_err(|e| format!("conductor start: {e}"))?;
    let transport = Arc::new(MemoryTransport::new(conductor.clone()));
    let state = AppState {
        db,
        conductor: ConductorClient::new(transport, settings.rpc_timeout),
        settings: settings.clone(),
    };
    let router = api_gateway::build_router(state);
    tracing::info!(listen = %settings.listen, database = %redact_url(&settings.database_url), "sanlink serving (embedded mode)");
    api_gateway::server::serve(
        settings.listen,
        router,
        api_gateway::server::shutdown_signal(),
    )
    .await
    .map_err(|e| format!("SANLINK_LISTEN {}: {e}", settings.listen))?;
    conductor
        .stop()
        .await
        .map_err(|e| format!("conductor stop: {e}"))?;
    Ok(())
}
