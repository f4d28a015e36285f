//! Who may call the API: HTTP basic authentication ([`basic`]) or Keystone tokens
//! ([`token`]), as Ironic's `auth_strategy` offers; under `noauth` nothing here runs.

pub mod basic;
pub mod token;

use std::convert::Infallible;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::Duration;

use axum::body::Body;
use axum::extract::Request;
use axum::http::{HeaderMap, Method};
use axum::response::Response;
use futures_util::future::Either;
use tower::{Layer, Service};

use common::rpc::Caller;

/// How callers prove who they are.
pub enum Strategy {
    /// `http_basic`: a user file.
    Basic(basic::Authenticator),
    /// `keystone`: tokens.
    Token(Box<token::TokenAuth>),
}

impl Strategy {
    /// The caller a request's credentials name, or the answer that refuses it.
    async fn caller(&self, headers: &HeaderMap) -> Result<Arc<Caller>, Response> {
        match self {
            Strategy::Basic(users) => users.caller(headers).await,
            Strategy::Token(tokens) => tokens.authenticate(headers).await,
        }
    }
}

/// Checks the credentials of every request but the public ones, once around the whole
/// router, and hands the caller on as a request extension. A hand-written service:
/// axum's `from_fn` boxes and clones the service it wraps on every call.
#[derive(Clone)]
pub struct AuthLayer {
    strategy: Arc<Strategy>,
    /// How long a refused request's body may take to arrive (see [`after_body`]).
    body_deadline: Duration,
}

impl AuthLayer {
    pub fn new(strategy: Strategy, body_deadline: Duration) -> AuthLayer {
        AuthLayer {
            strategy: Arc::new(strategy),
            body_deadline,
        }
    }
}

impl<S> Layer<S> for AuthLayer {
    type Service = Authenticated<S>;

    fn layer(&self, inner: S) -> Authenticated<S> {
        Authenticated {
            auth: self.clone(),
            inner,
        }
    }
}

/// A service whose callers are checked by an [`AuthLayer`].
#[derive(Clone)]
pub struct Authenticated<S> {
    auth: AuthLayer,
    inner: S,
}

/// The future of an answer made here.
pub type BoxedResponse = Pin<Box<dyn Future<Output = Result<Response, Infallible>> + Send>>;

impl<S> Service<Request> for Authenticated<S>
where
    S: Service<Request, Response = Response, Error = Infallible> + Clone + Send + 'static,
    S::Future: Send + 'static,
{
    type Response = Response;
    type Error = Infallible;
    type Future = Either<S::Future, BoxedResponse>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Infallible>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, req: Request) -> Self::Future {
        if is_public(req.method(), req.uri().path()) {
            return Either::Left(self.inner.call(req));
        }
        // The service polled ready serves this request, later; its clone, the next.
        let clone = self.inner.clone();
        let mut inner = std::mem::replace(&mut self.inner, clone);
        let auth = self.auth.clone();
        Either::Right(Box::pin(async move {
            let (mut parts, body) = req.into_parts();
            match auth.strategy.caller(&parts.headers).await {
                Ok(caller) => {
                    parts.extensions.insert(caller);
                    inner.call(Request::from_parts(parts, body)).await
                }
                Err(refusal) => Ok(after_body(body, auth.body_deadline, refusal).await),
            }
        }))
    }
}

/// Paths anyone may call whatever the strategy: version discovery and the agent's
/// lookup and heartbeat (as in Ironic, whose ramdisk holds no credentials), the API's
/// OpenAPI description, and the liveness and readiness probes, which say only whether
/// the process and its dependencies are up.
pub fn is_public(method: &Method, path: &str) -> bool {
    let path = path.strip_suffix(".json").unwrap_or(path);
    let read = method == Method::GET || method == Method::HEAD;
    let discovery = matches!(path, "/" | "/v1" | "/v1/openapi");
    let probe = matches!(path, "/healthz" | "/readyz");
    (read && (discovery || probe)) || is_agent_path(path)
}

/// Answers a request that is refused before its body was read, once the body has been
/// read (up to the API's limit) and thrown away. A server that answers while the
/// client is still sending, then closes, resets the connection, and the client loses
/// the answer: it sees the connection dropped instead of the refusal. A body that
/// stops arriving gets no longer than `deadline` (`SANLINK_HTTP_HEADER_TIMEOUT`, as
/// for a body that is read), so that it cannot hold the connection.
pub async fn after_body(body: Body, deadline: Duration, answer: Response) -> Response {
    let drain = axum::body::to_bytes(body, crate::extract::MAX_BODY_BYTES);
    let _ = tokio::time::timeout(deadline, drain).await;
    answer
}

/// `/v1/lookup`, `/v1/heartbeat/<node>` and `/v1/continue_inspection`.
fn is_agent_path(path: &str) -> bool {
    match path.strip_prefix("/v1/heartbeat/") {
        Some(node) => {
            !node.is_empty()
                && node
                    .bytes()
                    .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
        }
        None => matches!(path, "/v1/lookup" | "/v1/continue_inspection"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_discovery_probes_and_the_agent_are_public() {
        assert!(is_public(&Method::GET, "/"));
        assert!(is_public(&Method::GET, "/v1"));
        assert!(is_public(&Method::GET, "/healthz"));
        assert!(is_public(&Method::GET, "/v1/openapi.json"));
        assert!(is_public(&Method::GET, "/v1/lookup"));
        assert!(is_public(
            &Method::POST,
            "/v1/heartbeat/1be26c0b-03f2-4d2e-ae87-c02d7f33c123"
        ));
        assert!(!is_public(&Method::POST, "/v1/heartbeat/"));
        assert!(!is_public(&Method::POST, "/v1/heartbeat/A"));
        assert!(!is_public(&Method::GET, "/metrics"));
        assert!(!is_public(&Method::GET, "/v1/nodes"));
        assert!(!is_public(&Method::POST, "/v1"));
    }
}
