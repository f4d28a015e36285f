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
    /// The hardware refused or failed an operation (Ironic's `DriverOperationError`,
    /// a 500 whose text the client sees: it names the BMC and the cause).
    #[error("{0}")]
    DriverFailed(String),
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

    /// Ironic's UnsupportedDriverExtension: the node's interface cannot do `extension`.
    pub fn unsupported_extension(driver: &str, extension: &str) -> Error {
        Error::Invalid(format!(
            "Driver {driver} does not support {extension} (disabled or not implemented)."
        ))
    }

    pub fn node_not_found(ident: &str) -> Error {
        Error::NotFound(format!("Node {ident} could not be found."))
    }
}

/// The one answer to a client while the database cannot be reached: retryable (503).
pub const DATABASE_UNAVAILABLE: &str = "The database is unavailable, please retry later.";

impl Error {
    pub fn database_unavailable() -> Error {
        Error::Unavailable(DATABASE_UNAVAILABLE.into())
    }
}

impl From<diesel::result::Error> for Error {
    fn from(e: diesel::result::Error) -> Error {
        use diesel::result::{DatabaseErrorKind, Error as D};
        if let Some(detail) = lost_connection(&e) {
            tracing::warn!(error = %detail, "database connection lost");
            return Error::database_unavailable();
        }
        match e {
            D::NotFound => Error::NotFound("Resource could not be found.".into()),
            D::DatabaseError(DatabaseErrorKind::SerializationFailure, _) => {
                Error::Conflict("The database reported a concurrent update, please retry.".into())
            }
            other => Error::Internal(format!("database error: {other}")),
        }
    }
}

/// What the three backends say when the connection to the server is gone, or the
/// server cannot take the statement now, but may a moment later. diesel gives most of
/// these no kind of their own (MySQL's and SQLite's arrive as `Unknown`), so the server's
/// text decides.
const LOST_CONNECTION_MESSAGES: [&str; 15] = [
    // MySQL/MariaDB: CR_SERVER_GONE_ERROR (2006), CR_SERVER_LOST (2013), ER_CONNECTION_KILLED
    // (1927), ER_QUERY_INTERRUPTED (1317), ER_SERVER_SHUTDOWN (1053), CR_CONN_HOST_ERROR.
    "server has gone away",
    "lost connection to",
    "connection was killed",
    "query execution was interrupted",
    "server shutdown in progress",
    "can't connect to",
    // PostgreSQL: admin_shutdown (57P01), libpq's own errors, cannot_connect_now (57P03).
    "terminating connection due to administrator command",
    "server closed the connection unexpectedly",
    "no connection to the server",
    "could not receive data from server",
    "could not send data to server",
    "ssl connection has been closed unexpectedly",
    "the database system is shutting down",
    // SQLite: SQLITE_BUSY / SQLITE_LOCKED once the busy timeout has run out.
    "database is locked",
    "database table is locked",
];

/// The server's text when `e` means the database connection is lost or busy, `None` for
/// any other error (which is then the statement's own fault).
fn lost_connection(e: &diesel::result::Error) -> Option<String> {
    use diesel::result::{DatabaseErrorKind, Error as D};
    match e {
        D::DatabaseError(
            DatabaseErrorKind::ClosedConnection | DatabaseErrorKind::UnableToSendCommand,
            info,
        ) => Some(info.message().to_string()),
        D::DatabaseError(_, info) => {
            let message = info.message().to_lowercase();
            LOST_CONNECTION_MESSAGES
                .iter()
                .any(|m| message.contains(m))
                .then(|| info.message().to_string())
        }
        // A rollback that failed because the connection died leaves diesel's transaction
        // manager broken; the pool then discards the connection.
        D::BrokenTransactionManager => Some(e.to_string()),
        D::RollbackErrorOnCommit {
            rollback_error,
            commit_error,
        } => lost_connection(commit_error).or_else(|| lost_connection(rollback_error)),
        _ => None,
    }
}

