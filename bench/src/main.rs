//! Load benchmark of sanlink's volume API: starts the service in each topology, loads
//! fixtures through the API, runs each scenario for a fixed time at a fixed number of
//! connections and prints requests/s, p50, p99 and errors next to the machine's floor.
//! See bench/README.md.

mod affinity;
mod floor;
mod http;
mod ironic;
mod keystone;
mod load;
mod report;
mod scenarios;
mod service;
mod topology;

use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

use anyhow::{Context, Result};
use clap::Parser;

use crate::http::{Conn, Endpoint};
use crate::report::{FloorResult, ProcessStats, Report, ScenarioResult, TopologyResult};
use crate::scenarios::{Fixtures, Scenario};
use crate::service::Proc;
use crate::topology::{Servers, Settings, Topology};

#[derive(Parser, Debug)]
#[command(about = "Load benchmark of sanlink's volume API in both topologies")]
struct Args {
    /// Embedded on SQLite, production on PostgreSQL, and the floor (the default).
    #[arg(long)]
    all: bool,
    /// Smoke run: embedded only, 1 s per scenario, no floor; fails on any error.
    #[arg(long)]
    quick: bool,
    /// Only the embedded topology.
    #[arg(long)]
    embedded: bool,
    /// Only the production topology on PostgreSQL.
    #[arg(long)]
    production: bool,
    /// Also the production topology on MariaDB.
    #[arg(long)]
    mysql: bool,
    /// Also OpenStack Ironic from PyPI, all-in-one on SQLite, as the peer.
    #[arg(long)]
    ironic: bool,
    /// Also embedded with Keystone tokens (`SANLINK_AUTH_STRATEGY=keystone`, a real
    /// Keystone from tests/keystone), every request carrying one system admin's token.
    #[arg(long)]
    keystone: bool,
    /// Seconds each scenario is measured.
    #[arg(long, default_value_t = 10.0)]
    duration: f64,
    /// Seconds each scenario runs before it is measured.
    #[arg(long, default_value_t = 1.0)]
    warmup: f64,
    /// Connections (concurrent requests) of the generator.
    #[arg(long, default_value_t = 16)]
    concurrency: usize,
    /// The core the service runs on; the generator takes another one.
    #[arg(long, default_value_t = 0)]
    service_cpu: usize,
    #[arg(long, default_value_t = 1)]
    generator_cpu: usize,
    /// Where the JSON results go.
    #[arg(long, default_value = "target/bench/results.json")]
    json: PathBuf,
    /// Data directories and logs.
    #[arg(long, default_value = "target/bench/work")]
    work_dir: PathBuf,
    #[arg(
        long,
        env = "BENCH_AMQP_URL",
        default_value = "amqp://guest:guest@127.0.0.1:5672/%2f"
    )]
    amqp_url: String,
    #[arg(
        long,
        env = "BENCH_PG_URL",
        default_value = "postgres://postgres@127.0.0.1:5432"
    )]
    pg_url: String,
    #[arg(
        long,
        env = "BENCH_MYSQL_URL",
        default_value = "mysql://root@127.0.0.1:3306"
    )]
    mysql_url: String,
    /// Where `sanlink`, `api-gateway` and `conductor` are; default: next to this binary.
    #[arg(long)]
    bin_dir: Option<PathBuf>,
    /// Skip measuring the floor.
    #[arg(long)]
    no_floor: bool,
    /// Only these scenarios (keys as in the JSON, comma-separated).
    #[arg(long, value_delimiter = ',')]
    only: Vec<String>,
}

impl Args {
    fn topologies(&self) -> Vec<Topology> {
        if self.quick {
            return vec![Topology::Embedded];
        }
        let mut list = Vec::new();
        let default = !(self.embedded || self.production);
        if self.embedded || default || self.all {
            list.push(Topology::Embedded);
        }
        if self.production || default || self.all {
            list.push(Topology::Postgres);
        }
        if self.mysql {
            list.push(Topology::Mysql);
        }
        list
    }

