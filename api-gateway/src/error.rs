//! Ironic's error envelope: `{"error_message": "<JSON string>"}`. This is the one place
//! where sanlink's typed errors become HTTP statuses.

use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde_json::json;

use common::Error;

/// An error answered to an HTTP client.
#[derive(Debug)]
pub struct ApiError {
    pub status: StatusCode,
    pub message: String,
    /// Routing-level errors (unknown path, bad method, bad version) have Ironic's
    /// `{"code", "title", "description"}` shape instead of a fault.
    pub routing: bool,
}

pub type ApiResult<T> = Result<T, ApiError>;

/// Response extension of a routing-level error.
#[derive(Clone, Copy, Debug)]
pub struct RoutingError;

impl ApiError {
    pub fn new(status: StatusCode, message: impl Into<String>) -> ApiError {
        ApiError {
            status,
            message: message.into(),
            routing: false,
        }
    }

    pub fn bad_request(message: impl Into<String>) -> ApiError {
        ApiError::new(StatusCode::BAD_REQUEST, message)
    }

    pub fn routing(status: StatusCode, message: impl Into<String>) -> ApiError {
        ApiError {
            status,
            message: message.into(),
            routing: true,
        }
    }

    /// An unknown path, or a resource absent at the request's version: a routing-level
    /// 404 with an empty description, as Ironic answers it.
    pub fn not_found_path() -> ApiError {
        ApiError::routing(StatusCode::NOT_FOUND, "")
    }

    /// A resource that exists, asked for at a version below its own: a fault, as Ironic
    /// answers it for the volume links documents.
    pub fn not_supported_at_version() -> ApiError {
        ApiError::new(
            StatusCode::NOT_FOUND,
            "The API is not supported for this version",
        )
    }

    /// DELETE or PATCH of a whole collection: the item's identifier is missing, as
    /// Ironic words it.
    pub fn missing_parameter(name: &str) -> ApiError {
        ApiError::bad_request(format!("Missing mandatory parameter: {name}"))
    }

    pub fn malformed_uri() -> ApiError {
        ApiError::bad_request("Malformed request URI.")
    }
}

pub fn status_of(e: &Error) -> StatusCode {
    match e {
        Error::Invalid(_) => StatusCode::BAD_REQUEST,
        Error::Forbidden(_) => StatusCode::FORBIDDEN,
        Error::NotFound(_) => StatusCode::NOT_FOUND,
        Error::NotAcceptable(_) => StatusCode::NOT_ACCEPTABLE,
        Error::Conflict(_) | Error::NodeLocked { .. } => StatusCode::CONFLICT,
        Error::Unavailable(_) => StatusCode::SERVICE_UNAVAILABLE,
        Error::Internal(_) | Error::DriverFailed(_) => StatusCode::INTERNAL_SERVER_ERROR,
    }
}

impl From<Error> for ApiError {
    fn from(e: Error) -> ApiError {
        let status = status_of(&e);
        let message = match &e {
            // The detail is for the logs; clients get no internals.
            Error::Internal(detail) => {
                tracing::error!(detail, "internal error");
                "An internal error occurred; the request was not completed.".to_string()
            }
            other => other.to_string(),
        };
        ApiError::new(status, message)
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let inner = if self.routing {
            let reason = self.status.canonical_reason().unwrap_or("");
            json!({
                "code": self.status.as_u16(),
                "title": reason,
                "description": self.message,
            })
        } else {
            let faultcode = if self.status.is_server_error() {
                "Server"
            } else {
                "Client"
            };
            json!({"faultcode": faultcode, "faultstring": self.message, "debuginfo": null})
        };
        let body = json!({ "error_message": inner.to_string() }).to_string();
        let mut response = (self.status, body).into_response();
        if self.routing {
            // Marks the answer for the version middleware, which leaves the version
            // headers off routing-level errors, as Ironic does.
            response.extensions_mut().insert(RoutingError);
        }
        response.headers_mut().insert(
            header::CONTENT_TYPE,
            HeaderValue::from_static("application/json"),
        );
        // No Retry-After: Ironic sends none, and python-ironicclient fails to build its
        // error from a response that has one.
        response
    }
}
