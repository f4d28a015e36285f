//! Start-up steps every sanlink binary shares: logging, settings, database, signals.

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
/// `SANLINK_CONFIG`), or says in one line which one is wrong.
pub fn settings(program: &str, config: Option<&str>) -> Result<Settings, String> {
    let env_config = std::env::var("SANLINK_CONFIG")
        .ok()
        .filter(|c| !c.is_empty());
    let path = config.map(str::to_string).or(env_config);
    Settings::from_env_and_file(path.as_deref().map(std::path::Path::new)).map_err(|e| {
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

const USAGE: &str = "[--config FILE] COMMAND

commands:
  serve                            run the service (the default)
  db upgrade                       apply pending database migrations
  db version                       print the newest applied migration
  check-config                     check the settings; report every problem
  config-reference                 print the settings reference (docs/configuration.md)
  conductor list                   list conductors with their last heartbeat
  node release-lock NODE [--yes]   release a node's lock (asks first unless --yes)";

/// Takes `--config FILE` and `--yes` out of the arguments.
fn options(args: &mut Vec<String>) -> Result<(Option<String>, bool), String> {
    let yes = args.iter().any(|a| a == "--yes" || a == "-y");
    args.retain(|a| a != "--yes" && a != "-y");
    let config = match args.iter().position(|a| a == "--config") {
        Some(i) if i + 1 < args.len() => {
            let path = args.remove(i + 1);
            args.remove(i);
            Some(path)
        }
        Some(_) => return Err("--config needs a file".into()),
        None => None,
    };
    Ok((config, yes))
}

/// Parses the command line (see [`USAGE`]) and runs the chosen command; `serve` is
/// given as a future factory so each binary supplies its own.
pub fn main_with<F, Fut>(program: &str, serve: F) -> std::process::ExitCode
where
    F: FnOnce(Settings) -> Fut,
    Fut: std::future::Future<Output = Result<(), String>>,
{
    use std::process::ExitCode;
    let mut args: Vec<String> = std::env::args().skip(1).collect();
    let (config, yes) = match options(&mut args) {
        Ok(o) => o,
        Err(e) => {
            eprintln!("{program}: {e}\nusage: {program} {USAGE}");
            return ExitCode::from(2);
        }
    };
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    match args.as_slice() {
        ["help" | "--help" | "-h"] => {
            println!("usage: {program} {USAGE}");
            return ExitCode::SUCCESS;
        }
        ["config-reference"] => {
            print!("{}", crate::config::reference());
            return ExitCode::SUCCESS;
        }
        _ => {}
    }
    let settings = settings(program, config.as_deref());
    if args.as_slice() == ["check-config"] {
        return match settings {
            Ok(_) => {
                println!("{program}: configuration OK");
                ExitCode::SUCCESS
            }
            Err(e) => {
                eprintln!("{e}");
                ExitCode::FAILURE
            }
        };
    }
    let settings = match settings {
        Ok(s) => s,
        Err(e) => {
            eprintln!("{e}");
            return ExitCode::from(2);
        }
    };
    init_logging(&settings);
    let result = match args.as_slice() {
        [] | ["serve"] => match tokio::runtime::Runtime::new() {
            Ok(rt) => rt.block_on(serve(settings)),
            Err(e) => Err(format!("cannot start the runtime: {e}")),
        },
        ["db", cmd @ ("upgrade" | "version")] => db_command(&settings, cmd),
        ["conductor", "list"] => {
            open_db(&settings).and_then(|db| crate::admin::conductor_list(&db, &settings))
        }
        ["node", "release-lock", ident] => {
            open_db(&settings).and_then(|db| crate::admin::release_lock(&db, ident, yes))
        }
        _ => {
            eprintln!("usage: {program} {USAGE}");
            return ExitCode::from(2);
        }
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("{program}: {e}");
            ExitCode::FAILURE
        }
    }
}