/// True when a diesel error is a unique-constraint violation (the same kind on all backends).
pub fn is_unique_violation(e: &diesel::result::Error) -> bool {
    matches!(
        e,
        diesel::result::Error::DatabaseError(diesel::result::DatabaseErrorKind::UniqueViolation, _)
    )
}

/// True when a diesel error is a violation of the `UNIQUE (uuid)` of `table`, which every
/// migration names `uniq_<table without underscores>0uuid`. Each backend says so its own
/// way: PostgreSQL names the constraint, MySQL and MariaDB quote it in their message,
/// SQLite names the table and column.
pub fn is_uuid_violation(e: &diesel::result::Error, table: &str) -> bool {
    let diesel::result::Error::DatabaseError(
        diesel::result::DatabaseErrorKind::UniqueViolation,
        info,
    ) = e
    else {
        return false;
    };
    let constraint = format!("uniq_{}0uuid", table.replace('_', ""));
    info.constraint_name() == Some(constraint.as_str())
        || info.message().contains(&format!("{constraint}'"))
        || info.message().ends_with(&format!(": {table}.uuid"))
}

/// True when a diesel error is a foreign-key violation: a child row names a parent row
/// that is gone (a node deleted while its connector, target or port was being created).
pub fn is_foreign_key_violation(e: &diesel::result::Error) -> bool {
    matches!(
        e,
        diesel::result::Error::DatabaseError(
            diesel::result::DatabaseErrorKind::ForeignKeyViolation,
            _
        )
    )
}

/// Lookups whose absence the caller answers in its own words: only a real `NotFound`
/// becomes `None`; a failed database stays an error (503), never "not found".
pub trait Found<T> {
    fn found(self) -> Result<Option<T>, Error>;
}

impl<T> Found<T> for Result<T, Error> {
    fn found(self) -> Result<Option<T>, Error> {
        match self {
            Ok(value) => Ok(Some(value)),
            Err(Error::NotFound(_)) => Ok(None),
            Err(e) => Err(e),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use diesel::result::{DatabaseErrorKind, Error as D};

    fn db_error(kind: DatabaseErrorKind, message: &str) -> D {
        D::DatabaseError(kind, Box::new(message.to_string()))
    }

    #[test]
    fn lost_connections_of_every_backend_are_unavailable() {
        let lost = [
            (DatabaseErrorKind::Unknown, "MySQL server has gone away"),
            (
                DatabaseErrorKind::Unknown,
                "Lost connection to MySQL server during query",
            ),
            (DatabaseErrorKind::Unknown, "Connection was killed"),
            (
                DatabaseErrorKind::Unknown,
                "terminating connection due to administrator command",
            ),
            (
                DatabaseErrorKind::ClosedConnection,
                "server closed the connection unexpectedly",
            ),
            (
                DatabaseErrorKind::UnableToSendCommand,
                "no connection to the server",
            ),
            (DatabaseErrorKind::Unknown, "database is locked"),
        ];
        for (kind, message) in lost {
            assert_eq!(
                Error::from(db_error(kind, message)),
                Error::database_unavailable(),
                "{message}"
            );
        }
        assert_eq!(
            Error::from(D::BrokenTransactionManager),
            Error::database_unavailable()
        );
    }

    #[test]
    fn other_database_errors_stay_what_they_are() {
        assert!(matches!(Error::from(D::NotFound), Error::NotFound(_)));
        assert!(matches!(
            Error::from(db_error(DatabaseErrorKind::Unknown, "syntax error")),
            Error::Internal(_)
        ));
        assert!(matches!(
            Error::from(db_error(
                DatabaseErrorKind::SerializationFailure,
                "deadlock"
            )),
            Error::Conflict(_)
        ));
    }

    #[test]
    fn found_keeps_failures_apart_from_absence() {
        assert_eq!(Ok::<i32, Error>(1).found(), Ok(Some(1)));
        assert_eq!(Err::<i32, Error>(Error::not_found("x")).found(), Ok(None));
        let down = Err::<i32, Error>(Error::database_unavailable()).found();
        assert_eq!(down, Err(Error::database_unavailable()));
    }
}
