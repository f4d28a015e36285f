//! Test harness: the whole service (gateway, conductor, in-process transport) started
//! on 127.0.0.1:0 against a fresh database, and an HTTP client for it.
//!
//! `TEST_DATABASE` picks the backend: `sqlite` (default, a temp file), `postgres` or
//! `mysql`. For the servers, each test gets its own database, created through the
//! server's default database (`TEST_PG_URL`, default `postgres://postgres@127.0.0.1:5432/`;
//! `TEST_MYSQL_URL`, default `mysql://root@127.0.0.1:3306/`). A passing test drops its
//! database; a failing one keeps it, and says where, for a post-mortem.

// Each group of tests uses only part of this module.
#![allow(dead_code)]

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use diesel::connection::SimpleConnection;
use diesel::prelude::*;
use serde_json::Value;
use tokio::io::{AsyncReadExt, AsyncWriteExt};

use api_gateway::app::AppState;
use common::config::Settings;
use common::db::schema::nodes;
use common::db::{Backend, Db};
use common::model::node::Node;
use common::model::states::{PowerState, ProvisionState};
use common::rpc::amqp::{self, AmqpTransport, Topology};
use common::rpc::client::ConductorClient;
use common::rpc::memory::MemoryTransport;
use common::rpc::{Call as RpcCall, Request, Transport};
use conductor::Conductor;

/// The version sent when a test does not choose one: the newest, so every feature is on.
pub const LATEST: &str = "1.46";

const DEFAULT_PG_URL: &str = "postgres://postgres@127.0.0.1:5432/";
const DEFAULT_MYSQL_URL: &str = "mysql://root@127.0.0.1:3306/";

/// The backend `TEST_DATABASE` names.
pub fn backend() -> Backend {
    match std::env::var("TEST_DATABASE").unwrap_or_default().as_str() {
        "" | "sqlite" => Backend::Sqlite,
        "postgres" | "postgresql" => Backend::Postgres,
        "mysql" | "mariadb" => Backend::Mysql,
        other => panic!("TEST_DATABASE={other:?}: expected sqlite, postgres or mysql"),
    }
}

/// A database that exists only for one test.
enum Scratch {
    Sqlite(PathBuf),
    Server {
        backend: Backend,
        server_url: String,
        name: String,
    },
}

/// `url` with its path replaced by `/<database>` (query kept).
fn with_database(url: &str, database: &str) -> String {
    let (scheme, rest) = url.split_once("://").expect("a database URL has a scheme");
    let (authority, tail) = rest.split_once('/').unwrap_or((rest, ""));
    match tail.split_once('?') {
        Some((_, query)) => format!("{scheme}://{authority}/{database}?{query}"),
        None => format!("{scheme}://{authority}/{database}"),
    }
}

fn unique_name() -> String {
    format!("sanlink_t_{}", uuid::Uuid::new_v4().simple())
}

impl Scratch {
    fn create(backend: Backend) -> Scratch {
        match backend {
            Backend::Sqlite => {
                Scratch::Sqlite(std::env::temp_dir().join(format!("{}.sqlite", unique_name())))
            }
            Backend::Postgres | Backend::Mysql => {
                let scratch = Scratch::Server {
                    backend,
                    server_url: server_url(backend),
                    name: unique_name(),
                };
                scratch.admin(&format!("CREATE DATABASE {}", scratch.create_clause()));
                scratch
            }
        }
    }

    fn create_clause(&self) -> String {
        match self {
            // Same collation as the migrations' tables: exact, case-sensitive matches.
            Scratch::Server {
                backend: Backend::Mysql,
                name,
                ..
            } => format!("{name} CHARACTER SET utf8mb4 COLLATE utf8mb4_bin"),
            Scratch::Server { name, .. } => name.clone(),
            Scratch::Sqlite(_) => unreachable!(),
        }
    }

    fn url(&self) -> String {
        match self {
            Scratch::Sqlite(path) => format!("sqlite://{}", path.display()),
            Scratch::Server {
                server_url, name, ..
            } => with_database(server_url, name),
        }
    }

