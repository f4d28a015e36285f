//! Gives every request an id (`req-<uuid>`, as Ironic does) and returns it in both
//! request-id headers, on success and on error alike.

use axum::extract::Request;
use axum::http::HeaderValue;
use axum::middleware::Next;
use axum::response::Response;

use crate::app::RequestId;

pub async fn middleware(mut request: Request, next: Next) -> Response {
    let id = format!("req-{}", uuid::Uuid::new_v4());
    request.extensions_mut().insert(RequestId(id.clone()));
    let span = tracing::info_span!("request", request_id = %id, method = %request.method(), path = %request.uri().path());
    let mut response = {
        let _enter = span.enter();
        tracing::debug!("request received");
        drop(_enter);
        tracing::Instrument::instrument(next.run(request), span.clone()).await
    };
    span.in_scope(|| tracing::info!(status = response.status().as_u16(), "request answered"));
    let value = HeaderValue::from_str(&id).expect("ascii");
    response
        .headers_mut()
        .insert("x-openstack-request-id", value.clone());
    response.headers_mut().insert("openstack-request-id", value);
    response
}
