//! Connection pool over the three supported backends.
//!
//! One `AnyConnection` type (diesel's `MultiConnection`) serves SQLite, PostgreSQL and
//! MySQL/MariaDB, so every query is written once. The pool's manager picks the backend
//! from the URL scheme itself: the derived `establish` tries each backend in turn and
//! throws away the real connection error.
//!
//! PostgreSQL and MySQL/MariaDB are the `postgres` and `mysql` Cargo features: each links
//! a C client library, which a user who only runs the embedded mode on SQLite should not
//! need. A URL naming a backend this build lacks is refused with the feature to add.

use std::time::Duration;

#[cfg(feature = "mysql")]
use diesel::MysqlConnection;
#[cfg(feature = "postgres")]
use diesel::PgConnection;
use diesel::SqliteConnection;
use diesel::connection::SimpleConnection;
use diesel::prelude::*;
use diesel::r2d2::R2D2Connection;
use diesel_migrations::{EmbeddedMigrations, MigrationHarness, embed_migrations};

use super::checkpoint::{self, Checkpointer};
use super::liveness::Socket;
use super::sqlite_writer;
use super::workers::{CONNECTION_WAIT, Workers};
use crate::error::Error;

/// How long a SQLite writer waits for another before "database is locked".
const SQLITE_BUSY_TIMEOUT: Duration = Duration::from_secs(10);

const SQLITE_MIGRATIONS: EmbeddedMigrations = embed_migrations!("../migrations/sqlite");
#[cfg(feature = "postgres")]
const POSTGRES_MIGRATIONS: EmbeddedMigrations = embed_migrations!("../migrations/postgres");
#[cfg(feature = "mysql")]
const MYSQL_MIGRATIONS: EmbeddedMigrations = embed_migrations!("../migrations/mysql");

#[derive(diesel::MultiConnection)]
pub enum AnyConnection {
    #[cfg(feature = "postgres")]
    Postgresql(PgConnection),
    #[cfg(feature = "mysql")]
    Mysql(MysqlConnection),
    Sqlite(SqliteConnection),
}

/// `$body` with `$c` bound to `$conn`'s own connection (SQLite's, PostgreSQL's or
/// MySQL's) instead of the `AnyConnection`: for the queries of every request, written
/// once for every backend. Through `AnyConnection`, diesel's multi-connection wraps a
/// query in a layer that renders its whole SQL text on each pass over it, twice a
/// statement even when the statement is prepared already: a quarter of the
/// instructions of reading one connector.
macro_rules! natively {
    ($conn:expr, |$c:ident| $body:expr) => {
        match $conn {
            #[cfg(feature = "postgres")]
            $crate::db::AnyConnection::Postgresql($c) => $body,
            #[cfg(feature = "mysql")]
            $crate::db::AnyConnection::Mysql($c) => $body,
            $crate::db::AnyConnection::Sqlite($c) => $body,
        }
    };
}
pub(crate) use natively;

/// Which database a URL names.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Backend {
    Sqlite,
    Postgres,
    Mysql,
}

impl Backend {
    /// The backend a URL names, if this build has it.
    pub fn from_url(url: &str) -> Result<Backend, String> {
        let scheme = url.split_once(':').map(|(s, _)| s).unwrap_or("");
        let backend = match scheme {
            "sqlite" => Backend::Sqlite,
            "postgres" | "postgresql" => Backend::Postgres,
            "mysql" | "mariadb" => Backend::Mysql,
            _ => {
                return Err(format!(
                    "unsupported database URL scheme {scheme:?}: use sqlite://, postgres:// or mysql://"
                ));
            }
        };
        match backend.feature() {
            Some(feature) if !backend.built_in() => Err(format!(
                "this build has no {} support: rebuild with `cargo build --release --features {feature}` \
                 (needs the {} client library)",
                backend.label(),
                backend.label()
            )),
            _ => Ok(backend),
        }
    }

