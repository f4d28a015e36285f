//! The Keystone pass (`--keystone`): a real Keystone from the test suite's fixture
//! (`tests/keystone/keystone_service.py serve`), the embedded topology started again
//! with `SANLINK_AUTH_STRATEGY=keystone`, and one system-scoped admin token (`s-admin`)
//! sent as `X-Auth-Token` with every request. sanlink validates that token with
//! Keystone once and then answers from its cache, so the pass shows what checking a
//! cached token and Ironic's policy add to each request.

use std::collections::BTreeMap;
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use anyhow::{Context, Result, bail};
use serde_json::json;

use crate::http::{Conn, Endpoint};
use crate::service;

pub const KEY: &str = "embedded_sqlite_keystone";
pub const NAME: &str = "embedded (sanlink, SQLite), Keystone tokens";

/// The user whose token the generator sends: admin on the system (`system: all`).
const USER: &str = "s-admin";

/// A user's password in the fixture (its `password(user)`).
fn password(user: &str) -> String {
    format!("sanlink-{user}")
}

/// A Keystone served by the fixture, stopped when dropped.
pub struct Keystone {
    /// The fixture's process, leader of its own process group (with gunicorn).
    child: Child,
    port: u16,
    pub log: PathBuf,
    /// `USER`'s token.
    pub token: String,
}

impl Keystone {
    /// Sets up a fresh Keystone in `dir` (the fixture makes `.venv-keystone` first if
    /// needed), waits until it serves, and gets `USER`'s token.
    pub async fn start(dir: &Path) -> Result<Keystone> {
        let _ = std::fs::remove_dir_all(dir);
        std::fs::create_dir_all(dir)?;
        let fixture = Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("../tests/keystone/keystone_service.py")
            .canonicalize()
            .context("tests/keystone/keystone_service.py")?;
        let log = dir.join("serve.log");
        let out = std::fs::File::create(&log)?;
        let port = service::free_port()?;
        let child = Command::new("python3")
            .arg(&fixture)
            .arg("serve")
            .arg(dir.join("state"))
            .env("KS_PORT", port.to_string())
            .stdin(Stdio::null())
            .stdout(out.try_clone()?)
            .stderr(out)
            // Its own group, so that stopping it stops gunicorn too.
            .process_group(0)
            .spawn()
            .context("python3 tests/keystone/keystone_service.py serve")?;
        let mut keystone = Keystone {
            child,
            port,
            log,
            token: String::new(),
        };
        keystone.wait_ready().await?;
        keystone.token = keystone.issue(USER).await?;
        Ok(keystone)
    }

    /// Until the fixture says it serves (after `keystone-manage` and the users), which
    /// takes some 10-30 s, or minutes when the venv is installed first.
    async fn wait_ready(&mut self) -> Result<()> {
        let deadline = Instant::now() + Duration::from_secs(600);
        loop {
            let said = std::fs::read_to_string(&self.log).unwrap_or_default();
            if said.contains("Keystone at ") {
                return Ok(());
            }
            if let Some(status) = self.child.try_wait()? {
                bail!("Keystone exited with {status}; see {}", self.log.display());
            }
            if Instant::now() > deadline {
                bail!("Keystone did not start; see {}", self.log.display());
            }
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
    }

    /// A password token of `user`, scoped to the system (`POST /v3/auth/tokens`).
    async fn issue(&self, user: &str) -> Result<String> {
        let body = json!({"auth": {
            "identity": {"methods": ["password"], "password": {"user": {
                "name": user, "domain": {"name": "Default"}, "password": password(user)}}},
            "scope": {"system": {"all": true}},
        }});
        let mut conn = Conn::new(&Endpoint::new(format!("127.0.0.1:{}", self.port)));
        let answer = conn.post("/v3/auth/tokens", &body).await?.ok()?;
        let token = answer
            .headers
            .get("x-subject-token")
            .context("Keystone's answer has no X-Subject-Token")?;
        Ok(token.to_str()?.to_string())
    }

    /// What sanlink needs to validate tokens with this Keystone, as the fixture's
    /// service user `ironic` (role `service` in project `service`).
    pub fn sanlink_env(&self) -> BTreeMap<String, String> {
        [
            ("SANLINK_AUTH_STRATEGY", "keystone".to_string()),
            (
                "SANLINK_KEYSTONE_AUTH_URL",
                format!("http://127.0.0.1:{}/v3", self.port),
            ),
            ("SANLINK_KEYSTONE_USERNAME", "ironic".into()),
            ("SANLINK_KEYSTONE_PASSWORD", password("ironic")),
            ("SANLINK_KEYSTONE_PROJECT_NAME", "service".into()),
        ]
        .into_iter()
        .map(|(k, v)| (k.to_string(), v))
        .collect()
    }
}

impl Drop for Keystone {
    /// SIGTERM to the fixture's process group (the fixture and gunicorn), SIGKILL to
    /// what is left after 20 s.
    fn drop(&mut self) {
        let group = self.child.id() as i32;
        let signal = |sig| {
            // SAFETY: kill only sends a signal, to the process group this process started.
            #[allow(unsafe_code)]
            unsafe {
                libc::kill(-group, sig)
            }
        };
        signal(libc::SIGTERM);
        let _ = self.child.wait();
        let deadline = Instant::now() + Duration::from_secs(20);
        // gunicorn stops gracefully (its workers finish): wait for the group to empty.
        while signal(0) == 0 {
            if Instant::now() > deadline {
                signal(libc::SIGKILL);
                break;
            }
            std::thread::sleep(Duration::from_millis(50));
        }
    }
}