    /// Runs a statement on the server's default database.
    fn admin(&self, sql: &str) {
        let Scratch::Server {
            backend,
            server_url,
            ..
        } = self
        else {
            return;
        };
        let default_database = match backend {
            Backend::Postgres => "postgres",
            _ => "test",
        };
        // Through the service's own pool type, so a build without this backend's Cargo
        // feature says which feature the test needs.
        let result = Db::open(&with_database(server_url, default_database), 1).and_then(|db| {
            db.with_conn(|c| Ok(c.batch_execute(sql)?))
                .map_err(|e| e.to_string())
        });
        if let Err(e) = result {
            panic!("{sql} on {}: {e}", common::config::redact_url(server_url));
        }
    }

    /// Ends every server connection to this test's database (none for SQLite), as a
    /// database restart or a network cut would; the admin connection is on another
    /// database, and nobody else's database is touched.
    fn kill_connections(&self) {
        let Scratch::Server {
            backend,
            server_url,
            name,
        } = self
        else {
            return;
        };
        match backend {
            // With a timeout, pg_terminate_backend waits until the backend has ended,
            // as KILL does on MySQL; without one it only signals it.
            Backend::Postgres => self.admin(&format!(
                "SELECT pg_terminate_backend(pid, 5000) FROM pg_stat_activity \
                 WHERE datname = '{name}' AND pid <> pg_backend_pid()"
            )),
            _ => {
                if let Err(e) = kill_mysql_connections(server_url, name) {
                    panic!("killing the connections to {name}: {e}");
                }
            }
        }
    }

    fn remove(&self) {
        match self {
            Scratch::Sqlite(path) => {
                for suffix in ["", "-wal", "-shm"] {
                    let _ = std::fs::remove_file(format!("{}{suffix}", path.display()));
                }
            }
            Scratch::Server {
                backend: Backend::Postgres,
                name,
                ..
            } => {
                // The service's pool may still hold connections; FORCE ends them.
                self.admin(&format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)"))
            }
            Scratch::Server { name, .. } => self.admin(&format!("DROP DATABASE IF EXISTS {name}")),
        }
    }
}

#[cfg(feature = "mysql")]
#[derive(QueryableByName)]
struct ProcessId {
    #[diesel(sql_type = diesel::sql_types::Unsigned<diesel::sql_types::BigInt>)]
    id: u64,
}

/// Kills every connection to `database` from a MySQL connection of its own: KILL takes
/// one id at a time, so the ids are read first.
#[cfg(feature = "mysql")]
fn kill_mysql_connections(server_url: &str, database: &str) -> Result<(), String> {
    let mut admin = MysqlConnection::establish(&with_database(server_url, "test"))
        .map_err(|e| e.to_string())?;
    let ids: Vec<ProcessId> =
        diesel::sql_query("SELECT id FROM information_schema.processlist WHERE db = ?")
            .bind::<diesel::sql_types::Text, _>(database)
            .load(&mut admin)
            .map_err(|e| e.to_string())?;
    for ProcessId { id } in ids {
        // A connection may have ended since the list was read ("Unknown thread id").
        let _ = admin.batch_execute(&format!("KILL {id}"));
    }
    Ok(())
}

#[cfg(not(feature = "mysql"))]
fn kill_mysql_connections(_server_url: &str, _database: &str) -> Result<(), String> {
    Err("this build has no MySQL support: run the tests with `--features mysql`".into())
}

fn server_url(backend: Backend) -> String {
    let (var, default) = match backend {
        Backend::Postgres => ("TEST_PG_URL", DEFAULT_PG_URL),
        _ => ("TEST_MYSQL_URL", DEFAULT_MYSQL_URL),
    };
    std::env::var(var)
        .ok()
        .filter(|v| !v.is_empty())
        .unwrap_or_else(|| default.to_string())
}

/// A plain GET, for endpoints outside the API client's base URL.
pub async fn http_get(url: impl reqwest::IntoUrl) -> reqwest::Result<reqwest::Response> {
    common::tls::install_provider();
    reqwest::get(url).await
}

