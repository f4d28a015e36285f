//! HTTP basic authentication (`SANLINK_AUTH_STRATEGY=http_basic`), answering as Ironic's
//! basic-auth middleware does: 401 with `WWW-Authenticate: Basic realm="Baremetal API"`
//! and an `{"error": {"message", "code"}}` body.

use std::path::PathBuf;

use axum::extract::{Request, State};
use axum::http::{HeaderValue, Method, StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use base64::Engine;

use common::htpasswd::UserFile;

const REALM: &str = "Basic realm=\"Baremetal API\"";

/// Paths anyone may call: version discovery (as in Ironic), the API's OpenAPI
/// description, and the liveness and readiness probes, which say only whether the
/// process and its dependencies are up.
fn is_public(method: &Method, path: &str) -> bool {
    let discovery = matches!(path, "/" | "/v1" | "/v1/openapi.json");
    let probe = matches!(path, "/healthz" | "/readyz");
    (method == Method::GET || method == Method::HEAD) && (discovery || probe)
}

/// Checks the credentials of every request but the public ones against `user_file`,
/// read again each time so that users can be added or removed without a restart.
pub async fn middleware(State(user_file): State<PathBuf>, req: Request, next: Next) -> Response {
    if is_public(req.method(), req.uri().path()) {
        return next.run(req).await;
    }
    let (user, password) = match credentials(req.headers().get(header::AUTHORIZATION)) {
        Ok(pair) => pair,
        Err(refusal) => return refusal.into_response(),
    };
    // bcrypt is slow on purpose: keep it off the async workers.
    let checked = tokio::task::spawn_blocking(move || {
        UserFile::read(&user_file).map(|file| file.verify(&user, &password).then_some(user))
    })
    .await;
    match checked {
        Ok(Ok(Some(user))) => {
            tracing::debug!(user, "authenticated");
            next.run(req).await
        }
        Ok(Ok(None)) => {
            tracing::info!("HTTP basic authentication failed: wrong user name or password");
            Refusal::unauthorized("Incorrect username or password").into_response()
        }
        Ok(Err(e)) => {
            tracing::error!(error = %e, "cannot check credentials");
            Refusal::new(
                StatusCode::INTERNAL_SERVER_ERROR,
                "Problem reading auth user file",
            )
            .into_response()
        }
        Err(_) => {
            Refusal::new(StatusCode::INTERNAL_SERVER_ERROR, "Authentication failed").into_response()
        }
    }
}

/// User name and password of a `Basic` Authorization header.
fn credentials(value: Option<&HeaderValue>) -> Result<(String, Vec<u8>), Refusal> {
    let value = value.ok_or_else(|| Refusal::unauthorized("Authorization required"))?;
    let text = value
        .to_str()
        .map_err(|_| Refusal::bad_request("Could not parse Authorization header"))?;
    let (scheme, token) = text
        .trim()
        .split_once(char::is_whitespace)
        .ok_or_else(|| Refusal::bad_request("Could not parse Authorization header"))?;
    if !scheme.eq_ignore_ascii_case("basic") {
        return Err(Refusal::bad_request(format!(
            "Unsupported authorization type \"{scheme}\""
        )));
    }
    let decoded = base64::engine::general_purpose::STANDARD
        .decode(token.trim())
        .map_err(|_| Refusal::bad_request("Could not decode authorization token"))?;
    let colon = decoded
        .iter()
        .position(|&b| b == b':')
        .ok_or_else(|| Refusal::bad_request("Could not decode authorization token"))?;
    let user = String::from_utf8(decoded[..colon].to_vec())
        .map_err(|_| Refusal::bad_request("Could not decode authorization token"))?;
    Ok((user, decoded[colon + 1..].to_vec()))
}

/// An authentication failure in the body Ironic's middleware sends.
#[derive(Debug)]
struct Refusal {
    status: StatusCode,
    message: String,
}

impl Refusal {
    fn new(status: StatusCode, message: impl Into<String>) -> Refusal {
        Refusal {
            status,
            message: message.into(),
        }
    }

    fn unauthorized(message: &str) -> Refusal {
        Refusal::new(StatusCode::UNAUTHORIZED, message)
    }

    fn bad_request(message: impl Into<String>) -> Refusal {
        Refusal::new(StatusCode::BAD_REQUEST, message)
    }
}

impl IntoResponse for Refusal {
    fn into_response(self) -> Response {
        let body = serde_json::json!({
            "error": {"message": self.message, "code": self.status.as_u16()}
        });
        let mut response = (self.status, axum::Json(body)).into_response();
        if self.status == StatusCode::UNAUTHORIZED {
            response
                .headers_mut()
                .insert(header::WWW_AUTHENTICATE, HeaderValue::from_static(REALM));
        }
        response
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn header(v: &str) -> HeaderValue {
        HeaderValue::from_str(v).unwrap()
    }

    #[test]
    fn basic_credentials_are_decoded_and_bad_headers_refused() {
        // "admin:pa:ss" — the password may hold colons.
        let (user, password) = credentials(Some(&header("Basic YWRtaW46cGE6c3M="))).unwrap();
        assert_eq!(
            (user.as_str(), password.as_slice()),
            ("admin", &b"pa:ss"[..])
        );
        assert_eq!(
            credentials(None).err().unwrap().status,
            StatusCode::UNAUTHORIZED
        );
        for bad in ["Bearer abc", "Basic", "Basic !!!", "Basic YWRtaW4="] {
            let refusal = credentials(Some(&header(bad))).err().unwrap();
            assert_eq!(refusal.status, StatusCode::BAD_REQUEST, "{bad}");
        }
    }

    #[test]
    fn only_discovery_and_probes_are_public() {
        assert!(is_public(&Method::GET, "/"));
        assert!(is_public(&Method::GET, "/v1"));
        assert!(is_public(&Method::GET, "/healthz"));
        assert!(is_public(&Method::GET, "/v1/openapi.json"));
        assert!(!is_public(&Method::GET, "/metrics"));
        assert!(!is_public(&Method::GET, "/v1/nodes"));
        assert!(!is_public(&Method::POST, "/v1"));
    }
}
