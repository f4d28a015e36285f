//! Serving the router: trailing slashes trimmed (Ironic accepts `/v1/volume/connectors/`),
//! slow and idle clients timed out and connections limited ([`common::http_server`]),
//! and graceful shutdown when the given future completes.

use std::net::SocketAddr;

use axum::Router;
use common::config::HttpLimits;
use tower::Layer;
use tower_http::normalize_path::NormalizePathLayer;

/// Binds the API's address. Bind before logging that the API serves, so that a client
/// that waits for that line finds the port open.
pub async fn bind(addr: SocketAddr) -> std::io::Result<tokio::net::TcpListener> {
    tokio::net::TcpListener::bind(addr).await
}

/// Serves `router` on `listener` until `shutdown` completes.
pub async fn serve_on(
    listener: tokio::net::TcpListener,
    router: Router,
    limits: HttpLimits,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    let app = NormalizePathLayer::trim_trailing_slash().layer(router);
    common::http_server::serve(listener, app, limits, shutdown).await
}
