//! Serving the router: trailing slashes trimmed (Ironic accepts `/v1/volume/connectors/`),
//! and graceful shutdown when the given future completes.

use std::net::SocketAddr;

use axum::Router;
use tower::Layer;
use tower_http::normalize_path::NormalizePathLayer;

/// Binds `addr` and serves `router` until `shutdown` completes.
pub async fn serve(
    addr: SocketAddr,
    router: Router,
    shutdown: impl std::future::Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    let listener = tokio::net::TcpListener::bind(addr).await?;
    serve_on(listener, router, shutdown).await
}

pub async fn serve_on(
    listener: tokio::net::TcpListener,
    router: Router,
    shutdown: impl std::future::Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    let app = NormalizePathLayer::trim_trailing_slash().layer(router);
    let service = axum::ServiceExt::<axum::extract::Request>::into_make_service(app);
    axum::serve(listener, service)
        .with_graceful_shutdown(shutdown)
        .await
}
