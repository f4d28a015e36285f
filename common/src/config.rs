//! Settings every sanlink process honours, in layers: each setting's default, under an
//! optional TOML file, under the `SANLINK_*` environment variables (`figment`).
//!
//! [`SETTINGS`] is the one list of settings: each entry gives a setting's name, type,
//! default and meaning, so the parser and `docs/configuration.md` ([`reference`]) come
//! from the same place and cannot drift apart. Reading reports every bad setting at once.

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::time::Duration;

use figment::providers::{Format, Serialized, Toml};
use figment::value::Value as Given;
use figment::{Figment, Provider};

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

/// Whether a setting's value may instead be read from a file (`<NAME>_FILE`), as Docker
/// and Kubernetes hand secrets over.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Secrecy {
    Plain,
    Secret,
}

/// A setting as the reference documents it, whatever its type.
#[derive(Clone, Copy, Debug)]
pub struct About {
    /// The environment variable; the file's key is the rest in lower case.
    pub name: &'static str,
    pub default: DefaultValue,
    /// The lines of the setting's doc comment.
    pub meaning: &'static [&'static str],
    pub secrecy: Secrecy,
}

impl About {
    /// The key of the setting in the file and in the layers: `SANLINK_MAX_LIMIT` is
    /// `max_limit`.
    pub fn key(&self) -> String {
        key_of(self.name)
    }

    /// The variable naming a file that holds a secret's value.
    fn file_variable(&self) -> Option<String> {
        (self.secrecy == Secrecy::Secret).then(|| format!("{}_FILE", self.name))
    }
}

/// A setting: what the reference says of it, and how its text becomes a value.
pub struct Setting<T> {
    pub about: About,
    parse: fn(&str) -> Result<T, String>,
}

