//! The command line every sanlink binary shares: `serve` (the default) and the
//! operator commands, parsed by `clap`.

use std::path::PathBuf;
use std::process::ExitCode;

use clap::{CommandFactory, FromArgMatches, Parser, Subcommand};

use crate::config::Settings;
use crate::startup;

#[derive(Debug, Parser)]
#[command(version)]
struct Cli {
    /// TOML settings file (default: $SANLINK_CONFIG); the environment wins over it
    #[arg(long, global = true, value_name = "FILE")]
    config: Option<PathBuf>,
    #[command(subcommand)]
    command: Option<Command>,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Run the service (the default)
    Serve,
    /// Database schema
    #[command(subcommand)]
    Db(DbCommand),
    /// Check the settings; report every problem at once (exit 1 if any)
    CheckConfig,
    /// Print the settings reference (docs/configuration.md)
    ConfigReference,
    /// Conductors registered in the database
    #[command(subcommand)]
    Conductor(ConductorCommand),
    /// Node locks
    #[command(subcommand)]
    Node(NodeCommand),
}

#[derive(Clone, Copy, Debug, Subcommand)]
pub enum DbCommand {
    /// Apply pending database migrations
    Upgrade,
    /// Print the newest applied migration
    Version,
}

#[derive(Debug, Subcommand)]
enum ConductorCommand {
    /// List conductors, whether they are alive and their last heartbeat
    List,
}

#[derive(Debug, Subcommand)]
enum NodeCommand {
    /// Release a node's lock whoever holds it (asks first unless --yes)
    ReleaseLock {
        /// The node's name or UUID
        node: String,
        /// Release without asking
        #[arg(short, long)]
        yes: bool,
    },
}

/// Parses the command line and runs the chosen command; `serve` is given as a future
/// factory so each binary supplies its own.
///
/// Exit codes: 0 done; 1 the command failed, or `check-config` found a problem; 2 a
/// usage error, or settings a command cannot start with.
pub fn main_with<F, Fut>(program: &'static str, serve: F) -> ExitCode
where
    F: FnOnce(Settings) -> Fut,
    Fut: Future<Output = Result<(), String>>,
{
    let cli = parse(program);
    let command = cli.command.unwrap_or(Command::Serve);
    // The reference describes the settings, so it is printed whatever they are.
    if let Command::ConfigReference = command {
        print!("{}", crate::config::reference());
        return ExitCode::SUCCESS;
    }
    let settings = match startup::settings(program, settings_file(cli.config).as_deref()) {
        Ok(settings) => settings,
        Err(problems) => {
            eprintln!("{problems}");
            // For check-config the problems are the answer; other commands cannot start.
            return match command {
                Command::CheckConfig => ExitCode::FAILURE,
                _ => ExitCode::from(2),
            };
        }
    };
    match run(program, command, settings, serve) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("{program}: {e}");
            ExitCode::FAILURE
        }
    }
}

/// The command line, or the process ends with clap's help, version or usage error.
fn parse(program: &'static str) -> Cli {
    let matches = Cli::command()
        .name(program)
        .bin_name(program)
        .after_help(examples(program))
        .get_matches();
    Cli::from_arg_matches(&matches).unwrap_or_else(|e| e.exit())
}

/// `--config`, else `SANLINK_CONFIG`. Not clap's `env`: an empty SANLINK_CONFIG means no
/// file, not an empty path.
fn settings_file(option: Option<PathBuf>) -> Option<PathBuf> {
    option.or_else(|| {
        std::env::var_os("SANLINK_CONFIG")
            .filter(|c| !c.is_empty())
            .map(PathBuf::from)
    })
}

/// Runs a command with good settings.
fn run<F, Fut>(program: &str, command: Command, settings: Settings, serve: F) -> Result<(), String>
where
    F: FnOnce(Settings) -> Fut,
    Fut: Future<Output = Result<(), String>>,
{
    startup::init_logging(&settings);
    match command {
        Command::Serve => {
            let runtime = tokio::runtime::Runtime::new()
                .map_err(|e| format!("cannot start the runtime: {e}"))?;
            runtime.block_on(serve(settings))
        }
        Command::Db(db) => startup::db_command(&settings, db),
        Command::CheckConfig => {
            println!("{program}: configuration OK");
            Ok(())
        }
        Command::ConfigReference => {
            print!("{}", crate::config::reference());
            Ok(())
        }
        Command::Conductor(ConductorCommand::List) => {
            let db = startup::open_db(&settings)?;
            crate::admin::conductor_list(&db, &settings)
        }
        Command::Node(NodeCommand::ReleaseLock { node, yes }) => {
            let db = startup::open_db(&settings)?;
            crate::admin::release_lock(&db, &node, yes)
        }
    }
}

/// The end of `--help`: where settings come from, and the commands operators type most.
fn examples(program: &str) -> String {
    format!(
        "Settings come from SANLINK_* environment variables over the file; \
         `{program} config-reference` lists them.\n\n\
         Examples:\n  \
         {program} check-config --config sanlink.toml\n  \
         {program} db upgrade\n  \
         {program} conductor list\n  \
         {program} node release-lock NODE --yes"
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_command_line_is_consistent() {
        Cli::command().debug_assert();
    }

    #[test]
    fn options_may_follow_the_command() {
        let cli = Cli::try_parse_from(["sanlink", "node", "release-lock", "n1", "--yes"])
            .expect("parses");
        assert!(matches!(
            cli.command,
            Some(Command::Node(NodeCommand::ReleaseLock { ref node, yes: true })) if node == "n1"
        ));
        let cli =
            Cli::try_parse_from(["sanlink", "check-config", "--config", "f.toml"]).expect("parses");
        assert_eq!(cli.config, Some(PathBuf::from("f.toml")));
        assert!(Cli::try_parse_from(["sanlink", "--config"]).is_err());
        assert!(Cli::try_parse_from(["sanlink", "db", "downgrade"]).is_err());
    }
}
