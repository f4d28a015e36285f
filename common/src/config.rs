//! Settings every sanlink process honours: `SANLINK_*` environment variables over an
//! optional TOML file.
//!
//! [`SETTINGS`] is the one list of settings: the parser takes each default from it, and
//! `docs/configuration.md` is generated from it ([`reference`]), so the documentation
//! cannot drift from the code. Reading reports every bad setting at once.

use std::cell::RefCell;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::time::Duration;

/// What a setting is when nobody sets it.
#[derive(Clone, Copy, Debug)]
pub enum DefaultValue {
    /// This value, parsed like a given one.
    Value(&'static str),
    /// Worked out from other settings or the machine, as described.
    Derived(&'static str),
    /// Unset: the feature is off, or the built-in applies, as described.
    Unset(&'static str),
}

/// One setting as the reference documents it.
#[derive(Clone, Copy, Debug)]
pub struct Setting {
    /// The environment variable; the file's key is the rest in lower case.
    pub name: &'static str,
    pub default: DefaultValue,
    pub meaning: &'static str,
    /// May be given in a file instead (`<NAME>_FILE` / `<key>_file`), for secrets.
    pub secret: bool,
}

const fn setting(name: &'static str, default: DefaultValue, meaning: &'static str) -> Setting {
    Setting {
        name,
        default,
        meaning,
        secret: false,
    }
}

const fn secret(name: &'static str, default: DefaultValue, meaning: &'static str) -> Setting {
    Setting {
        name,
        default,
        meaning,
        secret: true,
    }
}

use DefaultValue::{Derived, Unset, Value};

/// Every setting, in the order the reference lists them.
pub const SETTINGS: &[Setting] = &[
    setting(
        "SANLINK_LISTEN",
        Value("127.0.0.1:6385"),
        "address and port of the API (`host:port`)",
    ),
    setting(
        "SANLINK_HTTP_HEADER_TIMEOUT",
        Value("10"),
        "seconds a client has, once it sent the first byte of a request, to send the rest of its headers; a connection that takes longer is closed (on the API and on the boot listener). A request body gets as long again: one that has not fully arrived by then is answered 408",
    ),
    setting(
        "SANLINK_HTTP_IDLE_TIMEOUT",
        Value("60"),
        "seconds a connection may stay open without a request: a new connection that sends nothing, or a kept-alive one after its last response, is closed after this",
    ),
    setting(
        "SANLINK_HTTP_MAX_CONNECTIONS",
        Value("400"),
        "open connections each listener (the API's, the boot listener's) holds at most; at the limit the one waiting longest without a request is closed to admit the new one, and with every connection busy the new one gets 503; keep twice this below the process's open-file limit",
    ),
    setting(
        "SANLINK_AUTH_STRATEGY",
        Value("noauth"),
        "`noauth` (no authentication) or `http_basic` (HTTP basic authentication against `SANLINK_HTTP_BASIC_AUTH_USER_FILE`), as Ironic's `[DEFAULT]auth_strategy`; with `http_basic` every API call but `GET /` and `GET /v1`, and the gateway's `/metrics`, needs credentials",
    ),
    setting(
        "SANLINK_HTTP_BASIC_AUTH_USER_FILE",
        Unset("unset"),
        "Apache htpasswd file of the API's users, bcrypt hashes only (`htpasswd -B`); required by `http_basic`; read again on every request, so users can be added without a restart",
    ),
    setting(
        "SANLINK_NOAUTH_ALLOW_REMOTE",
        Value("false"),
        "`true` lets `noauth` serve the API on an address other than loopback; without it such a configuration does not start",
    ),
    setting(
        "SANLINK_DATA_DIR",
        Value("./data"),
        "where the embedded SQLite database lives",
    ),
    secret(
        "SANLINK_DATABASE_URL",
        Derived("`sqlite://<data dir>/sanlink.sqlite`"),
        "`sqlite://<path>`, `postgres://user:pw@host:port/db` or `mysql://user:pw@host:port/db`; TLS options go in the URL's query (see the operator guide)",
    ),
    secret(
        "SANLINK_AMQP_URL",
        Unset("unset"),
        "`amqp://` or `amqps://` URL of RabbitMQ; required by `api-gateway` and `conductor`; `sanlink` (embedded mode) always uses its in-process transport",
    ),
    setting(
        "SANLINK_AMQP_PREFIX",
        Value("sanlink"),
        "prefix of the RabbitMQ queue and exchange names",
    ),
    setting(
        "SANLINK_CONDUCTOR_HOSTNAME",
        Derived("the machine's host name"),
        "the name a conductor registers with and holds node locks under (shown in a node's `reservation`)",
    ),
    setting(
        "SANLINK_RPC_TIMEOUT",
        Value("60"),
        "seconds the gateway waits for a conductor's answer",
    ),
    setting(
        "SANLINK_NODE_LOCKED_RETRY_ATTEMPTS",
        Value("3"),
        "how often a busy node lock is tried before the caller gets 409",
    ),
    setting(
        "SANLINK_NODE_LOCKED_RETRY_INTERVAL",
        Value("1"),
        "seconds between those attempts",
    ),
    setting(
        "SANLINK_MAX_LIMIT",
        Value("1000"),
        "the largest page a list returns (`limit` above it is capped)",
    ),
    setting(
        "SANLINK_PUBLIC_URL",
        Derived("the request's host"),
        "base URL used in `links` and `next`",
    ),
    setting(
        "SANLINK_DB_MAX_CONNECTIONS",
        Value("10"),
        "database connection pool size per process",
    ),
    setting(
        "SANLINK_CONDUCTOR_WORKERS",
        Value("16"),
        "requests one conductor works on at once",
    ),
    setting(
        "SANLINK_HEARTBEAT_INTERVAL",
        Value("10"),
        "seconds between a conductor's heartbeats; at each, it also releases its own node locks that no work of its holds any more (their release failed)",
    ),
    setting(
        "SANLINK_HEARTBEAT_TIMEOUT",
        Value("60"),
        "seconds without a heartbeat after which a conductor counts as gone and its node locks are released; must exceed the interval",
    ),
    setting(
        "SANLINK_BOOT_LISTEN",
        Value("127.0.0.1:8088"),
        "where each conductor serves iPXE scripts (`/boot.ipxe`, `/pxelinux.cfg/<mac>`, `/<node-uuid>/config`) and its `/metrics`, `/healthz` and `/readyz`; use an address booting nodes can reach",
    ),
    setting(
        "SANLINK_BOOT_URL",
        Derived("`http://<SANLINK_BOOT_LISTEN>`"),
        "the boot server's address as nodes see it, written into the scripts",
    ),
    setting(
        "SANLINK_IPXE_TEMPLATE",
        Unset("built in"),
        "path of a minijinja template replacing the boot-from-volume script (`conductor/templates/ipxe_bfv.ipxe` shows the variables)",
    ),
    setting(
        "SANLINK_IPXE_BOOT_TEMPLATE",
        Unset("built in"),
        "path of a template replacing the generic `boot.ipxe` (`conductor/templates/boot.ipxe`)",
    ),
    setting(
        "SANLINK_LOG",
        Value("info"),
        "log filter, `tracing` env-filter syntax (e.g. `debug`, `api_gateway=debug,info`); logs go to standard error",
    ),
    setting(
        "SANLINK_LOG_FORMAT",
        Value("text"),
        "`text` (human-readable) or `json` (one JSON object a line, with the request's span and its `request_id`)",
    ),
];

/// The setting named `name`, if there is one.
pub fn find(name: &str) -> Option<&'static Setting> {
    SETTINGS.iter().find(|s| s.name == name)
}

/// How API callers authenticate (Ironic's `auth_strategy`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Auth {
    /// Anyone who reaches the API may call it.
    NoAuth,
    /// HTTP basic authentication against this htpasswd file.
    HttpBasic { user_file: PathBuf },
}

/// How the HTTP listeners (the API's and the boot listener) treat slow and idle clients,
/// so that connections that never send a request cannot hold the process's open files.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct HttpLimits {
    /// `SANLINK_HTTP_HEADER_TIMEOUT`: from a request's first byte to its last header line.
    pub header_timeout: Duration,
    /// `SANLINK_HTTP_IDLE_TIMEOUT`: how long a connection may wait without a request.
    pub idle_timeout: Duration,
    /// `SANLINK_HTTP_MAX_CONNECTIONS`: connections one listener holds at most.
    pub max_connections: usize,
}

