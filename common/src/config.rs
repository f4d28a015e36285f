//! Settings every sanlink process honours, read from `SANLINK_*` environment variables.
//! A bad value stops start-up with one line naming the setting and the reason.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

#[derive(Clone, Debug)]
pub struct Settings {
    /// `SANLINK_LISTEN`: where the API listens.
    pub listen: SocketAddr,
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
    /// Default `127.0.0.1:8088`; nodes on another host need a reachable address.
    pub boot_listen: SocketAddr,
    /// `SANLINK_BOOT_URL`: the boot server's address as nodes see it (behind NAT or a
    /// proxy it differs from the listen address). Default `http://<SANLINK_BOOT_LISTEN>`.
    pub boot_url: String,
    /// `SANLINK_IPXE_TEMPLATE`: a file replacing the built-in boot-from-volume script
    /// template; `SANLINK_IPXE_BOOT_TEMPLATE` likewise for the generic `boot.ipxe`.
    pub ipxe_template: Option<PathBuf>,
    pub ipxe_boot_template: Option<PathBuf>,
}

/// A setting that could not be read: which one and why.
#[derive(Debug, thiserror::Error)]
#[error("invalid setting {name}={value:?}: {reason}")]
pub struct SettingError {
    pub name: &'static str,
    pub value: String,
    pub reason: String,
}

impl Settings {
    /// Reads the settings from the process environment.
    pub fn from_env() -> Result<Settings, SettingError> {
        Settings::from_lookup(|name| std::env::var(name).ok())
    }

    /// Reads the settings from the environment over a TOML file. The file's keys are the
    /// variables' names without `SANLINK_`, in lower case (`database_url = "..."`); an
    /// environment variable wins over the file.
    pub fn from_env_and_file(path: Option<&std::path::Path>) -> Result<Settings, String> {
        let file = match path {
            Some(p) => read_file(p)?,
            None => Vec::new(),
        };
        Settings::from_lookup(|name| {
            std::env::var(name)
                .ok()
                .or_else(|| file.iter().find(|(k, _)| k == name).map(|(_, v)| v.clone()))
        })
        .map_err(|e| e.to_string())
    }

    /// The names of every setting, as environment variables.
    /// Found by reading the defaults, so the list cannot drift from the code.
    pub fn names() -> Vec<String> {
        let seen = std::cell::RefCell::new(Vec::new());
        let _ = Settings::from_lookup(|name| {
            seen.borrow_mut().push(name.to_string());
            None
        });
        let mut names = seen.into_inner();
        names.dedup();
        names
    }

    /// Reads the settings through `lookup`, so tests need not touch the environment.
    pub fn from_lookup(lookup: impl Fn(&str) -> Option<String>) -> Result<Settings, SettingError> {
        let get = |name: &'static str| lookup(name).filter(|v| !v.trim().is_empty());
        let listen = parse(&get, "SANLINK_LISTEN", "127.0.0.1:6385", |v| {
            v.parse::<SocketAddr>()
                .map_err(|e| format!("expected host:port ({e})"))
        })?;
        let data_dir = PathBuf::from(get("SANLINK_DATA_DIR").unwrap_or_else(|| "./data".into()));
        let database_url = match get("SANLINK_DATABASE_URL") {
            Some(url) => {
                crate::db::Backend::from_url(&url).map_err(|reason| SettingError {
                    name: "SANLINK_DATABASE_URL",
                    value: redact_url(&url),
                    reason,
                })?;
                url
            }
            None => format!("sqlite://{}", data_dir.join("sanlink.sqlite").display()),
        };
        let amqp_url = match get("SANLINK_AMQP_URL") {
            Some(url) if !(url.starts_with("amqp://") || url.starts_with("amqps://")) => {
                return Err(SettingError {
                    name: "SANLINK_AMQP_URL",
                    value: redact_url(&url),
                    reason: "expected an amqp:// or amqps:// URL".into(),
                });
            }
            other => other,
        };
        let conductor_hostname = get("SANLINK_CONDUCTOR_HOSTNAME").unwrap_or_else(default_hostname);
        let rpc_timeout = parse(&get, "SANLINK_RPC_TIMEOUT", "60", seconds)?;
        let node_locked_retry_attempts =
            parse(&get, "SANLINK_NODE_LOCKED_RETRY_ATTEMPTS", "3", |v| {
                positive(v).map(|n| n as u32)
            })?;
        let node_locked_retry_interval =
            parse(&get, "SANLINK_NODE_LOCKED_RETRY_INTERVAL", "1", seconds)?;
        let max_limit = parse(&get, "SANLINK_MAX_LIMIT", "1000", |v| {
            positive(v).map(|n| n as i64)
        })?;
        let db_max_connections = parse(&get, "SANLINK_DB_MAX_CONNECTIONS", "10", |v| {
            positive(v).map(|n| n as u32)
        })?;
        let amqp_prefix = get("SANLINK_AMQP_PREFIX").unwrap_or_else(|| "sanlink".into());
        let conductor_workers = parse(
            &get,
            "SANLINK_CONDUCTOR_WORKERS",
            "16",
            |v| match positive(v) {
                Ok(n) if n <= u16::MAX as u64 => Ok(n as u16),
                _ => Err("expected a whole number from 1 to 65535".into()),
            },
        )?;
        let heartbeat_interval = parse(&get, "SANLINK_HEARTBEAT_INTERVAL", "10", seconds)?;
        let heartbeat_timeout = parse(&get, "SANLINK_HEARTBEAT_TIMEOUT", "60", seconds)?;
        if heartbeat_timeout <= heartbeat_interval {
            return Err(SettingError {
                name: "SANLINK_HEARTBEAT_TIMEOUT",
                value: format!("{}", heartbeat_timeout.as_secs_f64()),
                reason: "must be longer than SANLINK_HEARTBEAT_INTERVAL".into(),
            });
        }
        let boot_listen = parse(&get, "SANLINK_BOOT_LISTEN", "127.0.0.1:8088", |v| {
            v.parse::<SocketAddr>()
                .map_err(|e| format!("expected host:port ({e})"))
        })?;
        let boot_url = get("SANLINK_BOOT_URL")
            .map(|u| u.trim().trim_end_matches('/').to_string())
            .unwrap_or_else(|| format!("http://{boot_listen}"));
        let ipxe_template = get("SANLINK_IPXE_TEMPLATE").map(PathBuf::from);
        let ipxe_boot_template = get("SANLINK_IPXE_BOOT_TEMPLATE").map(PathBuf::from);
        let public_url = get("SANLINK_PUBLIC_URL").map(|u| u.trim_end_matches('/').to_string());
        Ok(Settings {
            listen,
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
        })
    }
}