/// Declares each setting once, with its doc comment as its meaning, as a constant named
/// like its variable, and lists them all in [`SETTINGS`].
macro_rules! settings {
    ($($(#[doc = $doc:literal])+ $id:ident: $ty:ty = $name:literal, $default:expr, $secrecy:ident, $parse:expr;)+) => {
        $(
            const _: () = assert!(
                same($name, concat!("SANLINK_", stringify!($id))),
                "a setting's constant is its variable's name without SANLINK_",
            );
            $(#[doc = $doc])+
            const $id: Setting<$ty> = Setting {
                about: About {
                    name: $name,
                    default: $default,
                    meaning: &[$($doc),+],
                    secrecy: Secrecy::$secrecy,
                },
                parse: $parse,
            };
        )+
        /// Every setting, in the order the reference lists them.
        pub const SETTINGS: &[About] = &[$($id.about),+];
    };
}

/// Whether two strings are equal, at compile time.
const fn same(a: &str, b: &str) -> bool {
    let (a, b) = (a.as_bytes(), b.as_bytes());
    if a.len() != b.len() {
        return false;
    }
    let mut i = 0;
    while i < a.len() {
        if a[i] != b[i] {
            return false;
        }
        i += 1;
    }
    true
}

use DefaultValue::{Derived, Unset, Value};

settings! {
    /// address and port of the API (`host:port`)
    LISTEN: SocketAddr = "SANLINK_LISTEN", Value("127.0.0.1:6385"), Plain, socket_addr;
    /// seconds a client has, once it sent the first byte of a request, to send the rest of
    /// its headers; a connection that takes longer is closed (on the API and on the boot
    /// listener). A request body gets as long again: one that has not fully arrived by then
    /// is answered 408
    HTTP_HEADER_TIMEOUT: Duration = "SANLINK_HTTP_HEADER_TIMEOUT", Value("10"), Plain, positive_seconds;
    /// seconds a connection may stay open without a request: a new connection that sends
    /// nothing, or a kept-alive one after its last response, is closed after this
    HTTP_IDLE_TIMEOUT: Duration = "SANLINK_HTTP_IDLE_TIMEOUT", Value("60"), Plain, positive_seconds;
    /// open connections each listener (the API's, the boot listener's) holds at most; at
    /// the limit the one waiting longest without a request is closed to admit the new one,
    /// and with every connection busy the new one gets 503; keep twice this below the
    /// process's open-file limit
    HTTP_MAX_CONNECTIONS: usize = "SANLINK_HTTP_MAX_CONNECTIONS", Value("400"), Plain, positive;
    /// `noauth` (no authentication), `http_basic` (HTTP basic authentication against
    /// `SANLINK_HTTP_BASIC_AUTH_USER_FILE`) or `keystone` (a Keystone token in
    /// `X-Auth-Token`, authorized by Ironic's policy; `SANLINK_KEYSTONE_*`), as Ironic's
    /// `[DEFAULT]auth_strategy`; with `http_basic` or `keystone` every API call but
    /// `GET /` and `GET /v1`, and the gateway's `/metrics`, needs credentials
    AUTH_STRATEGY: AuthStrategy = "SANLINK_AUTH_STRATEGY", Value("noauth"), Plain, auth_strategy;
    /// Apache htpasswd file of the API's users, bcrypt hashes only (`htpasswd -B`);
    /// required by `http_basic`; read again on every request, so users can be added without
    /// a restart
    HTTP_BASIC_AUTH_USER_FILE: PathBuf = "SANLINK_HTTP_BASIC_AUTH_USER_FILE", Unset("unset"), Plain, user_file;
    /// Keystone's identity API (`[keystone_authtoken] auth_url`), e.g.
    /// `http://keystone:5000/v3` (`/v3` is added when missing); required by `keystone`
    KEYSTONE_AUTH_URL: String = "SANLINK_KEYSTONE_AUTH_URL", Unset("unset"), Plain, identity_url;
    /// the public identity endpoint a caller without a valid token is told to
    /// authenticate at, in `WWW-Authenticate: Keystone uri="..."`
    /// (`www_authenticate_uri`)
    KEYSTONE_WWW_AUTHENTICATE_URI: String = "SANLINK_KEYSTONE_WWW_AUTHENTICATE_URI", Derived("`SANLINK_KEYSTONE_AUTH_URL`"), Plain, base_url;
    /// sanlink's service user in Keystone, which validates callers' tokens (it needs the
    /// `service` role) and calls other services
    KEYSTONE_USERNAME: String = "SANLINK_KEYSTONE_USERNAME", Value("ironic"), Plain, text;
    /// the service user's password; required by `keystone`
    KEYSTONE_PASSWORD: String = "SANLINK_KEYSTONE_PASSWORD", Unset("unset"), Secret, text;
    /// the project the service user's token is scoped to
    KEYSTONE_PROJECT_NAME: String = "SANLINK_KEYSTONE_PROJECT_NAME", Value("service"), Plain, text;
    /// the domain of the service user
    KEYSTONE_USER_DOMAIN_NAME: String = "SANLINK_KEYSTONE_USER_DOMAIN_NAME", Value("Default"), Plain, text;
    /// the domain of the service user's project
    KEYSTONE_PROJECT_DOMAIN_NAME: String = "SANLINK_KEYSTONE_PROJECT_DOMAIN_NAME", Value("Default"), Plain, text;
    /// the region whose endpoints sanlink calls (from the catalog); unset: any
    KEYSTONE_REGION_NAME: String = "SANLINK_KEYSTONE_REGION_NAME", Unset("any region"), Plain, text;
    /// the catalog interface of the endpoints sanlink calls: `public`, `internal` or
    /// `admin`
    KEYSTONE_INTERFACE: String = "SANLINK_KEYSTONE_INTERFACE", Value("internal"), Plain, interface;
    /// seconds a validated token is trusted without asking Keystone again (never past the
    /// token's expiry), and a refused one stays refused; a revoked token is refused once
    /// this has passed (`token_cache_time`)
    KEYSTONE_TOKEN_CACHE_TIME: Duration = "SANLINK_KEYSTONE_TOKEN_CACHE_TIME", Value("300"), Plain, seconds;
    /// PEM file of the certificate authorities Keystone's https certificate is checked
    /// against, besides the system's (`cafile`)
    KEYSTONE_CAFILE: PathBuf = "SANLINK_KEYSTONE_CAFILE", Unset("the system's authorities"), Plain, path;
    /// seconds a request to Keystone may take before the caller is answered 503
    /// (`http_connect_timeout`)
    KEYSTONE_TIMEOUT: Duration = "SANLINK_KEYSTONE_TIMEOUT", Value("10"), Plain, positive_seconds;
    /// YAML file of policy rules (oslo.policy's format and Ironic's rule names, e.g.
    /// `"baremetal:node:get": "role:reader"`) replacing Ironic's defaults; read at start-up;
    /// used with `keystone`
    POLICY_FILE: PathBuf = "SANLINK_POLICY_FILE", Unset("Ironic's default rules"), Plain, path;
    /// `true` gives users with the `service` role in the project named by
    /// `SANLINK_RBAC_SERVICE_PROJECT_NAME` access to every node, as a system member has
    /// (Ironic's `rbac_service_role_elevated_access`); Nova's service user needs it
    RBAC_SERVICE_ROLE_ELEVATED_ACCESS: bool = "SANLINK_RBAC_SERVICE_ROLE_ELEVATED_ACCESS", Value("false"), Plain, boolean;
    /// the project of the service users that `SANLINK_RBAC_SERVICE_ROLE_ELEVATED_ACCESS`
    /// applies to
    RBAC_SERVICE_PROJECT_NAME: String = "SANLINK_RBAC_SERVICE_PROJECT_NAME", Value("service"), Plain, text;
    /// `true` lets `noauth` serve the API on an address other than loopback; without it
    /// such a configuration does not start
    NOAUTH_ALLOW_REMOTE: bool = "SANLINK_NOAUTH_ALLOW_REMOTE", Value("false"), Plain, boolean;
    /// how conductors reach Cinder for the `cinder` storage interface (Ironic's
    /// `[cinder] auth_type`): `none` for a standalone Cinder (`auth_strategy = noauth`) at
    /// `SANLINK_CINDER_ENDPOINT_OVERRIDE`, whose requests carry
    /// `X-Auth-Token: sanlink:<project_id>` with the project id from that URL, or
    /// `password` for sanlink's Keystone service user (`SANLINK_KEYSTONE_*`), its token
    /// and the `block-storage` (else `volumev3`) endpoint of its catalog; unset, no Cinder
    /// is configured and the `cinder` storage interface does not validate
    CINDER_AUTH_TYPE: CinderAuthType = "SANLINK_CINDER_AUTH_TYPE", Unset("unset"), Plain, cinder_auth_type;
    /// Cinder's block-storage v3 endpoint, used as is instead of the catalog's, e.g.
    /// `http://127.0.0.1:8776/v3/<project_id>`; required by `none`
    CINDER_ENDPOINT_OVERRIDE: String = "SANLINK_CINDER_ENDPOINT_OVERRIDE", Unset("from Keystone's catalog"), Plain, http_url;
    /// seconds one request to Cinder may take (`[cinder] timeout`)
    CINDER_TIMEOUT: Duration = "SANLINK_CINDER_TIMEOUT", Value("30"), Plain, positive_seconds;
    /// how often a request to Cinder is retried after a connection failure, and a read
    /// after a timeout or a 5xx answer too (`[cinder] retries`); volume actions that
    /// reached Cinder are not repeated
    CINDER_RETRIES: u32 = "SANLINK_CINDER_RETRIES", Value("3"), Plain, count;
    /// how often a failed detach of a node's volumes is tried again
    /// (`[cinder] action_retries`)
    CINDER_ACTION_RETRIES: u32 = "SANLINK_CINDER_ACTION_RETRIES", Value("3"), Plain, count;
    /// seconds between those attempts (`[cinder] action_retry_interval`)
    CINDER_ACTION_RETRY_INTERVAL: Duration = "SANLINK_CINDER_ACTION_RETRY_INTERVAL", Value("5"), Plain, seconds;
    /// PEM file of the certificate authorities Cinder's https certificate is checked
    /// against, besides the system's (`[cinder] cafile`)
    CINDER_CAFILE: PathBuf = "SANLINK_CINDER_CAFILE", Unset("the system's authorities"), Plain, ca_file;
    /// where the embedded SQLite database lives
    DATA_DIR: PathBuf = "SANLINK_DATA_DIR", Value("./data"), Plain, path;
    /// `sqlite://<path>`, `postgres://user:pw@host:port/db` or
    /// `mysql://user:pw@host:port/db`; TLS options go in the URL's query (see the operator
    /// guide)
    DATABASE_URL: String = "SANLINK_DATABASE_URL", Derived("`sqlite://<data dir>/sanlink.sqlite`"), Secret, database_url;
    /// `amqp://` or `amqps://` URL of RabbitMQ; required by `api-gateway` and `conductor`;
    /// `sanlink` (embedded mode) always uses its in-process transport. Its query may set
    /// `heartbeat`, `connection_timeout` and `frame_max` (default here 16384: each
    /// connection keeps 32 frames of buffer each way)
    AMQP_URL: String = "SANLINK_AMQP_URL", Unset("unset"), Secret, amqp_url;
    /// prefix of the RabbitMQ queue and exchange names
    AMQP_PREFIX: String = "SANLINK_AMQP_PREFIX", Value("sanlink"), Plain, text;
    /// the name a conductor registers with and holds node locks under (shown in a node's
    /// `reservation`)
    CONDUCTOR_HOSTNAME: String = "SANLINK_CONDUCTOR_HOSTNAME", Derived("the machine's host name"), Plain, text;
    /// seconds the gateway waits for a conductor's answer
    RPC_TIMEOUT: Duration = "SANLINK_RPC_TIMEOUT", Value("60"), Plain, seconds;
    /// how often a busy node lock is tried before the caller gets 409
    NODE_LOCKED_RETRY_ATTEMPTS: u32 = "SANLINK_NODE_LOCKED_RETRY_ATTEMPTS", Value("3"), Plain, positive;
    /// seconds between those attempts
    NODE_LOCKED_RETRY_INTERVAL: Duration = "SANLINK_NODE_LOCKED_RETRY_INTERVAL", Value("1"), Plain, seconds;
    /// the largest page a list returns (`limit` above it is capped)
    MAX_LIMIT: i64 = "SANLINK_MAX_LIMIT", Value("1000"), Plain, positive;
    /// base URL used in `links` and `next`
    PUBLIC_URL: String = "SANLINK_PUBLIC_URL", Derived("the request's host"), Plain, base_url;
    /// database connection pool size per process
    DB_MAX_CONNECTIONS: u32 = "SANLINK_DB_MAX_CONNECTIONS", Value("10"), Plain, positive;
    /// requests one conductor works on at once
    CONDUCTOR_WORKERS: u16 = "SANLINK_CONDUCTOR_WORKERS", Value("16"), Plain, positive;
    /// seconds between a conductor's heartbeats; at each, it also releases its own node
    /// locks that no work of its holds any more (their release failed)
    HEARTBEAT_INTERVAL: Duration = "SANLINK_HEARTBEAT_INTERVAL", Value("10"), Plain, seconds;
    /// seconds without a heartbeat after which a conductor counts as gone and its node
    /// locks are released; must exceed the interval
    HEARTBEAT_TIMEOUT: Duration = "SANLINK_HEARTBEAT_TIMEOUT", Value("60"), Plain, seconds;
    /// where each conductor serves iPXE scripts (`/boot.ipxe`, `/pxelinux.cfg/<mac>`,
    /// `/<node-uuid>/config`) and its `/metrics`, `/healthz` and `/readyz`; use an address
    /// booting nodes can reach
    BOOT_LISTEN: SocketAddr = "SANLINK_BOOT_LISTEN", Value("127.0.0.1:8088"), Plain, socket_addr;
    /// the boot server's address as nodes see it, written into the scripts
    BOOT_URL: String = "SANLINK_BOOT_URL", Derived("`http://<SANLINK_BOOT_LISTEN>`"), Plain, base_url;
    /// path of a minijinja template replacing the boot-from-volume script
    /// (`conductor/templates/ipxe_bfv.ipxe` shows the variables)
    IPXE_TEMPLATE: PathBuf = "SANLINK_IPXE_TEMPLATE", Unset("built in"), Plain, path;
    /// path of a template replacing the generic `boot.ipxe`
    /// (`conductor/templates/boot.ipxe`)
    IPXE_BOOT_TEMPLATE: PathBuf = "SANLINK_IPXE_BOOT_TEMPLATE", Unset("built in"), Plain, path;
    /// log filter, `tracing` env-filter syntax (e.g. `debug`, `api_gateway=debug,info`);
    /// logs go to standard error
    LOG: String = "SANLINK_LOG", Value("info"), Plain, log_filter;
    /// `text` (human-readable) or `json` (one JSON object a line, with the request's span
    /// and its `request_id`)
    LOG_FORMAT: LogFormat = "SANLINK_LOG_FORMAT", Value("text"), Plain, log_format;
}

/// How API callers authenticate (Ironic's `auth_strategy`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Auth {
    /// Anyone who reaches the API may call it.
    NoAuth,
    /// HTTP basic authentication against this htpasswd file.
    HttpBasic { user_file: PathBuf },
    /// Keystone tokens, authorized by Ironic's policy.
    Keystone(Box<KeystoneAuth>),
}

/// What `SANLINK_AUTH_STRATEGY=keystone` needs: where Keystone is, and the policy.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct KeystoneAuth {
    pub keystone: crate::keystone::KeystoneSettings,
    pub policy_file: Option<PathBuf>,
    pub elevated_service_access: bool,
    pub service_project_name: String,
}

impl KeystoneAuth {
    /// Ironic's default policy under the operator's policy file, if any.
    pub fn policy(&self) -> Result<crate::policy::Loaded, crate::policy::LoadError> {
        crate::policy::Policy::load(
            self.policy_file.as_deref(),
            self.elevated_service_access,
            &self.service_project_name,
        )
    }
}

/// `SANLINK_AUTH_STRATEGY`, before the user file it may need is read.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum AuthStrategy {
    NoAuth,
    HttpBasic,
    Keystone,
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

/// `SANLINK_CINDER_AUTH_TYPE`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum CinderAuthType {
    None,
    Password,
}