/// How logs are written.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum LogFormat {
    Text,
    Json,
}

#[derive(Clone, Debug)]
pub struct Settings {
    /// `SANLINK_LISTEN`: where the API listens.
    pub listen: SocketAddr,
    /// `SANLINK_HTTP_*`: how long the HTTP listeners wait on clients, and how many
    /// connections each holds.
    pub http: HttpLimits,
    /// `SANLINK_AUTH_STRATEGY` and `SANLINK_HTTP_BASIC_AUTH_USER_FILE`: who may call the API.
    pub auth: Auth,
    /// `SANLINK_DATA_DIR`: where the embedded SQLite database lives.
    pub data_dir: PathBuf,
    /// `SANLINK_DATABASE_URL`: `sqlite://`, `postgres://` or `mysql://`.
    pub database_url: String,
    /// `SANLINK_AMQP_URL`: set, RPC rides RabbitMQ; unset, it stays in-process.
    pub amqp_url: Option<String>,
    /// `SANLINK_CONDUCTOR_HOSTNAME`: the name a conductor reserves nodes with.
    pub conductor_hostname: String,
    /// `SANLINK_RPC_TIMEOUT`: seconds the gateway waits for a conductor's reply.
    pub rpc_timeout: Duration,
    /// `SANLINK_NODE_LOCKED_RETRY_ATTEMPTS` / `_INTERVAL`: how a busy node lock is retried
    /// before the caller gets 409 (Ironic: 3 attempts, 1 s apart).
    pub node_locked_retry_attempts: u32,
    pub node_locked_retry_interval: Duration,
    /// `SANLINK_MAX_LIMIT`: the largest page a list returns.
    pub max_limit: i64,
    /// `SANLINK_PUBLIC_URL`: base of the links in responses; default: the request's host.
    pub public_url: Option<String>,
    /// `SANLINK_DB_MAX_CONNECTIONS`: pool size per process.
    pub db_max_connections: u32,
    /// `SANLINK_AMQP_PREFIX`: prefix of the queue and exchange names.
    pub amqp_prefix: String,
    /// `SANLINK_CONDUCTOR_WORKERS`: requests one conductor works on at once.
    pub conductor_workers: u16,
    /// `SANLINK_HEARTBEAT_INTERVAL`: how often a conductor records that it is alive.
    pub heartbeat_interval: Duration,
    /// `SANLINK_HEARTBEAT_TIMEOUT`: after this long without a heartbeat a conductor is
    /// dead, and the others release the node locks it held.
    pub heartbeat_timeout: Duration,
    /// `SANLINK_BOOT_LISTEN`: where a conductor serves iPXE scripts to booting nodes.
    pub boot_listen: SocketAddr,
    /// `SANLINK_BOOT_URL`: the boot server's address as nodes see it (behind NAT or a
    /// proxy it differs from the listen address).
    pub boot_url: String,
    /// `SANLINK_IPXE_TEMPLATE`: a file replacing the built-in boot-from-volume script
    /// template; `SANLINK_IPXE_BOOT_TEMPLATE` likewise for the generic `boot.ipxe`.
    pub ipxe_template: Option<PathBuf>,
    pub ipxe_boot_template: Option<PathBuf>,
    /// `SANLINK_LOG`: the log filter.
    pub log: String,
    /// `SANLINK_LOG_FORMAT`: text or JSON lines.
    pub log_format: LogFormat,
}

