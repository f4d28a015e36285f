//! sanlink's API gateway: the Ironic v1 REST API over sanlink's database (reads) and
//! conductors (writes).

pub mod app;
pub mod auth;
pub mod authorize;
pub mod error;
pub mod extract;
pub mod http_metrics;
pub mod listing;
pub mod openapi;
pub mod request_id;
pub mod route_table;
pub mod routes;
pub mod server;
pub mod version;
pub mod views;
pub mod wire;

use std::sync::Arc;

use axum::Router;
use axum::extract::DefaultBodyLimit;
use axum::http::{StatusCode, header};
use axum::middleware;
use utoipa::OpenApi;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use common::config::Auth;
use common::ops::{Check, Ops};
use common::rpc::client::ConductorClient;

use crate::app::AppState;
use crate::error::ApiError;
use crate::route_table::RouteTable;

/// The whole API as one router, with the operator endpoints (`/healthz`, `/readyz`,
/// `/metrics`) beside it, outside the API's middleware. Fails when the authentication
/// settings cannot be put to use.
pub fn build_router(state: AppState) -> Result<Router, String> {
    let mut checks: Vec<Arc<dyn Check>> = Vec::new();
    if state.conductor.has_broker() {
        checks.push(Arc::new(BrokerCheck(state.conductor.clone())));
    }
    let ops = Ops::new(state.db.clone(), state.settings.heartbeat_timeout, checks);
    // How long a refused request's body may take to arrive (see auth::after_body).
    let body_deadline = state.settings.http.header_timeout;
    let (routes, doc) = documented_routes().split_for_parts();
    let routed = doc.paths.paths.keys().map(String::as_str);
    let table = Arc::new(RouteTable::new(routed.chain([OPENAPI_PATH]))?);
    let (strategy, policy) = match state.settings.auth.clone() {
        Auth::NoAuth => (None, None),
        Auth::HttpBasic { user_file } => (
            Some(auth::Strategy::Basic(auth::basic::Authenticator::new(
                user_file,
            ))),
            None,
        ),
        Auth::Keystone(keystone) => {
            let authorizer = authorize::Authorizer::new(
                load_policy(&keystone)?,
                state.db.clone(),
                body_deadline,
                table.clone(),
            );
            let tokens = auth::token::TokenAuth::new(keystone.keystone)?;
            (
                Some(auth::Strategy::Token(Box::new(tokens))),
                Some(authorize::PolicyLayer::new(authorizer)),
            )
        }
    };
    let api = api_service(state, routes, table, policy);
    let router = ops.router().fallback_service(api);
    // The rewrite must happen before routing, so it wraps the whole router; the
    // authentication comes next, so that nothing else runs for a caller without
    // credentials.
    let service = tower::ServiceBuilder::new()
        .map_request(under_v1)
        .option_layer(strategy.map(|s| auth::AuthLayer::new(s, body_deadline)))
        .service(router);
    Ok(Router::new().fallback_service(service))
}

/// Ironic serves a path without the version prefix as the same path under `/v1`
/// (`GET /nodes/detail` is `GET /v1/nodes/detail`), and clients configured with the
/// service's root URL rely on it. The root document and the operator endpoints keep
/// their own paths.
fn under_v1(mut req: axum::extract::Request) -> axum::extract::Request {
    let path = req.uri().path();
    let versioned = path == "/v1" || path.starts_with("/v1/");
    if path == "/" || versioned || common::ops::PATHS.contains(&path) {
        return req;
    }
    let rewritten = match req.uri().query() {
        Some(query) => format!("/v1{path}?{query}"),
        None => format!("/v1{path}"),
    };
    if let Ok(uri) = rewritten.parse() {
        *req.uri_mut() = uri;
    }
    req
}

/// Ironic's default policy under the operator's policy file, if any.
fn load_policy(auth: &common::config::KeystoneAuth) -> Result<Arc<common::policy::Policy>, String> {
    let loaded = auth.policy().map_err(|e| e.to_string())?;
    for warning in &loaded.warnings {
        tracing::warn!("policy: {warning}");
    }
    Ok(Arc::new(loaded.policy))
}

/// The API: its routes behind its middleware, which wraps the router once (the route
/// table tells the metrics each request's template before routing). The outermost
/// first: metrics, request id, panics, NUL check, version, body limit, and under
/// Keystone the policy, so that its refusals carry a request id and are counted.
fn api_service(
    state: AppState,
    routes: Router<AppState>,
    table: Arc<RouteTable>,
    policy: Option<authorize::PolicyLayer>,
) -> Router {
    let router = routes
        .route(
            OPENAPI_PATH,
            axum::routing::get(|| async {
                (
                    [(header::CONTENT_TYPE, "application/json")],
                    SERVED_DOCUMENT,
                )
            }),
        )
        .fallback(|| async { ApiError::not_found_path() })
        .method_not_allowed_fallback(|| async {
            ApiError::routing(StatusCode::METHOD_NOT_ALLOWED, "")
        })
        .with_state(state);
    let service = tower::ServiceBuilder::new()
        .layer(middleware::from_fn_with_state(
            table,
            http_metrics::middleware,
        ))
        .layer(middleware::from_fn(request_id::middleware))
        .layer(tower_http::catch_panic::CatchPanicLayer::custom(|_| {
            use axum::response::IntoResponse;
            ApiError::new(
                StatusCode::INTERNAL_SERVER_ERROR,
                "An internal error occurred; the request was not completed.",
            )
            .into_response()
        }))
        .layer(middleware::from_fn(extract::reject_nul))
        .layer(middleware::from_fn(version::middleware))
        .layer(DefaultBodyLimit::max(extract::MAX_BODY_BYTES))
        .option_layer(policy)
        .service(router);
    Router::new().fallback_service(service)
}

/// Where the OpenAPI document is served (no version header needed).
pub const OPENAPI_PATH: &str = "/v1/openapi.json";

/// Every API route with its OpenAPI operation: the router and the document are built
/// from the same annotated handlers.
fn documented_routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::with_openapi(openapi::ApiDoc::openapi())
        .routes(routes!(routes::root::root))
        .routes(routes!(routes::root::v1))
        .route(
            "/v1",
            axum::routing::MethodRouter::new().fallback(routes::root::v1_other_method),
        )
        .merge(routes::volume::router())
        .merge(routes::nodes::router())
        .merge(routes::ports::router())
        .merge(routes::chassis::router())
        .merge(routes::portgroups::router())
        .merge(routes::drivers::router())
        .merge(routes::agent::router())
}

/// The OpenAPI document served at [`OPENAPI_PATH`]: the checked-in copy of
/// [`openapi_document`], which a test keeps equal to it. Building the document at start-up
/// would allocate several MiB that stay resident for the process's life.
const SERVED_DOCUMENT: &str = include_str!("../../docs/openapi.json");

/// The OpenAPI document of the API, generated from its routes.
pub fn openapi_document() -> String {
    openapi::document(documented_routes().into_openapi())
}

/// Readiness of the broker the gateway reaches conductors through.
struct BrokerCheck(ConductorClient);

#[async_trait::async_trait]
impl Check for BrokerCheck {
    fn name(&self) -> &'static str {
        "broker"
    }

    async fn check(&self) -> Result<(), String> {
        self.0.check_broker().await
    }
}
