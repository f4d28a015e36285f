//! A real Redfish BMC for tests: `sushy-emulator` from sushy-tools with its fake
//! systems driver, started on a free loopback port and stopped when dropped.
//!
//! The binary is `SUSHY_EMULATOR` if set, else `.venv/bin/sushy-emulator` in the
//! repository (`scripts/test.sh` installs it there from tests/clients/requirements.txt).
//! A missing emulator fails the test: Redfish support is not tested otherwise.

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// The fake driver's one system (sushy-tools' `DEFAULT_UUID`, named `fake`).
pub const SYSTEM_ID: &str = "/redfish/v1/Systems/27946b59-9e44-4fa7-8e91-f3527a1ef094";

pub struct Emulator {
    child: Child,
    dir: PathBuf,
    /// `http://127.0.0.1:<port>`.
    pub url: String,
}

fn binary() -> PathBuf {
    let path = match std::env::var_os("SUSHY_EMULATOR") {
        Some(p) if !p.is_empty() => PathBuf::from(p),
        _ => Path::new(env!("CARGO_MANIFEST_DIR")).join("../.venv/bin/sushy-emulator"),
    };
    assert!(
        path.is_file(),
        "sushy-emulator not found at {}: install it with `python3 -m venv .venv && \
         .venv/bin/pip install -r tests/clients/requirements.txt` (or run scripts/test.sh), \
         or set SUSHY_EMULATOR to its path",
        path.display()
    );
    path
}

fn free_port() -> u16 {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind a free port");
    listener.local_addr().expect("local addr").port()
}

/// A htpasswd line for `user`, with the bcrypt digest sushy-tools requires, made by
/// the emulator's own Python (bcrypt is one of its dependencies).
fn htpasswd_line(emulator: &Path, user: &str, password: &str) -> String {
    let python = emulator.with_file_name("python");
    let out = Command::new(&python)
        .args([
            "-c",
            "import bcrypt, sys; print(bcrypt.hashpw(sys.argv[1].encode(), bcrypt.gensalt(4)).decode())",
            password,
        ])
        .output()
        .unwrap_or_else(|e| panic!("run {}: {e}", python.display()));
    assert!(
        out.status.success(),
        "bcrypt: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    format!("{user}:{}", String::from_utf8_lossy(&out.stdout).trim())
}

impl Emulator {
    /// An emulator open to anyone.
    pub async fn start() -> Emulator {
        Emulator::launch(None).await
    }

    /// An emulator that accepts only `user` with `password` (HTTP basic auth).
    pub async fn start_with_credentials(user: &str, password: &str) -> Emulator {
        Emulator::launch(Some((user, password))).await
    }

    async fn launch(credentials: Option<(&str, &str)>) -> Emulator {
        let emulator = binary();
        let port = free_port();
        let dir = std::env::temp_dir().join(format!("sushy-{}-{port}", std::process::id()));
        std::fs::create_dir_all(&dir).expect("emulator directory");
        let mut config = format!(
            "SUSHY_EMULATOR_FAKE_DRIVER = True\nSUSHY_EMULATOR_LISTEN_IP = '127.0.0.1'\nSUSHY_EMULATOR_LISTEN_PORT = {port}\n"
        );
        if let Some((user, password)) = credentials {
            let auth = dir.join("htpasswd");
            std::fs::write(&auth, htpasswd_line(&emulator, user, password)).expect("htpasswd");
            config.push_str(&format!(
                "SUSHY_EMULATOR_AUTH_FILE = '{}'\n",
                auth.display()
            ));
        }
        let config_path = dir.join("emulator.conf");
        std::fs::write(&config_path, config).expect("emulator config");
        let log = std::fs::File::create(dir.join("emulator.log")).expect("emulator log");
        let child = Command::new(&emulator)
            .arg("--config")
            .arg(&config_path)
            .stdin(Stdio::null())
            .stdout(log.try_clone().expect("log handle"))
            .stderr(log)
            .spawn()
            .unwrap_or_else(|e| panic!("start {}: {e}", emulator.display()));
        let mut running = Emulator {
            child,
            dir,
            url: format!("http://127.0.0.1:{port}"),
        };
        running.wait_until_serving().await;
        running
    }

    /// Waits for the first HTTP answer (any status: the root may want credentials).
    async fn wait_until_serving(&mut self) {
        let client = reqwest::Client::new();
        let deadline = Instant::now() + Duration::from_secs(60);
        loop {
            if let Ok(Some(status)) = self.child.try_wait() {
                panic!("sushy-emulator exited ({status}): {}", self.log());
            }
            if client
                .get(format!("{}/redfish/v1/", self.url))
                .send()
                .await
                .is_ok()
            {
                return;
            }
            assert!(
                Instant::now() < deadline,
                "sushy-emulator never answered: {}",
                self.log()
            );
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
    }

    pub fn log(&self) -> String {
        std::fs::read_to_string(self.dir.join("emulator.log")).unwrap_or_default()
    }

    /// The emulator's System resource, read with `credentials` when it needs them.
    pub async fn system(&self, credentials: Option<(&str, &str)>) -> serde_json::Value {
        let mut request = reqwest::Client::new().get(format!("{}{SYSTEM_ID}", self.url));
        if let Some((user, password)) = credentials {
            request = request.basic_auth(user, Some(password));
        }
        let response = request.send().await.expect("read the system");
        assert!(
            response.status().is_success(),
            "GET system: {}",
            response.status()
        );
        response.json().await.expect("system JSON")
    }
}

impl Drop for Emulator {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}
