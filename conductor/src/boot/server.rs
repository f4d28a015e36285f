//! The boot server: answers booting nodes' iPXE requests over HTTP in Ironic's layout.
//!
//! * `/boot.ipxe` — the generic entry script, always;
//! * `/<node-uuid>/config` and `/pxelinux.cfg/<aa-bb-cc-dd-ee-ff>` (any of the node's
//!   port MACs) — the node's boot-from-volume script.
//!
//! Scripts are rendered per request from the database instead of written to disk, so
//! any conductor can serve any node and nothing is left behind: once a tear-down clears
//! `boot_from_volume`, the node's paths answer 404.

use std::net::SocketAddr;
use std::sync::Arc;

use axum::Router;
use axum::extract::{Path, State};
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;

use common::db::{Db, Page, nodes, ports, volume_connectors, volume_targets};
use common::model::node::Node;
use common::model::port::normalize_mac;
use common::model::states::ProvisionState;

use super::ipxe::{Templates, bfv_options};
use crate::drivers::boot;

struct BootState {
    db: Db,
    templates: Templates,
    boot_url: String,
}

/// The boot server's routes.
pub fn router(db: Db, templates: Templates, boot_url: String) -> Router {
    let state = Arc::new(BootState {
        db,
        templates,
        boot_url,
    });
    Router::new()
        .route("/boot.ipxe", get(boot_script))
        .route("/pxelinux.cfg/{mac}", get(script_by_mac))
        .route("/{node}/config", get(script_by_node))
        .with_state(state)
}

/// Binds `listen` and serves the boot routes, with the conductor's `/healthz`,
/// `/readyz` and `/metrics` when `ops` is given, until the process ends; returns the
/// bound address (useful with port 0).
pub async fn start(
    listen: SocketAddr,
    db: Db,
    settings: &common::config::Settings,
    ops: Option<common::ops::Ops>,
) -> Result<SocketAddr, String> {
    let templates = Templates::load(settings)?;
    let listener = tokio::net::TcpListener::bind(listen)
        .await
        .map_err(|e| format!("SANLINK_BOOT_LISTEN {listen}: {e}"))?;
    let addr = listener
        .local_addr()
        .map_err(|e| format!("SANLINK_BOOT_LISTEN {listen}: {e}"))?;
    let mut app = router(db, templates, settings.boot_url.clone());
    if let Some(ops) = ops {
        app = app.merge(ops.router());
    }
    let limits = settings.http;
    tokio::spawn(async move {
        // Serves until the process ends: booting nodes may fetch scripts to the last.
        let forever = std::future::pending();
        if let Err(e) = common::http_server::serve(listener, app, limits, forever).await {
            tracing::error!(error = %e, "boot server stopped");
        }
    });
    tracing::info!(listen = %addr, "boot server listening");
    Ok(addr)
}

async fn boot_script(State(state): State<Arc<BootState>>) -> Response {
    script(state.templates.render_boot(&state.boot_url))
}

async fn script_by_node(State(state): State<Arc<BootState>>, Path(node): Path<String>) -> Response {
    // Only a node's UUID names a file in this layout; anything else (a name, NUL, bytes
    // PostgreSQL cannot compare with a text column) is a file that does not exist.
    if common::model::canonical_uuid(&node).as_deref() != Some(node.as_str()) {
        return StatusCode::NOT_FOUND.into_response();
    }
    let found = state
        .db
        .run(move |conn| match nodes::get_by_uuid(conn, &node) {
            Ok(node) => Ok(Some(node)),
            Err(common::Error::NotFound(_)) => Ok(None),
            Err(e) => Err(e),
        })
        .await;
    node_script(&state, found).await
}

async fn script_by_mac(State(state): State<Arc<BootState>>, Path(mac): Path<String>) -> Response {
    // Only the dashed form is a file name in Ironic's layout.
    let Some(address) = mac.contains('-').then(|| normalize_mac(&mac)).flatten() else {
        return StatusCode::NOT_FOUND.into_response();
    };
    let found = state
        .db
        .run(move |conn| {
            let page = Page {
                sort_key: "id".into(),
                descending: false,
                limit: 1,
                marker: None,
            };
            match ports::list(conn, ports::Scope::Address(&address), &page)?.first() {
                Some(port) => nodes::get_by_id(conn, port.node_id).map(Some),
                None => Ok(None),
            }
        })
        .await;
    node_script(&state, found).await
}

/// Renders the script of a node that is booting from its volume; 404 for any other.
async fn node_script(state: &BootState, found: Result<Option<Node>, common::Error>) -> Response {
    let node = match found {
        Ok(Some(node)) if serves(&node) => node,
        Ok(_) => return StatusCode::NOT_FOUND.into_response(),
        Err(e) => return db_failure(e),
    };
    let id = node.id;
    let parts = state
        .db
        .run(move |conn| {
            Ok((
                volume_connectors::list_for_node(conn, id)?,
                volume_targets::list_for_node(conn, id)?,
            ))
        })
        .await;
    let (connectors, targets) = match parts {
        Ok(parts) => parts,
        Err(e) => return db_failure(e),
    };
    match bfv_options(&connectors, &targets) {
        Ok(Some(options)) => script(state.templates.render_bfv(
            &node.uuid,
            &state.boot_url,
            &options,
        )),
        Ok(None) => StatusCode::NOT_FOUND.into_response(),
        Err(e) => failure(e),
    }
}

/// An active node that boots its volume through iPXE. Deploys complete before they are
/// stored, so no other state is ever one a node boots its instance in.
fn serves(node: &Node) -> bool {
    let boot = node.interfaces.boot.as_deref().and_then(boot::select);
    node.provision_state == ProvisionState::Active
        && node.driver_internal_info.contains_key("boot_from_volume")
        && boot.is_some_and(|b| b.boots_with_ipxe())
}

fn script(rendered: Result<String, String>) -> Response {
    match rendered {
        Ok(text) => ([(header::CONTENT_TYPE, "text/plain; charset=utf-8")], text).into_response(),
        Err(e) => failure(e),
    }
}

/// A database that cannot answer is the booting node's cue to retry (503), as for the
/// API; any other database error is a fault of sanlink's.
fn db_failure(e: common::Error) -> Response {
    match e {
        common::Error::Unavailable(detail) => {
            tracing::warn!(detail, "boot script unavailable: database down");
            StatusCode::SERVICE_UNAVAILABLE.into_response()
        }
        other => failure(other.to_string()),
    }
}

fn failure(detail: String) -> Response {
    tracing::error!(detail, "boot script unavailable");
    StatusCode::INTERNAL_SERVER_ERROR.into_response()
}