    /// The Cargo feature that builds this backend in; SQLite has none.
    pub fn feature(self) -> Option<&'static str> {
        match self {
            Backend::Sqlite => None,
            Backend::Postgres => Some("postgres"),
            Backend::Mysql => Some("mysql"),
        }
    }

    /// Whether this binary was built with the backend.
    pub fn built_in(self) -> bool {
        match self {
            Backend::Sqlite => true,
            Backend::Postgres => cfg!(feature = "postgres"),
            Backend::Mysql => cfg!(feature = "mysql"),
        }
    }

    fn label(self) -> &'static str {
        match self {
            Backend::Sqlite => "SQLite",
            Backend::Postgres => "PostgreSQL",
            Backend::Mysql => "MySQL/MariaDB",
        }
    }
}

/// The r2d2 manager: connects with the backend the URL names and reports its real error.
#[derive(Clone, Debug)]
pub struct Manager {
    backend: Backend,
    url: String,
}

impl Manager {
    pub fn new(url: &str) -> Result<Manager, String> {
        let backend = Backend::from_url(url)?;
        let url = match backend {
            // diesel's SQLite driver takes a path, not a URL.
            Backend::Sqlite => sqlite_path(url).to_string(),
            Backend::Mysql => url.replacen("mariadb://", "mysql://", 1),
            Backend::Postgres => url.to_string(),
        };
        Ok(Manager { backend, url })
    }
}

fn sqlite_path(url: &str) -> &str {
    let rest = url.trim_start_matches("sqlite:");
    rest.strip_prefix("//").unwrap_or(rest)
}

/// Tells OpenSSL, before libpq first uses it, not to free its global state in an
/// `atexit` handler. libpq's TLS runs on OpenSSL, and a pool thread still opening or
/// closing a PostgreSQL connection while the process exits would use that freed state
/// and crash it (SIGSEGV at exit, seen once at the end of the API tests). The
/// operating system frees the memory anyway. The first initialisation decides, so this
/// runs before every connection is opened; only the first call does anything.
#[cfg(feature = "postgres")]
#[allow(unsafe_code)]
fn keep_openssl_through_exit() {
    #[link(name = "crypto")]
    unsafe extern "C" {
        fn OPENSSL_init_crypto(opts: u64, settings: *const std::ffi::c_void) -> std::ffi::c_int;
    }
    // OpenSSL 1.1.1b and later (crypto.h).
    const OPENSSL_INIT_NO_ATEXIT: u64 = 0x0008_0000;
    static ONCE: std::sync::Once = std::sync::Once::new();
    ONCE.call_once(|| {
        // SAFETY: a documented initialisation call with no settings; OpenSSL makes its
        // initialisation thread-safe, and `Once` makes this the only call.
        unsafe { OPENSSL_init_crypto(OPENSSL_INIT_NO_ATEXIT, std::ptr::null()) };
    });
}

/// A connection as the pool keeps it: diesel's connection, and its socket when it could
/// be found (see `liveness`). Used as the connection it holds.
pub struct Pooled {
    conn: AnyConnection,
    socket: Option<Socket>,
    /// Set once the connection was found closed, so that the pool discards it.
    lost: bool,
}

impl Pooled {
    /// Whether the connection is still open as far as its socket tells, without asking
    /// the server; `None` when its socket is unknown. One found closed is marked lost.
    pub(super) fn is_open(&mut self) -> Option<bool> {
        let open = self.socket?.is_open();
        self.lost |= !open;
        Some(open)
    }
}

impl std::ops::Deref for Pooled {
    type Target = AnyConnection;
    fn deref(&self) -> &AnyConnection {
        &self.conn
    }
}

impl std::ops::DerefMut for Pooled {
    fn deref_mut(&mut self) -> &mut AnyConnection {
        &mut self.conn
    }
}

impl r2d2::ManageConnection for Manager {
    type Connection = Pooled;
    type Error = ConnectError;

    fn connect(&self) -> Result<Pooled, ConnectError> {
        let mut conn = self.open()?;
        let socket = Socket::find(&mut conn);
        Ok(Pooled {
            conn,
            socket,
            lost: false,
        })
    }

    /// Run at every check-out: a connection the server closed since (killed, restarted,
    /// timed out) must not be used. Its socket tells without a round trip where it is
    /// known; otherwise the server is asked.
    fn is_valid(&self, conn: &mut Pooled) -> Result<(), ConnectError> {
        if conn.is_broken() {
            return Err(ConnectError::Query(
                diesel::result::Error::BrokenTransactionManager,
            ));
        }
        // A SQLite connection is a file handle that no server can close behind our back.
        if matches!(conn.conn, AnyConnection::Sqlite(_)) {
            return Ok(());
        }
        match conn.is_open() {
            Some(true) => Ok(()),
            Some(false) => Err(ConnectError::Closed),
            None => conn.batch_execute("SELECT 1").map_err(ConnectError::Query),
        }
    }