/// How logs are written.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum LogFormat {
    Text,
    Json,
}

/// The settings as the processes use them; each field's meaning is its setting's doc.
#[derive(Clone, Debug)]
pub struct Settings {
    pub listen: SocketAddr,
    pub http: HttpLimits,
    pub auth: Auth,
    /// How conductors reach Cinder; none: no Cinder is configured.
    pub cinder: Option<crate::cinder::CinderSettings>,
    pub data_dir: PathBuf,
    pub database_url: String,
    /// Set, RPC rides RabbitMQ; unset, it stays in-process.
    pub amqp_url: Option<String>,
    pub conductor_hostname: String,
    pub rpc_timeout: Duration,
    /// How a busy node lock is retried before the caller gets 409 (Ironic: 3 attempts,
    /// 1 s apart).
    pub node_locked_retry_attempts: u32,
    pub node_locked_retry_interval: Duration,
    pub max_limit: i64,
    /// Base of the links in responses; none: the request's host.
    pub public_url: Option<String>,
    pub db_max_connections: u32,
    pub amqp_prefix: String,
    pub conductor_workers: u16,
    pub heartbeat_interval: Duration,
    /// After this long without a heartbeat a conductor is dead, and the others release
    /// the node locks it held.
    pub heartbeat_timeout: Duration,
    pub boot_listen: SocketAddr,
    /// The boot server's address as nodes see it (behind NAT or a proxy it differs from
    /// the listen address).
    pub boot_url: String,
    pub ipxe_template: Option<PathBuf>,
    pub ipxe_boot_template: Option<PathBuf>,
    pub log: String,
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
        // Exact names and raw text: figment's `Env` matches names in any case and would
        // turn a value such as `007` into the number 7.
        Settings::from_lookup_and_file(path, |name| std::env::var(name).ok())
    }

    /// Reads the settings through `lookup` instead of the environment, without a file, so
    /// tests need not touch the environment.
    pub fn from_lookup(lookup: impl Fn(&str) -> Option<String>) -> Result<Settings, Problems> {
        Settings::from_lookup_and_file(None, lookup)
    }

    /// Layers the defaults, the file and the variables `lookup` finds, then reads every
    /// setting from them.
    fn from_lookup_and_file(
        file: Option<&Path>,
        lookup: impl Fn(&str) -> Option<String>,
    ) -> Result<Settings, Problems> {
        // Each layer is merged over the ones before it (`Serialized::defaults` only names
        // figment's default profile, the one sanlink uses).
        let mut r = Reader {
            layers: Figment::from(Serialized::defaults(defaults())),
            problems: Vec::new(),
        };
        if let Some(path) = file {
            r.add_file(path);
        }
        let variables: BTreeMap<String, String> = variables()
            .into_iter()
            .filter_map(|name| lookup(&name).map(|value| (key_of(&name), value)))
            .collect();
        r.layers = std::mem::take(&mut r.layers).merge(Serialized::defaults(variables));
        let settings = r.settings();
        if r.problems.is_empty() {
            Ok(settings)
        } else {
            Err(Problems(r.problems))
        }
    }
}