/// A setting that could not be read: which one and why.
#[derive(Debug, Clone, PartialEq)]
pub struct SettingError {
    pub name: String,
    /// The value as given, passwords redacted; none when the problem is not a value.
    pub value: Option<String>,
    pub reason: String,
}

impl std::fmt::Display for SettingError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match &self.value {
            Some(value) => write!(
                f,
                "invalid setting {}={value:?}: {}",
                self.name, self.reason
            ),
            None => write!(f, "{}: {}", self.name, self.reason),
        }
    }
}

impl std::error::Error for SettingError {}

/// Every problem found in a configuration, one a line.
#[derive(Debug, Clone, PartialEq)]
pub struct Problems(pub Vec<SettingError>);

impl std::fmt::Display for Problems {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let lines: Vec<String> = self.0.iter().map(ToString::to_string).collect();
        f.write_str(&lines.join("\n"))
    }
}

impl std::error::Error for Problems {}

impl Settings {
    /// Reads the settings from the environment over a TOML file. The file's keys are the
    /// variables' names without `SANLINK_`, in lower case (`database_url = "..."`); an
    /// environment variable wins over the file. Every problem, in the file or in a
    /// value, is reported.
    pub fn from_env_and_file(path: Option<&Path>) -> Result<Settings, Problems> {
        let (file, mut problems) = match path {
            Some(p) => read_file(p),
            None => (Vec::new(), Vec::new()),
        };
        let settings = Settings::from_lookup(|name| {
            std::env::var(name)
                .ok()
                .or_else(|| file.iter().find(|(k, _)| k == name).map(|(_, v)| v.clone()))
        });
        match settings {
            Ok(s) if problems.is_empty() => Ok(s),
            Ok(_) => Err(Problems(problems)),
            Err(Problems(more)) => {
                problems.extend(more);
                Err(Problems(problems))
            }
        }
    }