/// A settings file as (variable name, value) pairs; unknown keys are errors.
fn read_file(path: &std::path::Path) -> Result<Vec<(String, String)>, String> {
    let where_ = path.display();
    let text = std::fs::read_to_string(path).map_err(|e| format!("config file {where_}: {e}"))?;
    let table: toml::Table = text
        .parse()
        .map_err(|e| format!("config file {where_}: {e}"))?;
    let known = Settings::names();
    let mut pairs = Vec::new();
    for (key, value) in table {
        let name = format!("SANLINK_{}", key.to_ascii_uppercase());
        if !known.contains(&name) {
            return Err(format!("config file {where_}: unknown setting {key:?}"));
        }
        let value = match value {
            toml::Value::String(s) => s,
            toml::Value::Integer(_) | toml::Value::Float(_) | toml::Value::Boolean(_) => {
                value.to_string()
            }
            other => {
                return Err(format!(
                    "config file {where_}: {key} must be a string or a number, not {other}"
                ));
            }
        };
        pairs.push((name, value));
    }
    Ok(pairs)
}

fn parse<T>(
    get: &impl Fn(&'static str) -> Option<String>,
    name: &'static str,
    default: &str,
    convert: impl Fn(&str) -> Result<T, String>,
) -> Result<T, SettingError> {
    let value = get(name).unwrap_or_else(|| default.to_string());
    convert(value.trim()).map_err(|reason| SettingError {
        name,
        value,
        reason,
    })
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

    fn with(pairs: &[(&str, &str)]) -> Result<Settings, SettingError> {
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

    #[test]
    fn defaults_are_the_embedded_mode() {
        let s = with(&[]).unwrap();
        assert_eq!(s.listen.to_string(), "127.0.0.1:6385");
        assert_eq!(s.database_url, "sqlite://./data/sanlink.sqlite");
        assert!(s.amqp_url.is_none());
        assert_eq!(s.node_locked_retry_attempts, 3);
    }

    #[test]
    fn bad_values_name_the_setting() {
        let e = with(&[("SANLINK_LISTEN", "nowhere")]).unwrap_err();
        assert_eq!(e.name, "SANLINK_LISTEN");
        let e = with(&[("SANLINK_DATABASE_URL", "oracle://u:pw@h/db")]).unwrap_err();
        assert_eq!(e.name, "SANLINK_DATABASE_URL");
        assert!(!e.to_string().contains("pw"), "password leaked: {e}");
        let e = with(&[("SANLINK_AMQP_URL", "http://x")]).unwrap_err();
        assert_eq!(e.name, "SANLINK_AMQP_URL");
        let e = with(&[("SANLINK_MAX_LIMIT", "0")]).unwrap_err();
        assert_eq!(e.name, "SANLINK_MAX_LIMIT");
    }

    #[test]
    fn a_file_gives_values_and_the_environment_overrides_them() {
        let dir = std::env::temp_dir().join(format!("sanlink-config-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
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
        std::fs::write(&path, "no_such_setting = 1\n").unwrap();
        let e = Settings::from_env_and_file(Some(&path)).unwrap_err();
        assert!(e.contains("no_such_setting"), "{e}");
        std::fs::write(&path, "max_limit = 0\n").unwrap();
        let e = Settings::from_env_and_file(Some(&path)).unwrap_err();
        assert!(e.contains("SANLINK_MAX_LIMIT"), "{e}");
    }

    #[test]
    fn every_setting_has_a_name() {
        let names = Settings::names();
        assert!(names.iter().any(|n| n == "SANLINK_DATABASE_URL"));
        assert!(names.iter().any(|n| n == "SANLINK_AMQP_URL"));
        assert!(names.len() >= 15, "{names:?}");
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
