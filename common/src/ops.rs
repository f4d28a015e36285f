//! The operator endpoints every sanlink process serves beside its main routes:
//!
//! * `/healthz` — liveness: 200 while the process answers HTTP at all;
//! * `/readyz` — readiness: 200 when the database and the broker (when there is one)
//!   answer within [`CHECK_TIMEOUT`], else 503 with a JSON body naming what is down;
//! * `/metrics` — Prometheus exposition (see [`crate::metrics`]).
//!
//! None of them takes the Ironic API version header, and none of them is behind the
//! API's middleware.

use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use axum::extract::State;
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use serde_json::{Map, Value, json};

use crate::db::Db;

/// How long one readiness check may take: probes come often and must not pile up.
pub const CHECK_TIMEOUT: Duration = Duration::from_secs(2);

/// Something the process needs in order to serve: the database, the broker.
#[async_trait::async_trait]
pub trait Check: Send + Sync + 'static {
    /// The name `/readyz` reports it under.
    fn name(&self) -> &'static str;
    async fn check(&self) -> Result<(), String>;
}

/// The database answers a trivial query.
pub struct DatabaseCheck(pub Db);

#[async_trait::async_trait]
impl Check for DatabaseCheck {
    fn name(&self) -> &'static str {
        "database"
    }

    async fn check(&self) -> Result<(), String> {
        self.0.ping().await
    }
}

/// The broker accepts a connection (a conductor's check: its consuming connection is
/// not shared).
pub struct BrokerUrlCheck(pub String);

#[async_trait::async_trait]
impl Check for BrokerUrlCheck {
    fn name(&self) -> &'static str {
        "broker"
    }

    async fn check(&self) -> Result<(), String> {
        crate::rpc::amqp::probe(&self.0).await
    }
}

/// What the operator endpoints need.
#[derive(Clone)]
pub struct Ops {
    pub db: Db,
    pub checks: Vec<Arc<dyn Check>>,
    /// Conductors heartbeating within this count as alive in the metrics.
    pub heartbeat_timeout: Duration,
}

impl Ops {
    /// The database check plus `more` (the broker's, where there is one).
    pub fn new(db: Db, heartbeat_timeout: Duration, more: Vec<Arc<dyn Check>>) -> Ops {
        let mut checks: Vec<Arc<dyn Check>> = vec![Arc::new(DatabaseCheck(db.clone()))];
        checks.extend(more);
        // The recorder must exist before anything records.
        crate::metrics::handle();
        Ops {
            db,
            checks,
            heartbeat_timeout,
        }
    }

    pub fn router<S: Clone + Send + Sync + 'static>(self) -> Router<S> {
        let [healthz_path, readyz_path, metrics_path] = PATHS;
        Router::new()
            .route(healthz_path, get(healthz))
            .route(readyz_path, get(readyz))
            .route(metrics_path, get(metrics))
            .with_state(Arc::new(self))
    }
}

/// Where the operator endpoints are served: `/healthz`, `/readyz`, `/metrics`.
pub const PATHS: [&str; 3] = ["/healthz", "/readyz", "/metrics"];

async fn healthz() -> Response {
    axum::Json(json!({"status": "ok"})).into_response()
}

async fn readyz(State(ops): State<Arc<Ops>>) -> Response {
    let results = futures_util::future::join_all(ops.checks.iter().map(|c| async move {
        let outcome = match tokio::time::timeout(CHECK_TIMEOUT, c.check()).await {
            Ok(outcome) => outcome,
            Err(_) => Err(format!("no answer within {}s", CHECK_TIMEOUT.as_secs())),
        };
        (c.name(), outcome)
    }))
    .await;
    let mut checks = Map::new();
    let mut down = Vec::new();
    for (name, outcome) in results {
        match outcome {
            Ok(()) => {
                checks.insert(name.into(), json!({"status": "ok"}));
            }
            Err(error) => {
                tracing::warn!(check = name, error, "not ready");
                checks.insert(name.into(), json!({"status": "down", "error": error}));
                down.push(Value::from(name));
            }
        }
    }
    let (status, word) = if down.is_empty() {
        (StatusCode::OK, "ready")
    } else {
        (StatusCode::SERVICE_UNAVAILABLE, "not ready")
    };
    let body = json!({"status": word, "down": down, "checks": checks});
    (status, axum::Json(body)).into_response()
}

async fn metrics(State(ops): State<Arc<Ops>>) -> Response {
    refresh_conductors(&ops).await;
    (
        [(
            header::CONTENT_TYPE,
            "text/plain; version=0.0.4; charset=utf-8",
        )],
        crate::metrics::render(),
    )
        .into_response()
}

/// Reads the live conductors into their gauge; a database that is down leaves the
/// last value (readiness reports the database).
async fn refresh_conductors(ops: &Ops) {
    let timeout =
        chrono::Duration::from_std(ops.heartbeat_timeout).unwrap_or(chrono::Duration::seconds(60));
    let alive = ops
        .db
        .run(move |conn| crate::db::conductors::alive(conn, timeout));
    if let Ok(Ok(alive)) = tokio::time::timeout(CHECK_TIMEOUT, alive).await {
        metrics::gauge!(crate::metrics::CONDUCTORS_ALIVE).set(alive.len() as f64);
    }
}
