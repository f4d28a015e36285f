//! Start-up steps every sanlink binary shares: logging, settings, database, signals.

use std::path::Path;

use crate::cli::DbCommand;
use crate::config::{LogFormat, Settings, redact_url};
use crate::db::Db;

/// Logs to stderr, filtered by `SANLINK_LOG`, as text or as JSON lines
/// (`SANLINK_LOG_FORMAT`). In both, a line logged while a request is handled carries
/// the request's span and so its `request_id`.
pub fn init_logging(settings: &Settings) {
    let filter = tracing_subscriber::EnvFilter::new(&settings.log);
    // Colours only on a terminal: in a log file they are noise.
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()))
        .with_writer(std::io::stderr);
    match settings.log_format {
        LogFormat::Text => builder.init(),
        LogFormat::Json => builder
            .json()
            .with_current_span(true)
            .with_span_list(true)
            .init(),
    }
}

/// Reads the settings (environment over the file given by `--config` or
/// `SANLINK_CONFIG`), or says in one line per problem what is wrong.
pub fn settings(program: &str, config: Option<&Path>) -> Result<Settings, String> {
    Settings::from_env_and_file(config).map_err(|e| {
        let lines: Vec<String> = e.0.iter().map(|p| format!("{program}: {p}")).collect();
        lines.join("\n")
    })
}

pub fn open_db(settings: &Settings) -> Result<Db, String> {
    Db::open(&settings.database_url, settings.db_max_connections)
        .map_err(|e| format!("SANLINK_DATABASE_URL: {e}"))
}

/// Applies pending migrations; returns how many were applied.
pub async fn upgrade(db: &Db, settings: &Settings) -> Result<usize, String> {
    let db = db.clone();
    tokio::task::spawn_blocking(move || db.upgrade())
        .await
        .map_err(|e| e.to_string())?
        .map(|applied| applied.len())
        .map_err(|e| format!("database {}: {e}", redact_url(&settings.database_url)))
}

/// The `db upgrade` and `db version` commands.
pub fn db_command(settings: &Settings, command: DbCommand) -> Result<(), String> {
    let db = open_db(settings)?;
    match command {
        DbCommand::Upgrade => {
            let applied = db
                .upgrade()
                .map_err(|e| format!("database {}: {e}", redact_url(&settings.database_url)))?;
            println!("applied {} migration(s)", applied.len());
        }
        DbCommand::Version => println!("{}", db.version()?.unwrap_or_else(|| "none".into())),
    }
    Ok(())
}

/// Completes on SIGTERM or Ctrl-C.
pub async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    let term = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    tokio::select! {
        _ = ctrl_c => {},
        _ = term => {},
    }
    tracing::info!("shutting down");
}
