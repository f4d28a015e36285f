//! Counts and times every API request by its matched route template (not the raw
//! path, which would make one series per node), method and status.

use std::sync::Arc;
use std::time::Instant;

use axum::extract::{Request, State};
use axum::middleware::Next;
use axum::response::Response;
use common::metrics::{HTTP_DURATION, HTTP_REQUESTS};

use crate::route_table::RouteTable;

pub async fn middleware(
    State(routes): State<Arc<RouteTable>>,
    request: Request,
    next: Next,
) -> Response {
    let route = routes
        .find(request.uri().path())
        .map(|(route, _)| route.template.clone())
        .unwrap_or_else(|| "unmatched".into());
    let method = request.method().to_string();
    let start = Instant::now();
    let response = next.run(request).await;
    let labels = [
        ("method", method),
        ("route", route),
        ("status", response.status().as_u16().to_string()),
    ];
    metrics::counter!(HTTP_REQUESTS, &labels).increment(1);
    metrics::histogram!(HTTP_DURATION, &labels).record(start.elapsed().as_secs_f64());
    response
}