    /// Reads the settings through `lookup`, so tests need not touch the environment.
    pub fn from_lookup(lookup: impl Fn(&str) -> Option<String>) -> Result<Settings, Problems> {
        let r = Reader {
            lookup: &lookup,
            problems: RefCell::new(Vec::new()),
        };
        let listen = r.parse("SANLINK_LISTEN", socket_addr);
        let http = HttpLimits {
            header_timeout: r.parse("SANLINK_HTTP_HEADER_TIMEOUT", positive_seconds),
            idle_timeout: r.parse("SANLINK_HTTP_IDLE_TIMEOUT", positive_seconds),
            max_connections: r.parse("SANLINK_HTTP_MAX_CONNECTIONS", |v| {
                positive(v).map(|n| n as usize)
            }),
        };
        let auth = auth(&r, listen);
        let data_dir = PathBuf::from(r.text("SANLINK_DATA_DIR"));
        let database_url = r
            .optional("SANLINK_DATABASE_URL", |url| {
                crate::db::Backend::from_url(url).map(|_| url.to_string())
            })
            .unwrap_or_else(|| format!("sqlite://{}", data_dir.join("sanlink.sqlite").display()));
        let amqp_url = r.optional("SANLINK_AMQP_URL", |url| {
            if url.starts_with("amqp://") || url.starts_with("amqps://") {
                Ok(url.to_string())
            } else {
                Err("expected an amqp:// or amqps:// URL".into())
            }
        });
        let conductor_hostname = r
            .optional("SANLINK_CONDUCTOR_HOSTNAME", |v| Ok(v.to_string()))
            .unwrap_or_else(default_hostname);
        let rpc_timeout = r.parse("SANLINK_RPC_TIMEOUT", seconds);
        let node_locked_retry_attempts = r.parse("SANLINK_NODE_LOCKED_RETRY_ATTEMPTS", |v| {
            positive(v).map(|n| n as u32)
        });
        let node_locked_retry_interval = r.parse("SANLINK_NODE_LOCKED_RETRY_INTERVAL", seconds);
        let max_limit = r.parse("SANLINK_MAX_LIMIT", |v| positive(v).map(|n| n as i64));
        let db_max_connections = r.parse("SANLINK_DB_MAX_CONNECTIONS", |v| {
            positive(v).map(|n| n as u32)
        });
        let amqp_prefix = r.text("SANLINK_AMQP_PREFIX");
        let conductor_workers = r.parse("SANLINK_CONDUCTOR_WORKERS", |v| match positive(v) {
            Ok(n) if n <= u16::MAX as u64 => Ok(n as u16),
            _ => Err("expected a whole number from 1 to 65535".into()),
        });
        let heartbeat_interval = r.parse("SANLINK_HEARTBEAT_INTERVAL", seconds);
        let heartbeat_timeout = r.parse("SANLINK_HEARTBEAT_TIMEOUT", seconds);
        if heartbeat_timeout <= heartbeat_interval {
            r.problem(
                "SANLINK_HEARTBEAT_TIMEOUT",
                Some(format!("{}", heartbeat_timeout.as_secs_f64())),
                "must be longer than SANLINK_HEARTBEAT_INTERVAL",
            );
        }
        let boot_listen = r.parse("SANLINK_BOOT_LISTEN", socket_addr);
        let boot_url = r
            .optional("SANLINK_BOOT_URL", |u| {
                Ok(u.trim_end_matches('/').to_string())
            })
            .unwrap_or_else(|| format!("http://{boot_listen}"));
        let ipxe_template = r.optional("SANLINK_IPXE_TEMPLATE", |v| Ok(PathBuf::from(v)));
        let ipxe_boot_template = r.optional("SANLINK_IPXE_BOOT_TEMPLATE", |v| Ok(PathBuf::from(v)));
        let public_url = r.optional("SANLINK_PUBLIC_URL", |u| {
            Ok(u.trim_end_matches('/').to_string())
        });
        let log = r.parse("SANLINK_LOG", |v| {
            tracing_subscriber::EnvFilter::try_new(v)
                .map(|_| v.to_string())
                .map_err(|e| format!("not a log filter ({e})"))
        });
        let log_format = r.parse("SANLINK_LOG_FORMAT", |v| match v {
            "text" => Ok(LogFormat::Text),
            "json" => Ok(LogFormat::Json),
            _ => Err("expected text or json".into()),
        });
        let problems = r.problems.into_inner();
        if !problems.is_empty() {
            return Err(Problems(problems));
        }
        Ok(Settings {
            listen,
            http,
            auth,
            data_dir,
            database_url,
            amqp_url,
            conductor_hostname,
            rpc_timeout,
            node_locked_retry_attempts,
            node_locked_retry_interval,
            max_limit,
            public_url,
            db_max_connections,
            amqp_prefix,
            conductor_workers,
            heartbeat_interval,
            heartbeat_timeout,
            boot_listen,
            boot_url,
            ipxe_template,
            ipxe_boot_template,
            log,
            log_format,
        })
    }
}

/// Reads settings through a lookup and collects every problem instead of stopping at
/// the first, so that an operator fixes a file in one go.
struct Reader<'a> {
    lookup: &'a dyn Fn(&str) -> Option<String>,
    problems: RefCell<Vec<SettingError>>,
}

