//! Prometheus metrics. Every crate records through the `metrics` facade; the first
//! call to [`handle`] installs the Prometheus recorder for the process, and `/metrics`
//! (see [`crate::ops`]) renders it. Metrics appear once first recorded.
//!
//! The names, for dashboards and alerts:

use std::sync::OnceLock;
use std::time::Duration;

use metrics_exporter_prometheus::{Matcher, PrometheusBuilder, PrometheusHandle};

/// Counter, by `method`, `route` (the matched route template, e.g.
/// `/v1/nodes/{node_ident}`, or `unmatched`) and `status`.
pub const HTTP_REQUESTS: &str = "sanlink_http_requests_total";
/// Histogram of API request latency, same labels.
pub const HTTP_DURATION: &str = "sanlink_http_request_duration_seconds";
/// Histogram of the gateway's conductor calls, by `method` (the RPC) and `outcome`
/// (`ok`, `error`: the conductor refused, `unavailable`: no answer).
pub const RPC_DURATION: &str = "sanlink_rpc_duration_seconds";
/// Counter of conductor calls nobody answered before their deadline, by `method`.
pub const RPC_TIMEOUTS: &str = "sanlink_rpc_timeouts_total";
/// Counter of requests RabbitMQ delivered to a conductor again (an earlier one died).
pub const RPC_REDELIVERED: &str = "sanlink_rpc_redelivered_total";
/// Counter of requests rejected into the dead-letter queue, by `reason`
/// (`undecodable`, `version`).
pub const RPC_DEAD_LETTERED: &str = "sanlink_rpc_dead_lettered_total";
/// Histogram of the time spent taking a node lock, retries included, by `outcome`
/// (`acquired`, `locked`).
pub const NODE_LOCK_WAIT: &str = "sanlink_node_lock_wait_seconds";
/// Counter of calls answered NodeLocked (409) after the retries.
pub const NODE_LOCKED: &str = "sanlink_node_locked_total";
/// Gauge of conductors online with a fresh heartbeat, read at each scrape.
pub const CONDUCTORS_ALIVE: &str = "sanlink_conductors_alive";
/// Histogram of BMC (Redfish) HTTP calls, by `method` and `outcome` (`ok`, `error`).
pub const BMC_DURATION: &str = "sanlink_bmc_request_duration_seconds";
/// Counter of failed BMC calls, by `kind` (`unreachable`, `credentials`, `status`).
pub const BMC_ERRORS: &str = "sanlink_bmc_errors_total";
/// Histogram of Cinder (block storage) HTTP calls, by `operation` (`get_volume`,
/// `reserve`, `initialize_connection`, ...) and `outcome` (`ok`, `error`).
pub const CINDER_DURATION: &str = "sanlink_cinder_request_duration_seconds";
/// Counter of failed Cinder calls, by `operation` and `kind` (`unreachable`, `auth`,
/// `status`).
pub const CINDER_ERRORS: &str = "sanlink_cinder_errors_total";

/// Latency buckets in seconds: from a quick database read to a slow BMC.
const BUCKETS: [f64; 14] = [
    0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0,
];

/// The process's Prometheus recorder, installed on first use.
pub fn handle() -> &'static PrometheusHandle {
    static HANDLE: OnceLock<PrometheusHandle> = OnceLock::new();
    HANDLE.get_or_init(|| {
        let handle = PrometheusBuilder::new()
            .set_buckets_for_metric(Matcher::Suffix("_seconds".into()), &BUCKETS)
            .expect("buckets are not empty")
            .install_recorder()
            .expect("only this function installs a metrics recorder");
        describe();
        // Histograms buffer samples until drained; a process nobody scrapes must not grow.
        let upkeep = handle.clone();
        std::thread::spawn(move || {
            loop {
                std::thread::sleep(Duration::from_secs(5));
                upkeep.run_upkeep();
            }
        });
        handle
    })
}

/// The exposition text, in Prometheus' text format.
pub fn render() -> String {
    handle().render()
}

fn describe() {
    use metrics::{Unit, describe_counter, describe_gauge, describe_histogram};
    describe_counter!(HTTP_REQUESTS, "API requests answered");
    describe_histogram!(HTTP_DURATION, Unit::Seconds, "API request latency");
    describe_histogram!(RPC_DURATION, Unit::Seconds, "conductor call round-trip");
    describe_counter!(RPC_TIMEOUTS, "conductor calls not answered in time");
    describe_counter!(RPC_REDELIVERED, "requests redelivered to a conductor");
    describe_counter!(
        RPC_DEAD_LETTERED,
        "requests rejected into the dead-letter queue"
    );
    describe_histogram!(
        NODE_LOCK_WAIT,
        Unit::Seconds,
        "time taken to get a node lock"
    );
    describe_counter!(NODE_LOCKED, "calls refused because the node stayed locked");
    describe_gauge!(CONDUCTORS_ALIVE, "conductors online with a fresh heartbeat");
    describe_histogram!(BMC_DURATION, Unit::Seconds, "BMC call latency");
    describe_counter!(BMC_ERRORS, "failed BMC calls");
    describe_histogram!(CINDER_DURATION, Unit::Seconds, "Cinder call latency");
    describe_counter!(CINDER_ERRORS, "failed Cinder calls");
}
