//! Who may call the API: HTTP basic authentication ([`basic`]) or Keystone tokens
//! ([`token`]), as Ironic's `auth_strategy` offers; under `noauth` nothing here runs.

pub mod basic;
pub mod token;

use std::time::Duration;

use axum::body::Body;
use axum::http::Method;
use axum::response::Response;

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