    /// Each topology to run, and whether with Keystone tokens.
    fn passes(&self) -> Vec<(Topology, bool)> {
        let mut passes: Vec<_> = self.topologies().into_iter().map(|t| (t, false)).collect();
        if self.keystone {
            passes.push((Topology::Embedded, true));
        }
        passes
    }

    fn measures_floor(&self) -> bool {
        !self.quick && !self.no_floor
    }

    fn window(&self) -> (Duration, Duration) {
        if self.quick {
            (Duration::ZERO, Duration::from_secs(1))
        } else {
            (
                Duration::from_secs_f64(self.warmup),
                Duration::from_secs_f64(self.duration),
            )
        }
    }

    fn scenarios(&self) -> Vec<Scenario> {
        Scenario::ALL
            .into_iter()
            .filter(|s| self.only.is_empty() || self.only.iter().any(|k| k == s.key()))
            .collect()
    }
}

fn main() -> ExitCode {
    let args = Args::parse();
    let pinned = pin_generator(&args);
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("tokio runtime");
    match runtime.block_on(run(&args, pinned)) {
        Ok(report) => {
            let errors: u64 = report
                .topologies
                .iter()
                .flat_map(|t| &t.scenarios)
                .map(|s| s.errors)
                .sum();
            if args.quick && errors > 0 {
                eprintln!("bench: {errors} request(s) failed");
                return ExitCode::FAILURE;
            }
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("bench: {e:#}");
            ExitCode::FAILURE
        }
    }
}

/// Pins this process (the generator, one thread) to its core when there are two; the
/// service gets the other. Returns the service's core, if pinned.
fn pin_generator(args: &Args) -> Option<usize> {
    if affinity::available_cpus() < 2 {
        eprintln!("bench: one CPU only: generator and service share it");
        return None;
    }
    match affinity::pin_self(args.generator_cpu) {
        Ok(()) => Some(args.service_cpu),
        Err(e) => {
            eprintln!("bench: cannot pin to CPU {}: {e}", args.generator_cpu);
            None
        }
    }
}

async fn run(args: &Args, service_cpu: Option<usize>) -> Result<Report> {
    let servers = Servers {
        amqp_url: args.amqp_url.clone(),
        postgres: args.pg_url.clone(),
        mysql: args.mysql_url.clone(),
    };
    let work = absolute(&args.work_dir)?;
    let bins = match &args.bin_dir {
        Some(dir) => absolute(dir)?,
        None => service::bin_dir()?,
    };
    std::fs::create_dir_all(&work)?;
    let (_, duration) = args.window();
    let mut report = Report {
        machine: machine(),
        started_at: now_utc(),
        load_average_before: std::fs::read_to_string("/proc/loadavg")
            .unwrap_or_default()
            .trim()
            .into(),
        seconds_per_scenario: duration.as_secs_f64(),
        floor: FloorResult::default(),
        topologies: Vec::new(),
    };
    println!("# sanlink benchmark — {}", report.machine);
    println!("load average before: {}", report.load_average_before);
    if args.measures_floor() {
        report.floor = measure_floor(args, &servers, &work).await;
        report::print_floor(&report.floor);
    }
    for (topology, with_keystone) in args.passes() {
        let mut settings = Settings {
            cpu: service_cpu,
            ..Default::default()
        };
        let (key, name, keystone) = match with_keystone {
            false => (topology.key(), topology.name(), None),
            true => {
                let keystone = keystone::Keystone::start(&work.join("keystone"))
                    .await
                    .context("starting Keystone")?;
                settings.env = keystone.sanlink_env();
                (keystone::KEY, keystone::NAME, Some(keystone))
            }
        };
        let dir = work.join(key);
        let _ = std::fs::remove_dir_all(&dir);
        let running = topology::start(topology, &bins, &dir, &servers, &settings)
            .await
            .with_context(|| format!("starting {name}"))?;
        let api = match &keystone {
            Some(keystone) => running.api.clone().with_token(&keystone.token)?,
            None => running.api.clone(),
        };
        let result = run_scenarios(
            args,
            key,
            name,
            &api,
            &running.procs,
            &report.floor,
            topology,
        )
        .await;
        let mut logs = running.logs();
        running.stop(&servers)?;
        if let Some(keystone) = keystone {
            logs.push(keystone.log.clone());
            drop(keystone); // stops it
        }
        let result = result.with_context(|| format!("{name}; logs: {logs:?}"))?;
        report::print_topology(&result);
        if with_keystone
            && let Some(noauth) = report.topologies.iter().find(|t| t.key == topology.key())
        {
            report::print_overhead(noauth, &result);
        }
        report.topologies.push(result);
    }
    if args.ironic {
        let result = ironic::run(args, &work, service_cpu, &report.floor).await?;
        report::print_topology(&result);
        if let Some(ours) = report
            .topologies
            .iter()
            .find(|t| t.key == Topology::Embedded.key())
        {
            report::print_comparison(ours, &result);
        }
        report.topologies.push(result);
    }
    write_json(&args.json, &report)?;
    println!("\nJSON: {}", args.json.display());
    Ok(report)
}

