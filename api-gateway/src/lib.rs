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
use tower::ServiceExt;
use utoipa::OpenApi;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use common::config::Auth;
use common::ops::{Check, Ops};
use common::rpc::client::ConductorClient;

use crate::app::AppState;
use crate::error::ApiError;

/// The whole API as one router, with the operator endpoints (`/healthz`, `/readyz`,
/// `/metrics`) beside it, outside the API's middleware. Fails when the authentication
/// settings cannot be put to use.
pub fn build_router(state: AppState) -> Result<Router, String> {
    let mut checks: Vec<Arc<dyn Check>> = Vec::new();
    if state.conductor.has_broker() {
        checks.push(Arc::new(BrokerCheck(state.conductor.clone())));
    }
    let ops = Ops::new(state.db.clone(), state.settings.heartbeat_timeout, checks);
    let auth = state.settings.auth.clone();
    // How long a refused request's body may take to arrive (see auth::after_body).
    let body_deadline = state.settings.http.header_timeout;
    let authorizer = match &auth {
        Auth::Keystone(keystone) => Some(authorize::Authorizer {
            policy: load_policy(keystone)?,
            db: state.db.clone(),
            body_deadline,
        }),
        _ => None,
    };
    let router = ops.router().merge(api_router(state, authorizer));
    let router = match auth {
        Auth::NoAuth => router,
        // Outermost, so that nothing else runs for a caller without credentials.
        Auth::HttpBasic { user_file } => {
            let users = Arc::new(auth::basic::Authenticator::new(user_file));
            around(
                router,
                middleware::from_fn_with_state((users, body_deadline), auth::basic::middleware),
            )
        }
        Auth::Keystone(keystone) => {
            let tokens = Arc::new(auth::token::TokenAuth::new(keystone.keystone.clone())?);
            around(
                router,
                middleware::from_fn_with_state((tokens, body_deadline), auth::token::middleware),
            )
        }
    };
    // The rewrite must happen before routing, so it wraps the whole router.
    Ok(Router::new().fallback_service(router.map_request(under_v1)))
}

/// `layer` once around the whole router. `Router::layer` wraps each route instead, and
/// every request then clones the route's whole stack of services through it.
fn around<L>(router: Router, layer: L) -> Router
where
    L: tower::Layer<Router>,
    L::Service: tower::Service<
            axum::extract::Request,
            Response = axum::response::Response,
            Error = std::convert::Infallible,
        > + Clone
        + Send
        + Sync
        + 'static,
    <L::Service as tower::Service<axum::extract::Request>>::Future: Send + 'static,
{
    Router::new().fallback_service(layer.layer(router))
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

fn api_router(state: AppState, authorizer: Option<authorize::Authorizer>) -> Router {
    let (routes, doc) = documented_routes().split_for_parts();
    let doc = openapi::document(doc);
    let routes = match authorizer {
        // After routing, where the operation is known.
        Some(authorizer) => routes.route_layer(middleware::from_fn_with_state(
            authorizer,
            authorize::middleware,
        )),
        None => routes,
    };
    routes
        .route(
            OPENAPI_PATH,
            axum::routing::get(
                || async move { ([(header::CONTENT_TYPE, "application/json")], doc) },
            ),
        )
        .fallback(|| async { ApiError::not_found_path() })
        .method_not_allowed_fallback(|| async {
            ApiError::routing(StatusCode::METHOD_NOT_ALLOWED, "")
        })
        .layer(DefaultBodyLimit::max(extract::MAX_BODY_BYTES))
        .layer(middleware::from_fn(version::middleware))
        .layer(middleware::from_fn(extract::reject_nul))
        .layer(tower_http::catch_panic::CatchPanicLayer::custom(|_| {
            use axum::response::IntoResponse;
            ApiError::new(
                StatusCode::INTERNAL_SERVER_ERROR,
                "An internal error occurred; the request was not completed.",
            )
            .into_response()
        }))
        .layer(middleware::from_fn(request_id::middleware))
        .layer(middleware::from_fn(http_metrics::middleware))
        .with_state(state)
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

/// The OpenAPI document of the API, as served at [`OPENAPI_PATH`].
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
