//! The results: what is printed as tables and written as JSON.

use serde::Serialize;

use crate::floor::Floor;

#[derive(Debug, Serialize)]
pub struct ScenarioResult {
    pub key: &'static str,
    pub name: &'static str,
    pub ops: u64,
    pub errors: u64,
    pub first_error: Option<String>,
    pub seconds: f64,
    pub per_second: f64,
    pub p50_ms: f64,
    pub p99_ms: f64,
    /// CPU the service's processes used over the run, in % of one core.
    pub service_cpu_pct: f64,
    /// The service's CPU time per operation, in µs: steadier than the rate when other
    /// work shares the machine.
    pub service_cpu_us_per_op: f64,
    /// CPU the generator used, in % of one core.
    pub generator_cpu_pct: f64,
    /// The run ended early: a worker had no fixture left.
    pub exhausted: bool,
    /// RPC round trips + commits the operation needs at the least, in ms (writes only).
    pub floor_ms: Option<f64>,
    pub p50_over_floor: Option<f64>,
}

#[derive(Debug, Serialize)]
pub struct ProcessStats {
    pub name: String,
    /// Launch to the first answered request, on an existing database.
    pub startup_ms: f64,
    pub idle_rss_mb: f64,
    pub peak_rss_mb: f64,
}

#[derive(Debug, Serialize)]
pub struct TopologyResult {
    pub key: &'static str,
    pub name: &'static str,
    pub concurrency: usize,
    pub processes: Vec<ProcessStats>,
    pub scenarios: Vec<ScenarioResult>,
}

#[derive(Debug, Default, Serialize)]
pub struct FloorResult {
    /// As sanlink sends requests: persistent, publisher-confirmed.
    pub amqp_round_trip: Option<Floor>,
    /// The same, neither persistent nor confirmed.
    pub amqp_round_trip_plain: Option<Floor>,
    pub commit_sqlite: Option<Floor>,
    pub commit_postgres: Option<Floor>,
    pub commit_mariadb: Option<Floor>,
}

#[derive(Debug, Serialize)]
pub struct Report {
    pub machine: String,
    pub started_at: String,
    pub load_average_before: String,
    pub seconds_per_scenario: f64,
    pub floor: FloorResult,
    pub topologies: Vec<TopologyResult>,
}

fn opt_ms(v: Option<f64>) -> String {
    v.map_or("-".into(), |v| format!("{v:.2}"))
}

pub fn print_floor(floor: &FloorResult) {
    println!("\n## Floor (one at a time, p50 / p99 ms)");
    let rows = [
        (
            "AMQP round trip (persistent, confirmed)",
            &floor.amqp_round_trip,
        ),
        ("AMQP round trip (plain)", &floor.amqp_round_trip_plain),
        (
            "one-row commit, SQLite (WAL, synchronous=NORMAL)",
            &floor.commit_sqlite,
        ),
        ("one-row commit, PostgreSQL", &floor.commit_postgres),
        ("one-row commit, MariaDB", &floor.commit_mariadb),
    ];
    for (name, value) in rows {
        if let Some(f) = value {
            println!("{name:<50} {:>8.3} {:>8.3}", f.p50_ms, f.p99_ms);
        }
    }
}

pub fn print_topology(t: &TopologyResult) {
    println!("\n## {} — {} connections", t.name, t.concurrency);
    println!(
        "{:<32} {:>9} {:>8} {:>8} {:>7} {:>8} {:>9} {:>8} {:>9} {:>9}",
        "scenario",
        "req/s",
        "p50 ms",
        "p99 ms",
        "errors",
        "svc CPU",
        "CPU µs/op",
        "gen CPU",
        "floor ms",
        "p50/floor"
    );
    for s in &t.scenarios {
        println!(
            "{:<32} {:>9.0} {:>8.2} {:>8.2} {:>7} {:>7.0}% {:>9.0} {:>7.0}% {:>9} {:>9}{}",
            s.name,
            s.per_second,
            s.p50_ms,
            s.p99_ms,
            s.errors,
            s.service_cpu_pct,
            s.service_cpu_us_per_op,
            s.generator_cpu_pct,
            opt_ms(s.floor_ms),
            s.p50_over_floor.map_or("-".into(), |r| format!("{r:.1}x")),
            if s.exhausted {
                "  (fixtures ran out)"
            } else {
                ""
            },
        );
        if let Some(e) = &s.first_error {
            println!("    first error: {e}");
        }
    }
    println!(
        "{:<32} {:>12} {:>12} {:>12}",
        "process", "start-up ms", "idle RSS MB", "peak RSS MB"
    );
    for p in &t.processes {
        println!(
            "{:<32} {:>12.0} {:>12.1} {:>12.1}",
            p.name, p.startup_ms, p.idle_rss_mb, p.peak_rss_mb
        );
    }
}

/// Each scenario's rate in `ours` and in `peer`, side by side.
pub fn print_comparison(ours: &TopologyResult, peer: &TopologyResult) {
    println!("\n## {} vs {} (req/s, p50 ms)", ours.name, peer.name);
    println!(
        "{:<32} {:>9} {:>8} {:>9} {:>8} {:>8}",
        "scenario", "sanlink", "p50", "peer", "p50", "ratio"
    );
    for s in &ours.scenarios {
        let Some(p) = peer.scenarios.iter().find(|p| p.key == s.key) else {
            continue;
        };
        let ratio = if p.ops == 0 {
            "-".to_string()
        } else {
            format!("{:.1}x", s.per_second / p.per_second)
        };
        println!(
            "{:<32} {:>9.0} {:>8.2} {:>9.0} {:>8.2} {:>8}",
            s.name, s.per_second, s.p50_ms, p.per_second, p.p50_ms, ratio
        );
    }
}

/// What the Keystone pass (`keyed`) costs against the same topology without
/// authentication (`plain`): rate and the service's CPU per operation, side by side.
pub fn print_overhead(plain: &TopologyResult, keyed: &TopologyResult) {
    println!("\n## {} vs noauth (req/s, CPU µs/op)", keyed.name);
    println!(
        "{:<32} {:>9} {:>9} {:>7} {:>9} {:>9} {:>7}",
        "scenario", "noauth/s", "token/s", "Δ", "noauth µs", "token µs", "Δ"
    );
    let change = |from: f64, to: f64| format!("{:+.1}%", 100.0 * (to - from) / from.max(1e-9));
    for k in &keyed.scenarios {
        let Some(p) = plain.scenarios.iter().find(|p| p.key == k.key) else {
            continue;
        };
        println!(
            "{:<32} {:>9.0} {:>9.0} {:>7} {:>9.0} {:>9.0} {:>7}",
            k.name,
            p.per_second,
            k.per_second,
            change(p.per_second, k.per_second),
            p.service_cpu_us_per_op,
            k.service_cpu_us_per_op,
            change(p.service_cpu_us_per_op, k.service_cpu_us_per_op),
        );
    }
}