/// The floor; a server that cannot be reached leaves its row out, with a warning
/// (an embedded-only run needs neither RabbitMQ nor PostgreSQL).
async fn measure_floor(args: &Args, servers: &Servers, work: &std::path::Path) -> FloorResult {
    let window = Duration::from_secs(2);
    let prefix = format!(
        "sanlink-bench-{}",
        &uuid::Uuid::new_v4().simple().to_string()[..8]
    );
    let amqp = &servers.amqp_url;
    let sqlite = work.join("floor.sqlite");
    let floor = FloorResult {
        amqp_round_trip: noted(
            "AMQP round trip",
            floor::amqp_round_trip(amqp, &prefix, true, window).await,
        ),
        amqp_round_trip_plain: noted(
            "AMQP round trip (plain)",
            floor::amqp_round_trip(amqp, &prefix, false, window).await,
        ),
        commit_sqlite: noted(
            "SQLite commit",
            floor::commit(&format!("sqlite://{}", sqlite.display()), window).await,
        ),
        commit_postgres: noted(
            "PostgreSQL commit",
            server_commit(&servers.postgres, window).await,
        ),
        commit_mariadb: match args.mysql {
            true => noted(
                "MariaDB commit",
                server_commit(&servers.mysql, window).await,
            ),
            false => None,
        },
    };
    let _ = std::fs::remove_file(&sqlite);
    floor
}

/// A commit on a fresh scratch database of `server`, dropped afterwards.
async fn server_commit(server: &str, window: Duration) -> Result<floor::Floor> {
    let name = "sanlink_bench_floor";
    let url = topology::fresh_database(server, name)?;
    let measured = floor::commit(&url, window).await;
    topology::drop_database(server, name)?;
    measured
}

fn noted<T>(what: &str, result: Result<T>) -> Option<T> {
    result
        .map_err(|e| eprintln!("bench: floor: {what} not measured: {e:#}"))
        .ok()
}

/// The floor of one write operation in `topology`: its round trips and commits.
fn floor_of(scenario: Scenario, topology: Topology, floor: &FloorResult) -> Option<f64> {
    let (rpcs, commits) = scenario.floor_cost()?;
    let commit = match topology {
        Topology::Embedded => floor.commit_sqlite?,
        Topology::Postgres => floor.commit_postgres?,
        Topology::Mysql => floor.commit_mariadb?,
    };
    // Embedded mode calls its conductor in-process: no round trip.
    let rpc = match topology {
        Topology::Embedded => 0.0,
        _ => floor.amqp_round_trip?.p50_ms,
    };
    Some(rpcs as f64 * rpc + commits as f64 * commit.p50_ms)
}

