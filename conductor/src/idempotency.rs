//! Exactly-once application of redelivered requests.
//!
//! A request can arrive twice: RabbitMQ redelivers it when the conductor that took it
//! died before acknowledging. Every change a request makes commits together with a row
//! naming the request (`common::db::rpc_requests`). A request found there was applied,
//! so it is answered from the current state instead of being applied again.

use common::Error;
use common::db::{AnyConnection, nodes, ports, rpc_requests, volume_connectors, volume_targets};
use common::rpc::{Call, Reply, Response};

use crate::Conductor;

tokio::task_local! {
    /// The request being handled: its id and method.
    static CURRENT: (String, &'static str);
}

/// Runs `work` as request `request_id`, so that its changes record it.
pub async fn scope<F: std::future::Future>(
    request_id: String,
    method: &'static str,
    work: F,
) -> F::Output {
    CURRENT.scope((request_id, method), work).await
}

/// The request being handled, to carry into blocking database work.
pub fn current() -> Option<(String, &'static str)> {
    CURRENT.try_with(|c| c.clone()).ok()
}

/// Records request `current` inside the caller's transaction (once, however many
/// transactions the request commits). `current` comes from [`current`], read before the
/// work moved to the blocking pool, where the task-local is not visible.
pub fn record(
    conn: &mut AnyConnection,
    current: &Option<(String, &'static str)>,
) -> Result<(), Error> {
    match current {
        Some((id, method)) if !id.is_empty() && !rpc_requests::applied(conn, id)? => {
            rpc_requests::record(conn, id, method)
        }
        _ => Ok(()),
    }
}

pub async fn already_applied(c: &Conductor, request_id: &str) -> bool {
    if request_id.is_empty() {
        return false;
    }
    let id = request_id.to_string();
    c.db.run(move |conn| rpc_requests::applied(conn, &id))
        .await
        .unwrap_or(false)
}

/// The answer to an applied request, read from the current state.
pub async fn replay(c: &Conductor, call: Call) -> Response {
    c.db.run(move |conn| {
        Ok(match call {
            Call::CreateVolumeConnector { connector: x } => {
                Reply::Connector(volume_connectors::get_by_uuid(conn, &x.uuid)?)
            }
            Call::UpdateVolumeConnector { uuid, .. } => {
                Reply::Connector(volume_connectors::get_by_uuid(conn, &uuid)?)
            }
            Call::CreateVolumeTarget { target: x } => {
                Reply::Target(volume_targets::get_by_uuid(conn, &x.uuid)?)
            }
            Call::UpdateVolumeTarget { uuid, .. } => {
                Reply::Target(volume_targets::get_by_uuid(conn, &uuid)?)
            }
            Call::CreateNode { node } => Reply::Node(nodes::get_by_uuid(conn, &node.uuid)?),
            Call::UpdateNode { uuid, .. } => Reply::Node(nodes::get_by_ident(conn, &uuid)?),
            Call::CreatePort { port } => Reply::Port(ports::get_by_uuid(conn, &port.uuid)?),
            Call::UpdatePort { uuid, .. } => Reply::Port(ports::get_by_uuid(conn, &uuid)?),
            _ => Reply::Done,
        })
    })
    .await
}