impl Reader<'_> {
    fn problem(&self, name: &str, value: Option<String>, reason: impl Into<String>) {
        self.problems.borrow_mut().push(SettingError {
            name: name.to_string(),
            value,
            reason: reason.into(),
        });
    }

    /// The value given for `name`, directly or, for a secret, in the file that
    /// `<name>_FILE` names (its content, without the trailing newline).
    fn given(&self, name: &'static str) -> Option<String> {
        let setting = find(name).unwrap_or_else(|| panic!("{name} is missing from SETTINGS"));
        let get = |n: &str| (self.lookup)(n).filter(|v| !v.trim().is_empty());
        let direct = get(name);
        if !setting.secret {
            return direct;
        }
        let file_name = format!("{name}_FILE");
        match (direct, get(&file_name)) {
            (Some(_), Some(path)) => {
                self.problem(
                    &file_name,
                    Some(path),
                    format!("give {name} or {file_name}, not both"),
                );
                None
            }
            (direct, None) => direct,
            (None, Some(path)) => match std::fs::read_to_string(path.trim()) {
                Ok(text) => Some(text.trim_end_matches(['\r', '\n']).to_string()),
                Err(e) => {
                    self.problem(&file_name, Some(path), format!("cannot read the file: {e}"));
                    None
                }
            },
        }
    }

    /// The given value, else the default of a setting that has one.
    fn text(&self, name: &'static str) -> String {
        match (self.given(name), find(name).map(|s| s.default)) {
            (Some(v), _) => v,
            (None, Some(Value(default))) => default.to_string(),
            (None, _) => panic!("{name} has no default value"),
        }
    }

    /// Parses the given value or the default. A bad value is recorded and the default
    /// stands in, so reading can go on to the other settings.
    fn parse<T>(&self, name: &'static str, convert: impl Fn(&str) -> Result<T, String>) -> T {
        let value = self.text(name);
        convert(value.trim()).unwrap_or_else(|reason| {
            self.problem(name, Some(redact_url(&value)), reason);
            let Some(Value(default)) = find(name).map(|s| s.default) else {
                unreachable!("text() gave a default")
            };
            convert(default).unwrap_or_else(|e| panic!("default of {name} is invalid: {e}"))
        })
    }

    /// Parses a setting that has no default value; none when unset or bad (recorded).
    fn optional<T>(
        &self,
        name: &'static str,
        convert: impl Fn(&str) -> Result<T, String>,
    ) -> Option<T> {
        let value = self.given(name)?;
        match convert(value.trim()) {
            Ok(v) => Some(v),
            Err(reason) => {
                self.problem(name, Some(redact_url(&value)), reason);
                None
            }
        }
    }
}

/// A settings file as (variable name, value) pairs, and its problems: unknown keys,
/// values that are neither strings nor numbers, a file that does not read or parse.
fn read_file(path: &Path) -> (Vec<(String, String)>, Vec<SettingError>) {
    let file = format!("config file {}", path.display());
    let problem = |reason: String| SettingError {
        name: file.clone(),
        value: None,
        reason,
    };
    let table: toml::Table = match std::fs::read_to_string(path)
        .map_err(|e| e.to_string())
        .and_then(|text| text.parse().map_err(|e: toml::de::Error| e.to_string()))
    {
        Ok(table) => table,
        Err(e) => return (Vec::new(), vec![problem(e.trim().to_string())]),
    };
    let mut pairs = Vec::new();
    let mut problems = Vec::new();
    for (key, value) in table {
        let name = format!("SANLINK_{}", key.to_ascii_uppercase());
        if !file_keys().contains(&name) {
            problems.push(problem(format!("unknown setting {key:?}")));
            continue;
        }
        let value = match value {
            toml::Value::String(s) => s,
            toml::Value::Integer(_) | toml::Value::Float(_) | toml::Value::Boolean(_) => {
                value.to_string()
            }
            other => {
                problems.push(problem(format!(
                    "{key} must be a string or a number, not {other}"
                )));
                continue;
            }
        };
        pairs.push((name, value));
    }
    (pairs, problems)
}

/// The variables a file may set: every setting, and `<NAME>_FILE` for secrets.
fn file_keys() -> Vec<String> {
    SETTINGS
        .iter()
        .flat_map(|s| {
            let file = s.secret.then(|| format!("{}_FILE", s.name));
            std::iter::once(s.name.to_string()).chain(file)
        })
        .collect()
}