/// How the gateway reaches its conductors: in-process (default), or with
/// `TEST_TRANSPORT=amqp` over RabbitMQ (`TEST_AMQP_URL`) to two conductors competing
/// for one queue, as in the production topology.
async fn transport(db: &Db, settings: &Arc<Settings>) -> Arc<dyn Transport> {
    let first = Arc::new(Conductor::new(db.clone(), settings.clone()));
    first.start().await.expect("conductor starts");
    if std::env::var("TEST_TRANSPORT").as_deref() != Ok("amqp") {
        return Arc::new(MemoryTransport::new(first));
    }
    let url = std::env::var("TEST_AMQP_URL")
        .unwrap_or_else(|_| "amqp://guest:guest@127.0.0.1:5672/%2f".into());
    let topology = Topology::new(&format!("sanlink-it-{}", uuid::Uuid::new_v4().simple()));
    let second_settings = Arc::new(Settings {
        conductor_hostname: format!("{}-b", settings.conductor_hostname),
        ..(**settings).clone()
    });
    let second = Arc::new(Conductor::new(db.clone(), second_settings));
    second.start().await.expect("second conductor starts");
    for conductor in [first, second] {
        let (url, topology) = (url.clone(), topology.clone());
        // The stop signal is never sent: the conductors live as long as the test's runtime.
        let (stop, stopped) = tokio::sync::watch::channel(false);
        std::mem::forget(stop);
        tokio::spawn(async move { amqp::serve(&url, topology, conductor, 8, stopped).await });
    }
    // Connect once both consume, so the gateway's first view of the queue sees them.
    let deadline = std::time::Instant::now() + Duration::from_secs(10);
    loop {
        let transport = AmqpTransport::connect(&url, topology.clone())
            .await
            .expect("broker");
        let probe = Request::new(
            common::rpc::RequestContext::internal(),
            Duration::from_secs(5),
            RpcCall::DestroyVolumeConnector {
                uuid: "probe".into(),
            },
        );
        match transport.call(probe).await {
            Err(common::Error::Unavailable(_)) if std::time::Instant::now() < deadline => {
                tokio::time::sleep(Duration::from_millis(100)).await
            }
            _ => return transport,
        }
    }
}

/// A running service and what a test needs to talk to it.
pub struct TestApp {
    /// `http://127.0.0.1:<port>`.
    pub base_url: String,
    pub db: Db,
    pub settings: Arc<Settings>,
    client: reqwest::Client,
    server: tokio::task::JoinHandle<()>,
    scratch: Scratch,
}

impl TestApp {
    pub async fn start() -> TestApp {
        TestApp::start_with(&[]).await
    }

    /// Starts the service with extra `SANLINK_*` settings.
    pub async fn start_with(overrides: &[(&str, &str)]) -> TestApp {
        let scratch = tokio::task::spawn_blocking(|| Scratch::create(backend()))
            .await
            .expect("create the test database");
        let settings = Arc::new(settings(&scratch.url(), overrides));
        let db = Db::open(&settings.database_url, settings.db_max_connections).expect("open db");
        let migrating = db.clone();
        tokio::task::spawn_blocking(move || migrating.upgrade())
            .await
            .expect("migration task")
            .expect("migrations apply");
        let state = AppState {
            db: db.clone(),
            conductor: ConductorClient::new(transport(&db, &settings).await, settings.rpc_timeout),
            settings: settings.clone(),
        };
        let router = api_gateway::build_router(state).unwrap();
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind");
        let addr = listener.local_addr().expect("local addr");
        let limits = settings.http;
        let server = tokio::spawn(async move {
            api_gateway::server::serve_on(listener, router, limits, std::future::pending())
                .await
                .expect("server runs");
        });
        TestApp {
            base_url: format!("http://{addr}"),
            db,
            settings,
            client: {
                common::tls::install_provider();
                reqwest::Client::new()
            },
            server,
            scratch,
        }
    }

    pub fn addr(&self) -> &str {
        self.base_url.trim_start_matches("http://")
    }

    /// A request to `path` (below the base URL) at version [`LATEST`].
    pub fn request(&self, method: &str, path: &str) -> Call {
        let method = reqwest::Method::from_bytes(method.as_bytes()).expect("HTTP method");
        Call {
            builder: self
                .client
                .request(method, format!("{}{path}", self.base_url)),
            version: Some(LATEST.to_string()),
        }
    }

    pub async fn get(&self, path: &str) -> Reply {
        self.request("GET", path).send().await
    }

    pub async fn post(&self, path: &str, body: &Value) -> Reply {
        self.request("POST", path).json(body).send().await
    }

    pub async fn patch(&self, path: &str, body: &Value) -> Reply {
        self.request("PATCH", path).json(body).send().await
    }

    pub async fn delete(&self, path: &str) -> Reply {
        self.request("DELETE", path).send().await
    }

