//! Start-up steps every sanlink binary shares: logging, settings, database, signals.

use crate::config::{Settings, redact_url};
use crate::db::Db;

/// Logs to stderr, filtered by `SANLINK_LOG` (default `info`).
pub fn init_logging() {
    let filter = tracing_subscriber::EnvFilter::try_from_env("SANLINK_LOG")
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info"));
    tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .init();
}

/// Reads the settings (environment over the file given by `--config` or
/// `SANLINK_CONFIG`), or says in one line which one is wrong.
pub fn settings(program: &str, config: Option<&str>) -> Result<Settings, String> {
    let env_config = std::env::var("SANLINK_CONFIG")
        .ok()
        .filter(|c| !c.is_empty());
    let path = config.map(str::to_string).or(env_config);
    Settings::from_env_and_file(path.as_deref().map(std::path::Path::new))
        .map_err(|e| format!("{program}: {e}"))
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
pub fn db_command(settings: &Settings, command: &str) -> Result<(), String> {
    let db = open_db(settings)?;
    match command {
        "upgrade" => {
            let applied = db
                .upgrade()
                .map_err(|e| format!("database {}: {e}", redact_url(&settings.database_url)))?;
            println!("applied {} migration(s)", applied.len());
        }
        _ => println!("{}", db.version()?.unwrap_or_else(|| "none".into())),
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

/// Parses `[serve] | db upgrade | db version` and runs the chosen command; `serve` is
/// given as a future factory so each binary supplies its own.
pub fn main_with<F, Fut>(program: &str, serve: F) -> std::process::ExitCode
where
    F: FnOnce(Settings) -> Fut,
    Fut: std::future::Future<Output = Result<(), String>>,
{
    init_logging();
    let mut args: Vec<String> = std::env::args().skip(1).collect();
    let config = match args.iter().position(|a| a == "--config") {
        Some(i) if i + 1 < args.len() => {
            let path = args.remove(i + 1);
            args.remove(i);
            Some(path)
        }
        Some(_) => {
            eprintln!("{program}: --config needs a file");
            return std::process::ExitCode::from(2);
        }
        None => None,
    };
    let settings = match settings(program, config.as_deref()) {
        Ok(s) => s,
        Err(e) => {
            eprintln!("{e}");
            return std::process::ExitCode::from(2);
        }
    };
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    let result = match args.as_slice() {
        [] | ["serve"] => match tokio::runtime::Runtime::new() {
            Ok(rt) => rt.block_on(serve(settings)),
            Err(e) => Err(format!("cannot start the runtime: {e}")),
        },
        ["db", cmd @ ("upgrade" | "version")] => db_command(&settings, cmd),
        _ => Err(format!(
            "usage: {program} [--config FILE] [serve | db upgrade | db version]"
        )),
    };
    match result {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("{program}: {e}");
            std::process::ExitCode::FAILURE
        }
    }
}