/// The configuration reference (`docs/configuration.md`), generated from [`SETTINGS`].
pub fn reference() -> String {
    let mut out = String::from(
        "# Configuration reference\n\n\
         <!-- Generated from common/src/config.rs by `sanlink config-reference`; \
         a test fails when this file differs. -->\n\n\
         Settings come from environment variables, over an optional TOML file given with \
         `--config FILE` (or `SANLINK_CONFIG=FILE`) whose keys are the variable names \
         without `SANLINK_`, in lower case (`SANLINK_RPC_TIMEOUT` is `rpc_timeout`). \
         A variable wins over the file. `sanlink check-config [--config FILE]` reports \
         every problem of a configuration at once; a process with a bad setting does \
         not start.\n\n\
         Secrets (marked below) may instead be read from a file: `SANLINK_<NAME>_FILE` \
         in the environment, or `<name>_file` in the TOML file, holds the path of a file \
         whose content, without its trailing newline, is the value (as with Docker or \
         Kubernetes secrets). Giving both the value and its file is an error.\n\n\
         | variable | file key | default | meaning |\n|---|---|---|---|\n",
    );
    for s in SETTINGS {
        let key = s.name.trim_start_matches("SANLINK_").to_ascii_lowercase();
        let default = match s.default {
            Value(v) => format!("`{v}`"),
            Derived(d) | Unset(d) => d.to_string(),
        };
        let meaning = if s.secret {
            format!(
                "{} (secret: also `{}_FILE` / `{key}_file`)",
                s.meaning, s.name
            )
        } else {
            s.meaning.to_string()
        };
        out.push_str(&format!(
            "| `{}` | `{key}` | {default} | {meaning} |\n",
            s.name
        ));
    }
    out
}

/// The authentication settings. `noauth` on an address other than loopback would open
/// the API to whoever reaches it, so it needs `SANLINK_NOAUTH_ALLOW_REMOTE=true`.
fn auth(r: &Reader, listen: SocketAddr) -> Auth {
    let strategy = r.parse("SANLINK_AUTH_STRATEGY", |v| match v {
        "noauth" | "http_basic" => Ok(v.to_string()),
        _ => Err("expected noauth or http_basic".into()),
    });
    let user_file = r.optional("SANLINK_HTTP_BASIC_AUTH_USER_FILE", |v| {
        let path = PathBuf::from(v);
        crate::htpasswd::UserFile::read(&path).map(|_| path)
    });
    let allow_remote = r.parse("SANLINK_NOAUTH_ALLOW_REMOTE", boolean);
    if strategy == "http_basic" {
        return match user_file {
            Some(user_file) => Auth::HttpBasic { user_file },
            None => {
                if r.given("SANLINK_HTTP_BASIC_AUTH_USER_FILE").is_none() {
                    r.problem(
                        "SANLINK_HTTP_BASIC_AUTH_USER_FILE",
                        None,
                        "required by SANLINK_AUTH_STRATEGY=http_basic",
                    );
                }
                Auth::NoAuth
            }
        };
    }
    if !listen.ip().is_loopback() && !allow_remote {
        r.problem(
            "SANLINK_AUTH_STRATEGY",
            Some(strategy),
            format!(
                "noauth serves the API to anyone who reaches {listen}; use http_basic, listen on loopback, or set SANLINK_NOAUTH_ALLOW_REMOTE=true"
            ),
        );
    }
    Auth::NoAuth
}

fn boolean(v: &str) -> Result<bool, String> {
    match v.to_ascii_lowercase().as_str() {
        "true" | "1" | "yes" | "on" => Ok(true),
        "false" | "0" | "no" | "off" => Ok(false),
        _ => Err("expected true or false".into()),
    }
}

fn socket_addr(v: &str) -> Result<SocketAddr, String> {
    v.parse::<SocketAddr>()
        .map_err(|e| format!("expected host:port ({e})"))
}

fn positive(v: &str) -> Result<u64, String> {
    match v.parse::<u64>() {
        Ok(n) if n > 0 => Ok(n),
        _ => Err("expected a whole number above 0".into()),
    }
}

fn seconds(v: &str) -> Result<Duration, String> {
    match v.parse::<f64>() {
        Ok(s) if s.is_finite() && s >= 0.0 => Ok(Duration::from_secs_f64(s)),
        _ => Err("expected a number of seconds".into()),
    }
}

/// A timeout: zero would close every connection at once.
fn positive_seconds(v: &str) -> Result<Duration, String> {
    match seconds(v) {
        Ok(d) if !d.is_zero() => Ok(d),
        _ => Err("expected a number of seconds above 0".into()),
    }
}

fn default_hostname() -> String {
    std::fs::read_to_string("/proc/sys/kernel/hostname")
        .ok()
        .map(|h| h.trim().to_string())
        .filter(|h| !h.is_empty())
        .or_else(|| std::env::var("HOSTNAME").ok())
        .unwrap_or_else(|| "localhost".into())
}