    /// Sends `request` as-is over a new TCP connection; returns whatever comes back
    /// within a few seconds (for requests no HTTP client would send).
    pub async fn raw(&self, request: &[u8]) -> String {
        let mut stream = tokio::net::TcpStream::connect(self.addr())
            .await
            .expect("connect");
        stream.write_all(request).await.expect("write");
        let mut received = Vec::new();
        let mut buf = [0u8; 8192];
        loop {
            match tokio::time::timeout(Duration::from_secs(5), stream.read(&mut buf)).await {
                Ok(Ok(0)) | Err(_) => break,
                Ok(Ok(n)) => received.extend_from_slice(&buf[..n]),
                Ok(Err(_)) => break,
            }
            if complete_response(&received) {
                break;
            }
        }
        String::from_utf8_lossy(&received).into_owned()
    }

    /// A conductor boot listener on a free port, serving this app's database.
    pub async fn boot_listener(&self) -> std::net::SocketAddr {
        conductor::boot::server::start(
            "127.0.0.1:0".parse().unwrap(),
            self.db.clone(),
            &self.settings,
            None,
        )
        .await
        .expect("boot server starts")
    }

    /// Runs `work` on a database connection, panicking on error.
    pub async fn db_run<T, F>(&self, work: F) -> T
    where
        T: Send + 'static,
        F: FnOnce(&mut common::db::AnyConnection) -> Result<T, common::Error> + Send + 'static,
    {
        self.db.run(work).await.expect("database work")
    }

    /// Inserts a node straight into the database (powered off, manageable, driver
    /// `fake-hardware`), after `edit` has adjusted it.
    pub async fn node(&self, edit: impl FnOnce(&mut Node)) -> Node {
        let mut node = Node {
            uuid: common::model::new_uuid(),
            driver: "fake-hardware".into(),
            power_state: Some(PowerState::Off),
            provision_state: ProvisionState::Manageable,
            created_at: common::model::now(),
            ..Node::default()
        };
        edit(&mut node);
        self.db_run(move |conn| common::db::nodes::create(conn, &node))
            .await
    }

    /// Ends every connection the service holds to its database (PostgreSQL and MySQL;
    /// nothing on SQLite). Blocking: call it from `spawn_blocking` while requests run.
    pub fn kill_db_connections(&self) {
        self.scratch.kill_connections();
    }

    /// A function that does [`TestApp::kill_db_connections`], to move to another thread.
    pub fn db_killer(&self) -> impl Fn() + Send + Sync + 'static {
        let scratch = match &self.scratch {
            Scratch::Sqlite(path) => Scratch::Sqlite(path.clone()),
            Scratch::Server {
                backend,
                server_url,
                name,
            } => Scratch::Server {
                backend: *backend,
                server_url: server_url.clone(),
                name: name.clone(),
            },
        };
        move || scratch.kill_connections()
    }

    /// Sets or clears a node's lock, as a conductor busy with it would.
    pub async fn set_reservation(&self, node_id: i64, holder: Option<&str>) {
        let holder = holder.map(str::to_string);
        self.db_run(move |conn| {
            diesel::update(nodes::table.find(node_id))
                .set(nodes::reservation.eq(holder))
                .execute(conn)?;
            Ok(())
        })
        .await
    }

    /// Sets a node's power and provision state.
    pub async fn set_states(
        &self,
        node_id: i64,
        power: Option<PowerState>,
        provision: ProvisionState,
    ) {
        let (power, provision) = (power.map(|p| p.to_string()), provision.to_string());
        self.db_run(move |conn| {
            diesel::update(nodes::table.find(node_id))
                .set((
                    nodes::power_state.eq(power),
                    nodes::provision_state.eq(provision),
                ))
                .execute(conn)?;
            Ok(())
        })
        .await
    }
}

impl Drop for TestApp {
    fn drop(&mut self) {
        self.server.abort();
        if std::thread::panicking() {
            eprintln!("test failed; database kept: {}", self.scratch.url());
        } else {
            self.scratch.remove();
        }
    }
}

fn settings(database_url: &str, overrides: &[(&str, &str)]) -> Settings {
    let mut vars: Vec<(String, String)> = [
        ("SANLINK_DATABASE_URL", database_url),
        ("SANLINK_LISTEN", "127.0.0.1:0"),
        ("SANLINK_CONDUCTOR_HOSTNAME", "test-conductor"),
        // Lock contention tests would otherwise wait seconds for each 409.
        ("SANLINK_NODE_LOCKED_RETRY_INTERVAL", "0.05"),
        ("SANLINK_RPC_TIMEOUT", "30"),
        ("SANLINK_DB_MAX_CONNECTIONS", "8"),
    ]
    .iter()
    .map(|(k, v)| (k.to_string(), v.to_string()))
    .collect();
    for (k, v) in overrides {
        vars.retain(|(name, _)| name != k);
        vars.push((k.to_string(), v.to_string()));
    }
    Settings::from_lookup(move |name| vars.iter().find(|(k, _)| k == name).map(|(_, v)| v.clone()))
        .expect("test settings are valid")
}