    /// Run when a connection goes back to the pool. A transaction whose rollback failed
    /// (the connection died mid-transaction) leaves diesel's transaction manager broken:
    /// such a connection answers every later query with an error, or on MySQL may still
    /// hold the open transaction, so it must never be handed out again.
    fn has_broken(&self, conn: &mut Pooled) -> bool {
        std::thread::panicking() || conn.lost || conn.is_broken()
    }
}

impl Manager {
    fn open(&self) -> Result<AnyConnection, ConnectError> {
        Ok(match self.backend {
            #[cfg(feature = "postgres")]
            Backend::Postgres => {
                keep_openssl_through_exit();
                AnyConnection::Postgresql(PgConnection::establish(&self.url)?)
            }
            #[cfg(feature = "mysql")]
            Backend::Mysql => {
                let mut conn = MysqlConnection::establish(&self.url)?;
                // Naive timestamps are UTC everywhere; keep MySQL from converting them.
                conn.batch_execute("SET time_zone = '+00:00'")?;
                AnyConnection::Mysql(conn)
            }
            Backend::Sqlite => {
                let mut conn = SqliteConnection::establish(&self.url)?;
                // Foreign keys give the ON DELETE CASCADE of connectors and targets; the busy
                // timeout lets concurrent writers wait instead of failing with "database is locked".
                // The pool's `checkpoint` thread checkpoints the log, not the committers.
                conn.batch_execute(&format!(
                    "PRAGMA foreign_keys = ON; PRAGMA busy_timeout = {}; \
                     PRAGMA journal_mode = WAL; PRAGMA synchronous = NORMAL; \
                     PRAGMA wal_autocheckpoint = 0;",
                    SQLITE_BUSY_TIMEOUT.as_millis()
                ))?;
                AnyConnection::Sqlite(conn)
            }
            // `Manager::new` refuses a backend this build lacks.
            #[allow(unreachable_patterns)]
            other => unreachable!("{other:?} is not built in"),
        })
    }
}

