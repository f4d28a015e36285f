//! The load loop: a fixed number of workers, each on its own connection, repeat one
//! operation for a fixed time; every operation's latency goes into a histogram and
//! every failed one is counted.

use std::cell::Cell;
use std::time::{Duration, Instant};

use hdrhistogram::Histogram;

use crate::http::Conn;

/// What a run measured.
pub struct Outcome {
    /// Operations finished within the measured window (failed ones included).
    pub ops: u64,
    pub errors: u64,
    /// The first error seen, to show next to the count.
    pub first_error: Option<String>,
    /// The measured window: shorter than asked when the fixtures ran out.
    pub elapsed: Duration,
    /// Latency of every measured operation, in microseconds.
    pub latency: Histogram<u64>,
    /// A worker ran out of fixtures and stopped early.
    pub exhausted: bool,
}

impl Outcome {
    pub fn per_second(&self) -> f64 {
        self.ops as f64 / self.elapsed.as_secs_f64().max(1e-9)
    }

    pub fn p50_ms(&self) -> f64 {
        self.latency.value_at_quantile(0.50) as f64 / 1000.0
    }

    pub fn p99_ms(&self) -> f64 {
        self.latency.value_at_quantile(0.99) as f64 / 1000.0
    }
}

/// How an operation ended.
pub enum Done {
    Ok,
    Failed(String),
    /// Nothing left for this worker to work on (e.g. no connector left to delete).
    Exhausted,
}

fn histogram() -> Histogram<u64> {
    // 1 µs to 100 s at 3 significant digits.
    Histogram::new_with_bounds(1, 100_000_000, 3).expect("valid histogram bounds")
}

/// Runs `op(conn, worker, seq)` on every connection for `warmup` (not counted) and then
/// `duration`. An operation started in the warm-up is not counted.
pub async fn run<F>(conns: &mut [Conn], warmup: Duration, duration: Duration, op: F) -> Outcome
where
    F: AsyncFn(&mut Conn, usize, u64) -> Done,
{
    let start = Instant::now() + warmup;
    // Brought forward when a worker runs out of fixtures: the others stop with it, so
    // the rate stays the rate of a full set of workers.
    let end = Cell::new(start + duration);
    let (op, end) = (&op, &end);
    let workers = conns
        .iter_mut()
        .enumerate()
        .map(|(worker, conn)| async move {
            let mut out = Outcome {
                ops: 0,
                errors: 0,
                first_error: None,
                elapsed: duration,
                latency: histogram(),
                exhausted: false,
            };
            let mut seq = 0;
            loop {
                let began = Instant::now();
                if began >= end.get() {
                    break;
                }
                let done = op(conn, worker, seq).await;
                seq += 1;
                if began < start {
                    continue;
                }
                let took = began.elapsed().as_micros() as u64;
                match done {
                    Done::Ok => {}
                    Done::Failed(e) => {
                        out.errors += 1;
                        out.first_error.get_or_insert(e);
                    }
                    Done::Exhausted => {
                        out.exhausted = true;
                        end.set(end.get().min(began));
                        break;
                    }
                }
                out.ops += 1;
                out.latency.saturating_record(took.max(1));
            }
            out
        });
    let results = futures_util::future::join_all(workers).await;
    let elapsed = end.get().saturating_duration_since(start);
    merge(results, elapsed)
}

fn merge(results: Vec<Outcome>, duration: Duration) -> Outcome {
    let mut total = Outcome {
        ops: 0,
        errors: 0,
        first_error: None,
        elapsed: duration,
        latency: histogram(),
        exhausted: false,
    };
    for r in results {
        total.ops += r.ops;
        total.errors += r.errors;
        if total.first_error.is_none() {
            total.first_error = r.first_error;
        }
        total
            .latency
            .add(&r.latency)
            .expect("same histogram bounds");
        total.exhausted |= r.exhausted;
    }
    total
}