/// Loads the fixtures and runs every scenario against `api`, whose processes are `procs`.
async fn run_scenarios(
    args: &Args,
    key: &'static str,
    name: &'static str,
    api: &Endpoint,
    procs: &[Proc],
    floor: &FloorResult,
    floor_topology: Topology,
) -> Result<TopologyResult> {
    let mut conns: Vec<Conn> = (0..args.concurrency).map(|_| Conn::new(api)).collect();
    let fixtures = Fixtures::load(&mut conns)
        .await
        .context("loading fixtures")?;
    let (warmup, duration) = args.window();
    let mut scenarios = Vec::new();
    for scenario in args.scenarios() {
        let service_before: Duration = procs.iter().map(Proc::cpu_time).sum();
        let generator_before = service::cpu_time(std::process::id()).unwrap_or_default();
        let outcome = load::run(&mut conns, warmup, duration, async |conn, worker, seq| {
            fixtures.op(scenario, conn, worker, seq).await
        })
        .await;
        let service_used: Duration =
            procs.iter().map(Proc::cpu_time).sum::<Duration>() - service_before;
        let generator_used =
            service::cpu_time(std::process::id()).unwrap_or_default() - generator_before;
        // CPU over the whole run, warm-up included.
        let wall = (outcome.elapsed + warmup).as_secs_f64().max(1e-9);
        let floor_ms = floor_of(scenario, floor_topology, floor);
        scenarios.push(ScenarioResult {
            key: scenario.key(),
            name: scenario.name(),
            ops: outcome.ops,
            errors: outcome.errors,
            first_error: outcome.first_error.clone(),
            seconds: outcome.elapsed.as_secs_f64(),
            per_second: outcome.per_second(),
            p50_ms: outcome.p50_ms(),
            p99_ms: outcome.p99_ms(),
            service_cpu_pct: 100.0 * service_used.as_secs_f64() / wall,
            // Over the warm-up too, whose operations are not counted: an estimate.
            service_cpu_us_per_op: 1e6
                * service_used.as_secs_f64()
                * (outcome.elapsed.as_secs_f64() / wall)
                / outcome.ops.max(1) as f64,
            generator_cpu_pct: 100.0 * generator_used.as_secs_f64() / wall,
            exhausted: outcome.exhausted,
            floor_ms,
            p50_over_floor: floor_ms.map(|f| outcome.p50_ms() / f.max(1e-9)),
        });
        eprintln!(
            "  {} done: {:.0}/s, {} errors",
            scenario.name(),
            outcome.per_second(),
            outcome.errors
        );
    }
    let processes = procs
        .iter()
        .map(|p| ProcessStats {
            name: p.name.clone(),
            startup_ms: p.startup.as_secs_f64() * 1000.0,
            idle_rss_mb: p.idle_rss_kb as f64 / 1024.0,
            peak_rss_mb: p.peak_rss_kb() as f64 / 1024.0,
        })
        .collect();
    Ok(TopologyResult {
        key,
        name,
        concurrency: args.concurrency,
        processes,
        scenarios,
    })
}

fn absolute(path: &std::path::Path) -> Result<PathBuf> {
    Ok(if path.is_absolute() {
        path.to_path_buf()
    } else {
        std::env::current_dir()?.join(path)
    })
}

fn write_json(path: &std::path::Path, report: &Report) -> Result<()> {
    if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
        std::fs::create_dir_all(dir)?;
    }
    std::fs::write(path, serde_json::to_vec_pretty(report)?)?;
    Ok(())
}

/// CPU model, cores and memory, for the table's heading.
fn machine() -> String {
    let cpuinfo = std::fs::read_to_string("/proc/cpuinfo").unwrap_or_default();
    let model = cpuinfo
        .lines()
        .find_map(|l| {
            l.strip_prefix("model name")?
                .split_once(':')
                .map(|(_, v)| v.trim().to_string())
        })
        .unwrap_or_else(|| "unknown CPU".into());
    let memory_gb = service::status_kb_meminfo().map_or(0.0, |kb| kb as f64 / 1024.0 / 1024.0);
    let kernel = std::fs::read_to_string("/proc/sys/kernel/osrelease").unwrap_or_default();
    format!(
        "{model}, {} CPUs, {memory_gb:.1} GB RAM, Linux {}",
        affinity::available_cpus_total(),
        kernel.trim()
    )
}

fn now_utc() -> String {
    std::process::Command::new("date")
        .args(["-u", "+%Y-%m-%d %H:%M UTC"])
        .output()
        .map(|o| String::from_utf8_lossy(&o.stdout).trim().to_string())
        .unwrap_or_default()
}