#[derive(Debug, thiserror::Error)]
pub enum ConnectError {
    #[error("{0}")]
    Connect(#[from] ConnectionError),
    #[error("{0}")]
    Query(#[from] diesel::result::Error),
    #[error("the server closed the connection")]
    Closed,
}

/// A pooled database handle. Cheap to clone.
#[derive(Clone)]
pub struct Db {
    pool: r2d2::Pool<Manager>,
    backend: Backend,
    workers: Workers,
    /// SQLite's log keeper (see `checkpoint`); it stops with the last clone.
    _checkpointer: Option<Checkpointer>,
}

impl Db {
    /// Opens a pool. Nothing is connected yet; the first use does that.
    pub fn open(url: &str, max_connections: u32) -> Result<Db, String> {
        let manager = Manager::new(url)?;
        let backend = manager.backend;
        if backend == Backend::Sqlite {
            let path = std::path::Path::new(&manager.url);
            if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
                std::fs::create_dir_all(dir)
                    .map_err(|e| format!("cannot create {}: {e}", dir.display()))?;
            }
        }
        // An in-memory SQLite database is private to one connection, and has no log.
        let in_memory = manager.url.contains(":memory:");
        let max = if in_memory { 1 } else { max_connections };
        let checkpointer =
            (backend == Backend::Sqlite && !in_memory).then(|| checkpoint::start(&manager.url));
        let pool = r2d2::Pool::builder()
            .max_size(max)
            .min_idle(Some(0))
            .connection_timeout(CONNECTION_WAIT)
            .build_unchecked(manager);
        // One connection stays free of the workers, for readiness probes and the
        // command-line tools, which take theirs straight from the pool.
        let workers = Workers::start(pool.clone(), max.saturating_sub(1).max(1) as usize);
        Ok(Db {
            pool,
            backend,
            workers,
            _checkpointer: checkpointer,
        })
    }

    pub fn backend(&self) -> Backend {
        self.backend
    }

    /// Runs blocking database work on one of the database worker threads.
    pub async fn run<T, F>(&self, work: F) -> Result<T, Error>
    where
        T: Send + 'static,
        F: FnOnce(&mut AnyConnection) -> Result<T, Error> + Send + 'static,
    {
        self.workers.run(work).await
    }

    /// Runs blocking database work on the calling thread, for command-line tools.
    pub fn with_conn<T>(
        &self,
        work: impl FnOnce(&mut AnyConnection) -> Result<T, Error>,
    ) -> Result<T, Error> {
        let mut conn = self
            .pool
            .get()
            .map_err(|e| Error::Unavailable(format!("The database is unavailable: {e}")))?;
        work(&mut conn)
    }

    /// Answers whether the database takes a query (for readiness). One connection
    /// attempt only: the pool's own wait would outlast a probe's patience.
    pub async fn ping(&self) -> Result<(), String> {
        let pool = self.pool.clone();
        tokio::task::spawn_blocking(move || {
            let mut conn = match pool.try_get() {
                Some(conn) => conn,
                None => pool
                    .get_timeout(Duration::from_secs(2))
                    .map_err(|e| e.to_string())?,
            };
            conn.batch_execute("SELECT 1").map_err(|e| e.to_string())
        })
        .await
        .map_err(|e| e.to_string())?
    }

    /// Applies every pending migration for this backend; returns the versions applied.
    pub fn upgrade(&self) -> Result<Vec<String>, String> {
        let mut conn = self.pool.get().map_err(|e| e.to_string())?;
        run_migrations(&mut conn).map_err(|e| e.to_string())
    }

    /// The newest applied migration, if any.
    pub fn version(&self) -> Result<Option<String>, String> {
        let mut conn = self.pool.get().map_err(|e| e.to_string())?;
        let applied = match &mut **conn {
            #[cfg(feature = "postgres")]
            AnyConnection::Postgresql(c) => c.applied_migrations(),
            #[cfg(feature = "mysql")]
            AnyConnection::Mysql(c) => c.applied_migrations(),
            AnyConnection::Sqlite(c) => c.applied_migrations(),
        }
        .map_err(|e| e.to_string())?;
        Ok(applied.into_iter().map(|v| v.to_string()).max())
    }
}

/// Runs `work` in a transaction that writes. On SQLite it begins `IMMEDIATE`: a deferred
/// transaction that reads before it writes cannot wait for a concurrent writer (the busy
/// timeout does not apply to that upgrade) and fails at once with "database is locked".
pub fn write_transaction<T, F>(conn: &mut AnyConnection, work: F) -> Result<T, Error>
where
    F: FnOnce(&mut AnyConnection) -> Result<T, Error>,
{
    use diesel::connection::{AnsiTransactionManager, TransactionManager};
    // Irrefutable in a build with SQLite only.
    #[allow(irrefutable_let_patterns)]
    let AnyConnection::Sqlite(sqlite) = conn else {
        return conn.transaction(work);
    };
    let _turn = sqlite_writer::turn(SQLITE_BUSY_TIMEOUT);
    AnsiTransactionManager::begin_transaction_sql(sqlite, "BEGIN IMMEDIATE")?;
    match work(conn) {
        Ok(value) => {
            <AnyConnection as Connection>::TransactionManager::commit_transaction(conn)?;
            Ok(value)
        }
        Err(e) => {
            if let Err(rollback) =
                <AnyConnection as Connection>::TransactionManager::rollback_transaction(conn)
            {
                tracing::warn!(error = %rollback, "rollback failed");
            }
            Err(e)
        }
    }
}

type MigrationResult = Result<Vec<String>, Box<dyn std::error::Error + Send + Sync>>;

fn run_migrations(conn: &mut AnyConnection) -> MigrationResult {
    let versions = match conn {
        #[cfg(feature = "postgres")]
        AnyConnection::Postgresql(c) => c.run_pending_migrations(POSTGRES_MIGRATIONS)?,
        #[cfg(feature = "mysql")]
        AnyConnection::Mysql(c) => c.run_pending_migrations(MYSQL_MIGRATIONS)?,
        AnyConnection::Sqlite(c) => c.run_pending_migrations(SQLITE_MIGRATIONS)?,
    };
    Ok(versions.into_iter().map(|v| v.to_string()).collect())
}