/// The variables settings come from: every setting's, and `<NAME>_FILE` for secrets.
fn variables() -> Vec<String> {
    SETTINGS
        .iter()
        .flat_map(|s| std::iter::once(s.name.to_string()).chain(s.file_variable()))
        .collect()
}

/// A variable's key in the layers (and the file).
fn key_of(name: &str) -> String {
    name.trim_start_matches("SANLINK_").to_ascii_lowercase()
}

/// The bottom layer: every default that is a value.
fn defaults() -> BTreeMap<String, &'static str> {
    SETTINGS
        .iter()
        .filter_map(|s| match s.default {
            Value(v) => Some((s.key(), v)),
            Derived(_) | Unset(_) => None,
        })
        .collect()
}

/// Reads settings from the layers and collects every problem instead of stopping at the
/// first, so that an operator fixes a file in one go.
struct Reader {
    layers: Figment,
    problems: Vec<SettingError>,
}

impl Reader {
    fn problem(&mut self, name: &str, value: Option<String>, reason: impl Into<String>) {
        self.problems.push(SettingError {
            name: name.to_string(),
            value,
            reason: reason.into(),
        });
    }

    /// Adds a TOML file as a layer, keeping only its known keys with scalar values; the
    /// others, or a file that does not read or parse, are problems.
    fn add_file(&mut self, path: &Path) {
        let file = format!("config file {}", path.display());
        let table = match Toml::file_exact(path).data() {
            Ok(mut profiles) => profiles
                .remove(&figment::Profile::Default)
                .unwrap_or_default(),
            Err(e) => return self.problem(&file, None, e.to_string().trim()),
        };
        let known: Vec<String> = variables().iter().map(|n| key_of(n)).collect();
        let mut layer = BTreeMap::new();
        for (key, value) in table {
            if !known.contains(&key) {
                self.problem(&file, None, format!("unknown setting {key:?}"));
            } else if let Some(text) = scalar(&value) {
                layer.insert(key, text);
            } else {
                let kind = value.to_actual();
                self.problem(
                    &file,
                    None,
                    format!("{key} must be a string or a number, not {kind}"),
                );
            }
        }
        self.layers = std::mem::take(&mut self.layers).merge(Serialized::defaults(layer));
    }