/// True once `received` holds a whole response: headers and the body they announce.
fn complete_response(received: &[u8]) -> bool {
    let text = String::from_utf8_lossy(received);
    let Some((head, body)) = text.split_once("\r\n\r\n") else {
        return false;
    };
    let length = head
        .lines()
        .find_map(|l| {
            let (k, v) = l.split_once(':')?;
            k.eq_ignore_ascii_case("content-length")
                .then(|| v.trim().parse::<usize>().ok())?
        })
        .unwrap_or(0);
    body.len() >= length
}

/// A request being built.
pub struct Call {
    builder: reqwest::RequestBuilder,
    version: Option<String>,
}

impl Call {
    /// Sends `X-OpenStack-Ironic-API-Version: <v>`.
    pub fn version(mut self, v: &str) -> Call {
        self.version = Some(v.to_string());
        self
    }

    /// Sends no version header (the server then assumes 1.1).
    pub fn no_version(mut self) -> Call {
        self.version = None;
        self
    }

    pub fn header(mut self, name: &str, value: &str) -> Call {
        self.builder = self.builder.header(name, value);
        self
    }

    pub fn json(mut self, body: &Value) -> Call {
        self.builder = self.builder.json(body);
        self
    }

    /// A body sent verbatim as `application/json`.
    /// A body sent with the given Content-Type instead of JSON's.
    pub fn body_as(mut self, content_type: &str, raw: impl Into<String>) -> Call {
        self.builder = self
            .builder
            .header("Content-Type", content_type)
            .body(raw.into());
        self
    }

    pub fn body(mut self, raw: impl Into<String>) -> Call {
        self.builder = self
            .builder
            .header("Content-Type", "application/json")
            .body(raw.into());
        self
    }

    pub async fn send(self) -> Reply {
        let mut builder = self.builder;
        if let Some(v) = self.version {
            builder = builder.header("X-OpenStack-Ironic-API-Version", v);
        }
        let response = builder.send().await.expect("request sent");
        let status = response.status().as_u16();
        let headers = response.headers().clone();
        let text = response.text().await.expect("response body");
        Reply {
            status,
            headers,
            text,
        }
    }
}

/// A response, read whole.
#[derive(Debug)]
pub struct Reply {
    pub status: u16,
    pub headers: reqwest::header::HeaderMap,
    pub text: String,
}

impl Reply {
    pub fn json(&self) -> Value {
        serde_json::from_str(&self.text)
            .unwrap_or_else(|e| panic!("not JSON ({e}): {} {}", self.status, self.text))
    }

    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).and_then(|v| v.to_str().ok())
    }

    /// Panics, showing the body, unless the status is `code`.
    #[track_caller]
    pub fn expect(&self, code: u16) -> &Reply {
        assert_eq!(self.status, code, "unexpected status; body: {}", self.text);
        self
    }

    /// The decoded inner document of an `{"error_message": "<JSON>"}` body.
    pub fn error(&self) -> Value {
        let outer = self.json();
        let inner = outer["error_message"]
            .as_str()
            .unwrap_or_else(|| panic!("no error_message string in {}", self.text));
        serde_json::from_str(inner).unwrap_or_else(|e| panic!("error_message not JSON ({e})"))
    }

    /// The error text a client shows: `faultstring`, or a routing error's `description`.
    pub fn fault(&self) -> String {
        let inner = self.error();
        inner["faultstring"]
            .as_str()
            .or_else(|| inner["description"].as_str())
            .unwrap_or_default()
            .to_string()
    }

    /// Asserts an error status whose message contains every one of `parts`.
    #[track_caller]
    pub fn expect_error(&self, code: u16, parts: &[&str]) -> &Reply {
        self.expect(code);
        assert_eq!(
            self.header("content-type"),
            Some("application/json"),
            "error content type"
        );
        let fault = self.fault();
        for part in parts {
            assert!(
                fault.contains(part),
                "error message {fault:?} lacks {part:?}"
            );
        }
        self
    }
}