/// A URL with its password replaced, fit for logs and error messages.
pub fn redact_url(url: &str) -> String {
    match (url.find("://"), url.rfind('@')) {
        (Some(scheme_end), Some(at)) if at > scheme_end => {
            let userinfo = &url[scheme_end + 3..at];
            match userinfo.split_once(':') {
                Some((user, _)) => format!("{}{user}:***{}", &url[..scheme_end + 3], &url[at..]),
                None => url.to_string(),
            }
        }
        _ => url.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn with(pairs: &[(&str, &str)]) -> Result<Settings, Problems> {
        let pairs: Vec<(String, String)> = pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        Settings::from_lookup(move |name| {
            pairs
                .iter()
                .find(|(k, _)| k == name)
                .map(|(_, v)| v.clone())
        })
    }

    fn names(problems: &Problems) -> Vec<&str> {
        problems.0.iter().map(|p| p.name.as_str()).collect()
    }

    #[test]
    fn defaults_are_the_embedded_mode() {
        let s = with(&[]).unwrap();
        assert_eq!(s.listen.to_string(), "127.0.0.1:6385");
        assert_eq!(s.database_url, "sqlite://./data/sanlink.sqlite");
        assert!(s.amqp_url.is_none());
        assert_eq!(s.node_locked_retry_attempts, 3);
        assert_eq!(s.log_format, LogFormat::Text);
    }

    #[test]
    fn noauth_off_loopback_needs_an_explicit_allowance() {
        let e = with(&[("SANLINK_LISTEN", "0.0.0.0:6385")]).unwrap_err();
        assert_eq!(names(&e), ["SANLINK_AUTH_STRATEGY"]);
        assert!(e.to_string().contains("SANLINK_NOAUTH_ALLOW_REMOTE"), "{e}");
        let s = with(&[
            ("SANLINK_LISTEN", "0.0.0.0:6385"),
            ("SANLINK_NOAUTH_ALLOW_REMOTE", "true"),
        ])
        .unwrap();
        assert_eq!(s.auth, Auth::NoAuth);
        assert_eq!(
            with(&[("SANLINK_LISTEN", "[::1]:6385")]).unwrap().auth,
            Auth::NoAuth
        );
    }

    #[test]
    fn http_basic_needs_a_readable_bcrypt_user_file() {
        let e = with(&[("SANLINK_AUTH_STRATEGY", "http_basic")]).unwrap_err();
        assert_eq!(names(&e), ["SANLINK_HTTP_BASIC_AUTH_USER_FILE"]);
        let dir = std::env::temp_dir().join(format!("sanlink-auth-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let md5 = dir.join("md5");
        std::fs::write(&md5, "admin:$apr1$abc$def\n").unwrap();
        let bad = [
            ("SANLINK_AUTH_STRATEGY", "http_basic"),
            ("SANLINK_HTTP_BASIC_AUTH_USER_FILE", md5.to_str().unwrap()),
        ];
        let e = with(&bad).unwrap_err();
        assert!(e.to_string().contains("only bcrypt"), "{e}");
        let good = dir.join("good");
        let hash = bcrypt::hash("pw", 4).unwrap();
        std::fs::write(&good, format!("admin:{hash}\n")).unwrap();
        let s = with(&[
            ("SANLINK_AUTH_STRATEGY", "http_basic"),
            ("SANLINK_HTTP_BASIC_AUTH_USER_FILE", good.to_str().unwrap()),
            // Any address is fine with credentials.
            ("SANLINK_LISTEN", "0.0.0.0:6385"),
        ])
        .unwrap();
        assert_eq!(s.auth, Auth::HttpBasic { user_file: good });
        let e = with(&[("SANLINK_AUTH_STRATEGY", "keystone")]).unwrap_err();
        assert_eq!(names(&e), ["SANLINK_AUTH_STRATEGY"]);
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn bad_values_name_the_setting() {
        let e = with(&[("SANLINK_LISTEN", "nowhere")]).unwrap_err();
        assert_eq!(names(&e), ["SANLINK_LISTEN"]);
        let e = with(&[("SANLINK_DATABASE_URL", "oracle://u:pw@h/db")]).unwrap_err();
        assert_eq!(names(&e), ["SANLINK_DATABASE_URL"]);
        assert!(!e.to_string().contains("pw"), "password leaked: {e}");
        let e = with(&[("SANLINK_AMQP_URL", "http://x")]).unwrap_err();
        assert_eq!(names(&e), ["SANLINK_AMQP_URL"]);
        let e = with(&[("SANLINK_MAX_LIMIT", "0")]).unwrap_err();
        assert_eq!(names(&e), ["SANLINK_MAX_LIMIT"]);
        let e = with(&[("SANLINK_LOG_FORMAT", "xml")]).unwrap_err();
        assert_eq!(names(&e), ["SANLINK_LOG_FORMAT"]);
        let e = with(&[("SANLINK_HTTP_HEADER_TIMEOUT", "0")]).unwrap_err();
        assert_eq!(names(&e), ["SANLINK_HTTP_HEADER_TIMEOUT"]);
        let e = with(&[("SANLINK_HTTP_MAX_CONNECTIONS", "none")]).unwrap_err();
        assert_eq!(names(&e), ["SANLINK_HTTP_MAX_CONNECTIONS"]);
    }

    #[test]
    fn every_problem_is_reported_at_once() {
        let e = with(&[
            ("SANLINK_LISTEN", "nowhere"),
            ("SANLINK_MAX_LIMIT", "0"),
            ("SANLINK_AMQP_URL", "http://x"),
            ("SANLINK_HEARTBEAT_INTERVAL", "90"),
        ])
        .unwrap_err();
        assert_eq!(
            names(&e),
            [
                "SANLINK_LISTEN",
                "SANLINK_AMQP_URL",
                "SANLINK_MAX_LIMIT",
                "SANLINK_HEARTBEAT_TIMEOUT"
            ]
        );
        assert_eq!(e.to_string().lines().count(), 4, "{e}");
    }

    fn scratch(name: &str) -> PathBuf {
        let dir =
            std::env::temp_dir().join(format!("sanlink-config-{}-{name}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        dir
    }

    #[test]
    fn a_file_gives_values_and_the_environment_overrides_them() {
        let dir = scratch("file");
        let path = dir.join("sanlink.toml");
        std::fs::write(
            &path,
            "max_limit = 50\nconductor_hostname = \"from-file\"\n",
        )
        .unwrap();
        let s = Settings::from_env_and_file(Some(&path)).unwrap();
        assert_eq!(s.max_limit, 50);
        // SANLINK_CONDUCTOR_HOSTNAME is not set in the test environment.
        assert_eq!(s.conductor_hostname, "from-file");
        std::fs::write(&path, "no_such_setting = 1\nmax_limit = 0\nlisten = [1]\n").unwrap();
        let e = Settings::from_env_and_file(Some(&path)).unwrap_err();
        let text = e.to_string();
        assert!(text.contains("no_such_setting"), "{text}");
        assert!(text.contains("listen must be a string"), "{text}");
        assert!(text.contains("SANLINK_MAX_LIMIT"), "{text}");
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn secrets_may_come_from_files() {
        let dir = scratch("secret");
        let secret = dir.join("db-url");
        std::fs::write(&secret, "sqlite:///srv/secret-name.sqlite\n").unwrap();
        let path = secret.display().to_string();
        let s = with(&[("SANLINK_DATABASE_URL_FILE", &path)]).unwrap();
        assert_eq!(s.database_url, "sqlite:///srv/secret-name.sqlite");
        let e = with(&[
            ("SANLINK_DATABASE_URL_FILE", &path),
            ("SANLINK_DATABASE_URL", "sqlite://x"),
        ])
        .unwrap_err();
        assert_eq!(names(&e), ["SANLINK_DATABASE_URL_FILE"]);
        let e = with(&[("SANLINK_AMQP_URL_FILE", "/no/such/file")]).unwrap_err();
        assert_eq!(names(&e), ["SANLINK_AMQP_URL_FILE"]);
        let toml = dir.join("sanlink.toml");
        std::fs::write(&toml, format!("database_url_file = {path:?}\n")).unwrap();
        let s = Settings::from_env_and_file(Some(&toml)).unwrap();
        assert_eq!(s.database_url, "sqlite:///srv/secret-name.sqlite");
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn a_server_database_needs_its_feature() {
        for (url, built_in) in [
            ("postgres://u@h/db", cfg!(feature = "postgres")),
            ("mysql://u@h/db", cfg!(feature = "mysql")),
        ] {
            match with(&[("SANLINK_DATABASE_URL", url)]) {
                Ok(s) => assert!(built_in, "{url} accepted without its feature: {s:?}"),
                Err(e) => {
                    assert!(!built_in, "{url} refused: {e}");
                    let text = e.to_string();
                    assert!(
                        text.contains("rebuild with `cargo build --release --features"),
                        "{text}"
                    );
                }
            }
        }
    }

    #[test]
    fn every_default_value_parses() {
        for s in SETTINGS {
            if let Value(v) = s.default {
                let e = with(&[(s.name, v)]);
                assert!(e.is_ok(), "{}: {e:?}", s.name);
            }
        }
    }

    #[test]
    fn every_setting_is_read_and_documented() {
        let seen = RefCell::new(Vec::new());
        let _ = Settings::from_lookup(|name| {
            seen.borrow_mut().push(name.to_string());
            None
        });
        let seen = seen.into_inner();
        for s in SETTINGS {
            assert!(seen.iter().any(|n| n == s.name), "{} is never read", s.name);
        }
    }

    /// `docs/configuration.md` is what the code generates; regenerate it with
    /// `cargo run --bin sanlink -- config-reference > docs/configuration.md`.
    #[test]
    fn the_reference_in_docs_is_up_to_date() {
        let path = concat!(env!("CARGO_MANIFEST_DIR"), "/../docs/configuration.md");
        let written = std::fs::read_to_string(path).unwrap_or_default();
        assert!(
            written == reference(),
            "docs/configuration.md is out of date: run \
             `cargo run --bin sanlink -- config-reference > docs/configuration.md`"
        );
    }

    #[test]
    fn redacts_passwords() {
        assert_eq!(
            redact_url("postgres://u:secret@h:5432/db"),
            "postgres://u:***@h:5432/db"
        );
        assert_eq!(redact_url("sqlite://./x"), "sqlite://./x");
    }
}
