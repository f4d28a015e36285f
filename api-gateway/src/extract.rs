//! Request parsing shared by the handlers: JSON bodies and query strings, with
//! Ironic-style 400s instead of framework rejections.

use axum::body::Bytes;
use axum::extract::{FromRequest, Request};
use axum::http::StatusCode;
use serde_json::Value;

use crate::app::AppState;
use crate::error::ApiError;

/// Largest request body accepted.
pub const MAX_BODY_BYTES: usize = 1024 * 1024;

/// A request body that must be valid JSON.
pub struct JsonBody(pub Value);

impl FromRequest<AppState> for JsonBody {
    type Rejection = ApiError;

    async fn from_request(req: Request, state: &AppState) -> Result<JsonBody, ApiError> {
        // The body limit only trips once that much has arrived; a declared length answers
        // at once, without waiting for (or reading) a body that will be refused anyway.
        let declared = req
            .headers()
            .get(axum::http::header::CONTENT_LENGTH)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.parse::<u64>().ok());
        if declared.is_some_and(|n| n > MAX_BODY_BYTES as u64) {
            return Err(too_large());
        }
        // A body that stops arriving would hold its connection for ever, out of reach of
        // the server's idle and header timeouts (the request is being answered): it gets
        // as long as the headers do.
        let deadline = state.settings.http.header_timeout;
        let bytes = tokio::time::timeout(deadline, Bytes::from_request(req, state))
            .await
            .map_err(|_| body_timeout(deadline))?
            .map_err(|e| {
                if e.status() == StatusCode::PAYLOAD_TOO_LARGE {
                    too_large()
                } else {
                    ApiError::bad_request(format!("Could not read the request body: {e}"))
                }
            })?;
        if bytes.is_empty() {
            return Err(ApiError::bad_request(
                "The request body is empty; a JSON document is required.",
            ));
        }
        serde_json::from_slice(&bytes)
            .map(JsonBody)
            .map_err(|e| ApiError::bad_request(format!("The request body is not valid JSON: {e}")))
    }
}

fn body_timeout(deadline: std::time::Duration) -> ApiError {
    ApiError::new(
        StatusCode::REQUEST_TIMEOUT,
        format!(
            "The request body did not arrive within {}s.",
            deadline.as_secs_f64()
        ),
    )
}

fn too_large() -> ApiError {
    ApiError::new(
        StatusCode::PAYLOAD_TOO_LARGE,
        format!("The request body is larger than {MAX_BODY_BYTES} bytes."),
    )
}

impl JsonBody {
    /// The body as a JSON object, or a 400 worded as a schema error for `what`.
    pub fn object_for(self, what: &str) -> Result<serde_json::Map<String, Value>, ApiError> {
        match self.0 {
            Value::Object(o) => Ok(o),
            other => Err(common::schema::schema_error(
                what,
                format!(
                    "{} is not of type 'object'",
                    common::schema::py_repr(&other)
                ),
            )
            .into()),
        }
    }

    /// The body as a JSON object, or a 400.
    pub fn object(self) -> Result<serde_json::Map<String, Value>, ApiError> {
        match self.0 {
            Value::Object(o) => Ok(o),
            other => Err(ApiError::bad_request(format!(
                "Invalid input: {} is not of type 'object'",
                common::schema::py_repr(&other)
            ))),
        }
    }
}

/// Query parameters in order; a repeated key keeps its last value.
#[derive(Debug, Default)]
pub struct Query(pub Vec<(String, String)>);

impl Query {
    pub fn parse(raw: Option<&str>) -> Query {
        let mut pairs: Vec<(String, String)> = Vec::new();
        for (k, v) in form_urlencoded::parse(raw.unwrap_or("").as_bytes()) {
            pairs.retain(|(key, _)| key != &k);
            pairs.push((k.into_owned(), v.into_owned()));
        }
        Query(pairs)
    }

    pub fn get(&self, key: &str) -> Option<&str> {
        self.0
            .iter()
            .find(|(k, _)| k == key)
            .map(|(_, v)| v.as_str())
    }

    /// 400 naming every parameter not in `allowed`.
    pub fn only(&self, allowed: &[&str]) -> Result<(), ApiError> {
        let unexpected: Vec<&str> = self
            .0
            .iter()
            .map(|(k, _)| k.as_str())
            .filter(|k| !allowed.contains(k))
            .collect();
        if unexpected.is_empty() {
            Ok(())
        } else {
            Err(ApiError::bad_request(format!(
                "Unexpected arguments: {}",
                unexpected.join(", ")
            )))
        }
    }
}

impl<S: Send + Sync> axum::extract::FromRequestParts<S> for Query {
    type Rejection = ApiError;

    async fn from_request_parts(
        parts: &mut axum::http::request::Parts,
        _: &S,
    ) -> Result<Query, ApiError> {
        Ok(Query::parse(parts.uri.query()))
    }
}

/// A path segment that must be a UUID; returns its canonical form.
pub fn uuid_param(value: &str, name: &str) -> Result<String, ApiError> {
    common::model::canonical_uuid(value)
        .ok_or_else(|| ApiError::bad_request(format!("Expected UUID for {name}: {value}")))
}

/// Refuses a request whose path or query holds an escaped NUL (`%00`): no identifier or
/// filter contains one, and PostgreSQL fails on it instead of finding nothing.
pub async fn reject_nul(
    req: Request,
    next: axum::middleware::Next,
) -> Result<axum::response::Response, ApiError> {
    let uri = req.uri();
    let has_nul = |s: &str| s.contains("%00");
    if has_nul(uri.path()) || uri.query().is_some_and(has_nul) {
        return Err(ApiError::bad_request(
            "The request URI contains a NUL character (%00).",
        ));
    }
    Ok(next.run(req).await)
}