    /// The text given for a variable in the layers, blank counting as unset.
    fn layer(&self, name: &str) -> Option<String> {
        let text: String = self.layers.extract_inner(&key_of(name)).ok()?;
        (!text.trim().is_empty()).then_some(text)
    }

    /// The value given for a setting (or its default), directly or, for a secret, in the
    /// file that `<NAME>_FILE` names (its content, without the trailing newline).
    fn given(&mut self, about: &About) -> Option<String> {
        let direct = self.layer(about.name);
        let Some(file_name) = about.file_variable() else {
            return direct;
        };
        match (direct, self.layer(&file_name)) {
            (Some(_), Some(path)) => {
                let reason = format!("give {} or {file_name}, not both", about.name);
                self.problem(&file_name, Some(path), reason);
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

    /// A setting's value; none when it is unset or bad (recorded).
    fn optional<T>(&mut self, setting: &Setting<T>) -> Option<T> {
        let text = self.given(&setting.about)?;
        match (setting.parse)(text.trim()) {
            Ok(value) => Some(value),
            Err(reason) => {
                self.problem(setting.about.name, Some(redact_url(&text)), reason);
                None
            }
        }
    }

    /// A setting that has a default value. A bad value is recorded and the default
    /// stands in, so reading can go on to the settings that depend on it.
    fn get<T>(&mut self, setting: &Setting<T>) -> T {
        self.optional(setting).unwrap_or_else(|| {
            let Value(default) = setting.about.default else {
                panic!("{} has no default value", setting.about.name)
            };
            (setting.parse)(default)
                .unwrap_or_else(|e| panic!("default of {} is invalid: {e}", setting.about.name))
        })
    }

    /// Every setting, read in the order of [`SETTINGS`] so that problems are too.
    fn settings(&mut self) -> Settings {
        let listen = self.get(&LISTEN);
        let http = HttpLimits {
            header_timeout: self.get(&HTTP_HEADER_TIMEOUT),
            idle_timeout: self.get(&HTTP_IDLE_TIMEOUT),
            max_connections: self.get(&HTTP_MAX_CONNECTIONS),
        };
        let auth = self.auth(listen);
        let cinder = self.cinder(&auth);
        let data_dir: PathBuf = self.get(&DATA_DIR);
        let database_url = self
            .optional(&DATABASE_URL)
            .unwrap_or_else(|| format!("sqlite://{}", data_dir.join("sanlink.sqlite").display()));
        let amqp_url = self.optional(&AMQP_URL);
        let amqp_prefix = self.get(&AMQP_PREFIX);
        let conductor_hostname = self
            .optional(&CONDUCTOR_HOSTNAME)
            .unwrap_or_else(default_hostname);
        let rpc_timeout = self.get(&RPC_TIMEOUT);
        let node_locked_retry_attempts = self.get(&NODE_LOCKED_RETRY_ATTEMPTS);
        let node_locked_retry_interval = self.get(&NODE_LOCKED_RETRY_INTERVAL);
        let max_limit = self.get(&MAX_LIMIT);
        let public_url = self.optional(&PUBLIC_URL);
        let db_max_connections = self.get(&DB_MAX_CONNECTIONS);
        let conductor_workers = self.get(&CONDUCTOR_WORKERS);
        let heartbeat_interval = self.get(&HEARTBEAT_INTERVAL);
        let heartbeat_timeout = self.get(&HEARTBEAT_TIMEOUT);
        if heartbeat_timeout <= heartbeat_interval {
            let value = format!("{}", heartbeat_timeout.as_secs_f64());
            let reason = "must be longer than SANLINK_HEARTBEAT_INTERVAL";
            self.problem(HEARTBEAT_TIMEOUT.about.name, Some(value), reason);
        }
        let boot_listen = self.get(&BOOT_LISTEN);
        let boot_url = self
            .optional(&BOOT_URL)
            .unwrap_or_else(|| format!("http://{boot_listen}"));
        Settings {
            listen,
            http,
            auth,
            cinder,
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
            ipxe_template: self.optional(&IPXE_TEMPLATE),
            ipxe_boot_template: self.optional(&IPXE_BOOT_TEMPLATE),
            log: self.get(&LOG),
            log_format: self.get(&LOG_FORMAT),
        }
    }

    /// The Keystone settings, which `required_by` needs; a missing URL or password is a
    /// problem, reported with the rest.
    fn keystone_settings(&mut self, required_by: &str) -> crate::keystone::KeystoneSettings {
        let auth_url = self.required(&KEYSTONE_AUTH_URL, required_by);
        let password = self.required(&KEYSTONE_PASSWORD, required_by);
        crate::keystone::KeystoneSettings {
            www_authenticate_uri: self
                .optional(&KEYSTONE_WWW_AUTHENTICATE_URI)
                .unwrap_or_else(|| auth_url.clone()),
            auth_url,
            username: self.get(&KEYSTONE_USERNAME),
            password,
            project_name: self.get(&KEYSTONE_PROJECT_NAME),
            user_domain_name: self.get(&KEYSTONE_USER_DOMAIN_NAME),
            project_domain_name: self.get(&KEYSTONE_PROJECT_DOMAIN_NAME),
            region_name: self.optional(&KEYSTONE_REGION_NAME),
            interface: self.get(&KEYSTONE_INTERFACE),
            token_cache_time: self.get(&KEYSTONE_TOKEN_CACHE_TIME),
            cafile: self.optional(&KEYSTONE_CAFILE),
            timeout: self.get(&KEYSTONE_TIMEOUT),
        }
    }

    /// `SANLINK_AUTH_STRATEGY=keystone`: the Keystone settings and the policy.
    fn keystone_auth(&mut self) -> Auth {
        let keystone = self.keystone_settings("SANLINK_AUTH_STRATEGY=keystone");
        let auth = KeystoneAuth {
            keystone,
            policy_file: self.optional(&POLICY_FILE),
            elevated_service_access: self.get(&RBAC_SERVICE_ROLE_ELEVATED_ACCESS),
            service_project_name: self.get(&RBAC_SERVICE_PROJECT_NAME),
        };
        // The policy is loaded here too, so that its problems are reported with the
        // rest, by check-config as well.
        if let Some(file) = &auth.policy_file
            && let Err(e) = auth.policy()
        {
            let value = Some(file.display().to_string());
            self.problem(POLICY_FILE.about.name, value, e.to_string());
        }
        Auth::Keystone(Box::new(auth))
    }

    fn required(&mut self, setting: &Setting<String>, required_by: &str) -> String {
        self.optional(setting).unwrap_or_else(|| {
            // A value given but invalid is reported already.
            if self.layer(setting.about.name).is_none() {
                let reason = format!("required by {required_by}");
                self.problem(setting.about.name, None, reason);
            }
            String::new()
        })
    }

    /// The Cinder settings, when `SANLINK_CINDER_AUTH_TYPE` is set. `password` uses the
    /// Keystone settings of `keystone` authentication when it is on, else reads them.
    fn cinder(&mut self, auth: &Auth) -> Option<crate::cinder::CinderSettings> {
        use crate::cinder::{CinderAuth, CinderSettings};
        let auth_type = self.optional(&CINDER_AUTH_TYPE);
        let endpoint_override = match auth_type {
            Some(CinderAuthType::None) => {
                Some(self.required(&CINDER_ENDPOINT_OVERRIDE, "SANLINK_CINDER_AUTH_TYPE=none"))
                    .filter(|e| !e.is_empty())
            }
            _ => self.optional(&CINDER_ENDPOINT_OVERRIDE),
        };
        let cinder_auth = match auth_type {
            Some(CinderAuthType::None) => CinderAuth::None,
            Some(CinderAuthType::Password) => CinderAuth::Password(Box::new(match auth {
                Auth::Keystone(k) => k.keystone.clone(),
                _ => self.keystone_settings("SANLINK_CINDER_AUTH_TYPE=password"),
            })),
            None => {
                if let Some(endpoint) = endpoint_override {
                    self.problem(
                        CINDER_ENDPOINT_OVERRIDE.about.name,
                        Some(endpoint),
                        "Cinder is used only with SANLINK_CINDER_AUTH_TYPE set (none or password)",
                    );
                }
                return None;
            }
        };
        Some(CinderSettings {
            auth: cinder_auth,
            endpoint_override,
            timeout: self.get(&CINDER_TIMEOUT),
            retries: self.get(&CINDER_RETRIES),
            action_retries: self.get(&CINDER_ACTION_RETRIES),
            action_retry_interval: self.get(&CINDER_ACTION_RETRY_INTERVAL),
            cafile: self.optional(&CINDER_CAFILE),
        })
    }

    /// The authentication settings. `noauth` on an address other than loopback would
    /// open the API to whoever reaches it, so it needs `SANLINK_NOAUTH_ALLOW_REMOTE=true`.
    fn auth(&mut self, listen: SocketAddr) -> Auth {
        let strategy = self.get(&AUTH_STRATEGY);
        let user_file = self.optional(&HTTP_BASIC_AUTH_USER_FILE);
        let allow_remote = self.get(&NOAUTH_ALLOW_REMOTE);
        match (strategy, user_file) {
            (AuthStrategy::HttpBasic, Some(user_file)) => Auth::HttpBasic { user_file },
            (AuthStrategy::HttpBasic, None) => {
                // A file given but unreadable is reported already.
                if self.layer(HTTP_BASIC_AUTH_USER_FILE.about.name).is_none() {
                    let reason = "required by SANLINK_AUTH_STRATEGY=http_basic";
                    self.problem(HTTP_BASIC_AUTH_USER_FILE.about.name, None, reason);
                }
                Auth::NoAuth
            }
            (AuthStrategy::Keystone, _) => self.keystone_auth(),
            (AuthStrategy::NoAuth, _) => {
                if !listen.ip().is_loopback() && !allow_remote {
                    self.problem(
                        AUTH_STRATEGY.about.name,
                        Some("noauth".into()),
                        format!(
                            "noauth serves the API to anyone who reaches {listen}; use http_basic, listen on loopback, or set SANLINK_NOAUTH_ALLOW_REMOTE=true"
                        ),
                    );
                }
                Auth::NoAuth
            }
        }
    }
}

/// A file's value as text, as if it came from the environment; none for tables and
/// arrays.
fn scalar(value: &Given) -> Option<String> {
    match value {
        Given::String(_, s) => Some(s.clone()),
        Given::Char(_, c) => Some(c.to_string()),
        Given::Bool(_, b) => Some(b.to_string()),
        Given::Num(_, n) => n
            .to_i128()
            .map(|i| i.to_string())
            .or_else(|| n.to_f64().map(|f| f.to_string())),
        Given::Empty(..) | Given::Dict(..) | Given::Array(..) => None,
    }
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
        let key = s.key();
        let default = match s.default {
            Value(v) => format!("`{v}`"),
            Derived(d) | Unset(d) => d.to_string(),
        };
        let mut meaning: Vec<&str> = s.meaning.iter().map(|line| line.trim()).collect();
        let secret;
        if let Some(file) = s.file_variable() {
            secret = format!("(secret: also `{file}` / `{key}_file`)");
            meaning.push(&secret);
        }
        let meaning = meaning.join(" ");
        out.push_str(&format!(
            "| `{}` | `{key}` | {default} | {meaning} |\n",
            s.name
        ));
    }
    out
}

fn text(v: &str) -> Result<String, String> {
    Ok(v.to_string())
}

fn path(v: &str) -> Result<PathBuf, String> {
    Ok(PathBuf::from(v))
}

/// A base URL, without the trailing slash that links are joined with.
fn base_url(v: &str) -> Result<String, String> {
    Ok(v.trim_end_matches('/').to_string())
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

/// A whole number above 0 that fits the setting's type.
fn positive<T: TryFrom<u64>>(v: &str) -> Result<T, String> {
    match v.parse::<u64>() {
        Ok(n) if n > 0 => T::try_from(n).map_err(|_| format!("{n} is too large")),
        _ => Err("expected a whole number above 0".into()),
    }
}

/// A whole number, 0 included.
fn count(v: &str) -> Result<u32, String> {
    v.parse::<u32>()
        .map_err(|_| "expected a whole number (0 or more)".into())
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

fn auth_strategy(v: &str) -> Result<AuthStrategy, String> {
    match v {
        "noauth" => Ok(AuthStrategy::NoAuth),
        "http_basic" => Ok(AuthStrategy::HttpBasic),
        "keystone" => Ok(AuthStrategy::Keystone),
        _ => Err("expected noauth, http_basic or keystone".into()),
    }
}

/// An htpasswd file that reads and holds only bcrypt hashes.
fn user_file(v: &str) -> Result<PathBuf, String> {
    let path = PathBuf::from(v);
    crate::htpasswd::UserFile::read(&path).map(|_| path)
}

/// A database URL of a backend this binary was built with.
fn database_url(url: &str) -> Result<String, String> {
    crate::db::Backend::from_url(url).map(|_| url.to_string())
}

/// Keystone's identity v3 API: a URL, `/v3` added when it is not there.
fn identity_url(v: &str) -> Result<String, String> {
    if !(v.starts_with("http://") || v.starts_with("https://")) {
        return Err("expected an http:// or https:// URL".into());
    }
    let base = v.trim_end_matches('/');
    Ok(if base.ends_with("/v3") {
        base.to_string()
    } else {
        format!("{base}/v3")
    })
}

/// An http:// or https:// URL, without its trailing slash.
fn http_url(v: &str) -> Result<String, String> {
    if !(v.starts_with("http://") || v.starts_with("https://")) {
        return Err("expected an http:// or https:// URL".into());
    }
    Ok(v.trim_end_matches('/').to_string())
}

fn cinder_auth_type(v: &str) -> Result<CinderAuthType, String> {
    match v {
        "none" => Ok(CinderAuthType::None),
        "password" => Ok(CinderAuthType::Password),
        _ => Err("expected none or password".into()),
    }
}

/// A PEM file that reads and holds at least one certificate.
fn ca_file(v: &str) -> Result<PathBuf, String> {
    let path = PathBuf::from(v);
    let pem = std::fs::read(&path).map_err(|e| format!("cannot read the file: {e}"))?;
    match reqwest::Certificate::from_pem_bundle(&pem) {
        Ok(certs) if !certs.is_empty() => Ok(path),
        Ok(_) => Err("the file holds no certificate".into()),
        Err(e) => Err(format!("the file holds no certificate: {e}")),
    }
}

fn interface(v: &str) -> Result<String, String> {
    match v {
        "public" | "internal" | "admin" => Ok(v.to_string()),
        _ => Err("expected public, internal or admin".into()),
    }
}

fn amqp_url(url: &str) -> Result<String, String> {
    if url.starts_with("amqp://") || url.starts_with("amqps://") {
        Ok(url.to_string())
    } else {
        Err("expected an amqp:// or amqps:// URL".into())
    }
}

fn log_filter(v: &str) -> Result<String, String> {
    tracing_subscriber::EnvFilter::try_new(v)
        .map(|_| v.to_string())
        .map_err(|e| format!("not a log filter ({e})"))
}

fn log_format(v: &str) -> Result<LogFormat, String> {
    match v {
        "text" => Ok(LogFormat::Text),
        "json" => Ok(LogFormat::Json),
        _ => Err("expected text or json".into()),
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
    use std::path::PathBuf;

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
        let e = with(&[("SANLINK_AUTH_STRATEGY", "kerberos")]).unwrap_err();
        assert_eq!(names(&e), ["SANLINK_AUTH_STRATEGY"]);
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn keystone_needs_its_url_and_password_and_defaults_the_rest() {
        let e = with(&[("SANLINK_AUTH_STRATEGY", "keystone")]).unwrap_err();
        assert_eq!(
            names(&e),
            ["SANLINK_KEYSTONE_AUTH_URL", "SANLINK_KEYSTONE_PASSWORD"]
        );
        let s = with(&[
            ("SANLINK_AUTH_STRATEGY", "keystone"),
            ("SANLINK_KEYSTONE_AUTH_URL", "http://keystone:5000/"),
            ("SANLINK_KEYSTONE_PASSWORD", "secret"),
            ("SANLINK_LISTEN", "0.0.0.0:6385"),
        ])
        .unwrap();
        let Auth::Keystone(auth) = s.auth else {
            panic!("not keystone: {:?}", s.auth)
        };
        assert_eq!(auth.keystone.auth_url, "http://keystone:5000/v3");
        assert_eq!(
            auth.keystone.www_authenticate_uri,
            "http://keystone:5000/v3"
        );
        assert_eq!(auth.keystone.username, "ironic");
        assert_eq!(auth.keystone.project_name, "service");
        assert_eq!(auth.keystone.token_cache_time, Duration::from_secs(300));
        assert!(!auth.elevated_service_access);
        assert_eq!(auth.service_project_name, "service");
        let e = with(&[
            ("SANLINK_AUTH_STRATEGY", "keystone"),
            ("SANLINK_KEYSTONE_AUTH_URL", "keystone:5000"),
            ("SANLINK_KEYSTONE_PASSWORD", "secret"),
            ("SANLINK_KEYSTONE_INTERFACE", "private"),
        ])
        .unwrap_err();
        assert_eq!(
            names(&e),
            ["SANLINK_KEYSTONE_AUTH_URL", "SANLINK_KEYSTONE_INTERFACE"]
        );
    }

    #[test]
    fn cinder_is_configured_only_with_an_auth_type() {
        assert_eq!(with(&[]).unwrap().cinder, None);
        // An endpoint alone does nothing: say so.
        let e = with(&[("SANLINK_CINDER_ENDPOINT_OVERRIDE", "http://c:8776/v3/p")]).unwrap_err();
        assert_eq!(names(&e), ["SANLINK_CINDER_ENDPOINT_OVERRIDE"]);
        // `none` needs its endpoint.
        let e = with(&[("SANLINK_CINDER_AUTH_TYPE", "none")]).unwrap_err();
        assert_eq!(names(&e), ["SANLINK_CINDER_ENDPOINT_OVERRIDE"]);
        assert!(
            e.to_string().contains("SANLINK_CINDER_AUTH_TYPE=none"),
            "{e}"
        );
        let s = with(&[
            ("SANLINK_CINDER_AUTH_TYPE", "none"),
            (
                "SANLINK_CINDER_ENDPOINT_OVERRIDE",
                "http://127.0.0.1:8776/v3/abc/",
            ),
        ])
        .unwrap();
        let cinder = s.cinder.unwrap();
        assert_eq!(cinder.auth, crate::cinder::CinderAuth::None);
        assert_eq!(
            cinder.endpoint_override.as_deref(),
            Some("http://127.0.0.1:8776/v3/abc")
        );
        assert_eq!(cinder.timeout, Duration::from_secs(30));
        assert_eq!(cinder.retries, 3);
        assert_eq!(cinder.action_retries, 3);
        assert_eq!(cinder.action_retry_interval, Duration::from_secs(5));
        let e = with(&[
            ("SANLINK_CINDER_AUTH_TYPE", "token"),
            ("SANLINK_CINDER_ENDPOINT_OVERRIDE", "cinder:8776"),
            ("SANLINK_CINDER_ACTION_RETRIES", "-1"),
            ("SANLINK_CINDER_CAFILE", "/no/such/ca.pem"),
        ])
        .unwrap_err();
        assert_eq!(
            names(&e),
            [
                "SANLINK_CINDER_AUTH_TYPE",
                "SANLINK_CINDER_ENDPOINT_OVERRIDE"
            ]
        );
        let e = with(&[
            ("SANLINK_CINDER_AUTH_TYPE", "none"),
            ("SANLINK_CINDER_ENDPOINT_OVERRIDE", "http://c/v3"),
            ("SANLINK_CINDER_ACTION_RETRIES", "-1"),
            ("SANLINK_CINDER_CAFILE", "/no/such/ca.pem"),
        ])
        .unwrap_err();
        assert_eq!(
            names(&e),
            ["SANLINK_CINDER_ACTION_RETRIES", "SANLINK_CINDER_CAFILE"]
        );
    }

    #[test]
    fn cinder_with_a_password_uses_sanlinks_keystone_user() {
        // Without keystone authentication, the Keystone settings are required by Cinder.
        let e = with(&[("SANLINK_CINDER_AUTH_TYPE", "password")]).unwrap_err();
        assert_eq!(
            names(&e),
            ["SANLINK_KEYSTONE_AUTH_URL", "SANLINK_KEYSTONE_PASSWORD"]
        );
        assert!(
            e.to_string()
                .contains("required by SANLINK_CINDER_AUTH_TYPE=password"),
            "{e}"
        );
        let s = with(&[
            ("SANLINK_CINDER_AUTH_TYPE", "password"),
            ("SANLINK_KEYSTONE_AUTH_URL", "http://keystone:5000"),
            ("SANLINK_KEYSTONE_PASSWORD", "secret"),
        ])
        .unwrap();
        assert_eq!(s.auth, Auth::NoAuth);
        let cinder = s.cinder.unwrap();
        let crate::cinder::CinderAuth::Password(keystone) = &cinder.auth else {
            panic!("{:?}", cinder.auth)
        };
        assert_eq!(keystone.auth_url, "http://keystone:5000/v3");
        assert_eq!(cinder.endpoint_override, None);
        assert!(!format!("{cinder:?}").contains("secret"));
        // With keystone authentication, the same settings serve both.
        let s = with(&[
            ("SANLINK_AUTH_STRATEGY", "keystone"),
            ("SANLINK_CINDER_AUTH_TYPE", "password"),
            ("SANLINK_KEYSTONE_AUTH_URL", "http://keystone:5000"),
            ("SANLINK_KEYSTONE_PASSWORD", "secret"),
        ])
        .unwrap();
        assert!(matches!(
            s.cinder.unwrap().auth,
            crate::cinder::CinderAuth::Password(_)
        ));
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

    /// A secret's value and its file cannot both be given; a default value would be.
    #[test]
    fn secrets_have_no_default_value() {
        for s in SETTINGS.iter().filter(|s| s.secrecy == Secrecy::Secret) {
            assert!(!matches!(s.default, Value(_)), "{}", s.name);
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
