//! Work a conductor does on a timer: heartbeat, takeover of the node locks of conductors
//! that stopped heartbeating (they died holding them), release of its own locks that no
//! work holds any more (their release failed), and forgetting old request ids.

use std::sync::Arc;

use chrono::Duration;
use common::db::{AnyConnection, conductors, reservation, rpc_requests};

/// How long applied requests are remembered; redeliveries come within seconds.
const REQUEST_MEMORY_HOURS: i64 = 24;

use crate::Conductor;
use crate::working::Registry;

/// Heartbeats and releases orphaned and idle locks every heartbeat interval, until
/// `stop` fires.
pub async fn run(conductor: Arc<Conductor>, mut stop: tokio::sync::watch::Receiver<bool>) {
    let mut ticker = tokio::time::interval(conductor.settings.heartbeat_interval);
    loop {
        tokio::select! {
            _ = stop.changed() => return,
            _ = ticker.tick() => {
                if let Err(e) = tick(&conductor).await {
                    tracing::warn!(error = %e, "periodic conductor work failed");
                }
            }
        }
    }
}

async fn tick(conductor: &Conductor) -> Result<(), common::Error> {
    let host = conductor.hostname().to_string();
    let timeout =
        Duration::from_std(conductor.settings.heartbeat_timeout).unwrap_or(Duration::seconds(60));
    let registry = conductor.working.clone();
    conductor
        .db
        .run(move |conn| {
            conductors::heartbeat(conn, &host)?;
            let dead = conductors::dead(conn, timeout)?;
            reservation::release_orphans(conn, &dead)?;
            release_idle(conn, &host, &registry)?;
            rpc_requests::expire(conn, Duration::hours(REQUEST_MEMORY_HOURS))?;
            Ok(())
        })
        .await
}

/// Releases this host's locks on nodes it no longer works on: their release failed,
/// typically because the database connection broke while the node was locked. Still
/// heart-beating, this conductor is never taken over, so nobody else would.
pub fn release_idle(
    conn: &mut AnyConnection,
    host: &str,
    registry: &Registry,
) -> Result<usize, common::Error> {
    let released = registry.sweep(|busy| reservation::release_idle(conn, host, busy))?;
    if released > 0 {
        tracing::warn!(released, "released node locks left by failed releases");
    }
    Ok(released)
}
