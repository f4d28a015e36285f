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
            e if connection_lost(&e) => {
                tracing::warn!(error = %e, "database connection lost");
                Error::Unavailable("The database is unavailable, please retry later.".into())
            }
            D::DatabaseError(DatabaseErrorKind::SerializationFailure, _) => {
                Error::Conflict("The database reported a concurrent update, please retry.".into())
            }
            other => Error::Internal(format!("database error: {other}")),
        }
    }
}

/// What the client libraries say when a connection broke under a query. diesel tells a
/// closed connection apart on PostgreSQL only some of the time (libpq may not have seen
/// the socket close yet); MySQL's client errors (2006 "server has gone away", 2013
/// "lost connection", 1927 "connection was killed") and libpq's other words for it
/// come as unknown errors, with only their text to tell.
const CONNECTION_LOST: [&str; 9] = [
    "server has gone away",
    "lost connection to",
    "connection was killed",
    "terminating connection",
    "server closed the connection unexpectedly",
    "no connection to the server",
    "ssl connection has been closed unexpectedly",
    "could not receive data from server",
    "could not send data to server",
];

/// True when a diesel error means the database connection broke: the change was not
/// committed (or, at commit, its outcome is unknown), and a retry may succeed.
fn connection_lost(e: &diesel::result::Error) -> bool {
    use diesel::result::{DatabaseErrorKind, Error as D};
    match e {
        D::DatabaseError(DatabaseErrorKind::ClosedConnection, _) => true,
        D::DatabaseError(_, info) => {
            let message = info.message().to_lowercase();
            CONNECTION_LOST.iter().any(|m| message.contains(m))
        }
        D::RollbackErrorOnCommit {
            rollback_error,
            commit_error,
        } => connection_lost(rollback_error) || connection_lost(commit_error),
        _ => false,
    }
}

/// True when a diesel error is a unique-constraint violation (the same kind on all backends).
pub fn is_unique_violation(e: &diesel::result::Error) -> bool {
    matches!(
        e,
        diesel::result::Error::DatabaseError(diesel::result::DatabaseErrorKind::UniqueViolation, _)
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use diesel::result::{DatabaseErrorKind, Error as D};

    fn unknown(message: &str) -> D {
        D::DatabaseError(DatabaseErrorKind::Unknown, Box::new(message.to_string()))
    }

    #[test]
    fn a_broken_connection_is_retryable_on_every_backend() {
        for broken in [
            D::DatabaseError(DatabaseErrorKind::ClosedConnection, Box::new(String::new())),
            unknown("Lost connection to server during query"),
            unknown("MySQL server has gone away"),
            unknown("Connection was killed"),
            unknown("terminating connection due to administrator command"),
            unknown("no connection to the server\n"),
            D::RollbackErrorOnCommit {
                rollback_error: Box::new(unknown("Server has gone away")),
                commit_error: Box::new(unknown("Lost connection to server during query")),
            },
        ] {
            let error = Error::from(broken);
            assert!(matches!(error, Error::Unavailable(_)), "{error:?}");
        }
        let other = Error::from(unknown("syntax error at or near \"SELEC\""));
        assert!(matches!(other, Error::Internal(_)), "{other:?}");
    }
}
