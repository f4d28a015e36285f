//! The one error type of sanlink's domain. It travels over RPC as a typed value;
//! only the gateway turns it into an HTTP status (see `api-gateway/src/error.rs`).

use serde::{Deserialize, Serialize};

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, thiserror::Error)]
pub enum Error {
    /// Bad input: Ironic's `Invalid*`, `PatchError`, `InvalidStateRequested`, `MalformedRequestURI`.
    #[error("{0}")]
    Invalid(String),
    #[error("{0}")]
    Forbidden(String),
    /// `*NotFound` and `NoValidHost`.
    #[error("{0}")]
    NotFound(String),
    /// A field or version newer than the request's microversion.
    #[error("{0}")]
    NotAcceptable(String),
    /// `*AlreadyExists`, `NodeAssociated`, `InvalidState`.
    #[error("{0}")]
    Conflict(String),
    /// Another conductor holds the node's reservation.
    #[error(
        "Node {node} is locked by host {holder}, please retry after the current operation is completed."
    )]
    NodeLocked { node: String, holder: String },
    /// The database or the broker cannot be reached, or no conductor answers.
    #[error("{0}")]
    Unavailable(String),
    /// A fault of sanlink itself. The text is logged, never shown to the client.
    #[error("{0}")]
    Internal(String),
}

impl Error {
    pub fn invalid(msg: impl Into<String>) -> Error {
        Error::Invalid(msg.into())
    }

    pub fn not_found(msg: impl Into<String>) -> Error {
        Error::NotFound(msg.into())
    }

    pub fn conflict(msg: impl Into<String>) -> Error {
        Error::Conflict(msg.into())
    }

    /// Ironic's InvalidStateRequested, worded as the clients and Nova expect it.
    pub fn invalid_state(action: &str, node: &str, state: Option<&str>) -> Error {
        Error::Invalid(format!(
            "The requested action \"{action}\" can not be performed on node \"{node}\" while it is in state \"{}\".",
            state.unwrap_or("None")
        ))
    }

    pub fn node_not_found(ident: &str) -> Error {
        Error::NotFound(format!("Node {ident} could not be found."))
    }
}

impl From<diesel::result::Error> for Error {
    fn from(e: diesel::result::Error) -> Error {
        use diesel::result::{DatabaseErrorKind, Error as D};
        match e {
            D::NotFound => Error::NotFound("Resource could not be found.".into()),
            D::DatabaseError(DatabaseErrorKind::ClosedConnection, info) => {
                tracing::warn!(error = %info.message(), "database connection lost");
                Error::Unavailable("The database is unavailable, please retry later.".into())
            }
            D::DatabaseError(DatabaseErrorKind::SerializationFailure, _) => {
                Error::Conflict("The database reported a concurrent update, please retry.".into())
            }
            other => Error::Internal(format!("database error: {other}")),
        }
    }
}

/// True when a diesel error is a unique-constraint violation (the same kind on all backends).
pub fn is_unique_violation(e: &diesel::result::Error) -> bool {
    matches!(
        e,
        diesel::result::Error::DatabaseError(diesel::result::DatabaseErrorKind::UniqueViolation, _)
    )
}
