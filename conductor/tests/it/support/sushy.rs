//! A real Redfish BMC for tests: `sushy-emulator` from sushy-tools with its fake
//! systems driver, started on a free loopback port and stopped when dropped.
//!
//! The binary is `SUSHY_EMULATOR` if set, else `.venv/bin/sushy-emulator` in the
//! repository (`scripts/test.sh` installs it there from tests/clients/requirements.txt).
//! A missing emulator fails the test: Redfish support is not tested otherwise.

// The conductor's and the gateway's tests both compile this file, each using part of it.
#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// The fake driver's one system (sushy-tools' `DEFAULT_UUID`, named `fake`).
pub const SYSTEM_ID: &str = "/redfish/v1/Systems/27946b59-9e44-4fa7-8e91-f3527a1ef094";

pub struct Emulator {
    child: Child,
    dir: PathBuf,
    /// `http://127.0.0.1:<port>` (`https://` for [`Emulator::start_https`]).
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

/// Writes a self-signed certificate for 127.0.0.1 and its key into `dir`, made with
/// the `cryptography` package of the emulator's Python.
fn self_signed(emulator: &Path, dir: &Path) -> (PathBuf, PathBuf) {
    const SCRIPT: &str = r#"
import datetime, ipaddress, sys
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID
key = ec.generate_private_key(ec.SECP256R1())
name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "bmc")])
now = datetime.datetime.now(datetime.timezone.utc)
cert = (x509.CertificateBuilder().subject_name(name).issuer_name(name)
        .public_key(key.public_key()).serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(days=1))
        .not_valid_after(now + datetime.timedelta(days=1))
        .add_extension(x509.SubjectAlternativeName(
            [x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]), critical=False)
        .sign(key, hashes.SHA256()))
open(sys.argv[1], "wb").write(cert.public_bytes(serialization.Encoding.PEM))
open(sys.argv[2], "wb").write(key.private_bytes(serialization.Encoding.PEM,
    serialization.PrivateFormat.PKCS8, serialization.NoEncryption()))
"#;
    let (cert, key) = (dir.join("bmc.crt"), dir.join("bmc.key"));
    let python = emulator.with_file_name("python");
    let out = Command::new(&python)
        .arg("-c")
        .arg(SCRIPT)
        .arg(&cert)
        .arg(&key)
        .output()
        .unwrap_or_else(|e| panic!("run {}: {e}", python.display()));
    assert!(
        out.status.success(),
        "certificate: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    (cert, key)
}

impl Emulator {
    /// An emulator open to anyone.
    pub async fn start() -> Emulator {
        Emulator::launch(None, false).await
    }

    /// An emulator that accepts only `user` with `password` (HTTP basic auth).
    pub async fn start_with_credentials(user: &str, password: &str) -> Emulator {
        Emulator::launch(Some((user, password)), false).await
    }

    /// An emulator serving HTTPS with a self-signed certificate, as many BMCs do.
    pub async fn start_https() -> Emulator {
        Emulator::launch(None, true).await
    }

    async fn launch(credentials: Option<(&str, &str)>, https: bool) -> Emulator {
        let emulator = binary();
        let port = free_port();
        let dir = std::env::temp_dir().join(format!("sushy-{}-{port}", std::process::id()));
        std::fs::create_dir_all(&dir).expect("emulator directory");
        let mut config = format!(
            "SUSHY_EMULATOR_FAKE_DRIVER = True\nSUSHY_EMULATOR_LISTEN_IP = '127.0.0.1'\nSUSHY_EMULATOR_LISTEN_PORT = {port}\n\
             SUSHY_EMULATOR_STATE_DIR = '{}'\n",
            // The fake driver keeps its systems in a SQLite file; a directory of each
            // emulator's own keeps parallel tests and earlier runs from sharing a system.
            dir.join("state").display()
        );
        if let Some((user, password)) = credentials {
            let auth = dir.join("htpasswd");
            std::fs::write(&auth, htpasswd_line(&emulator, user, password)).expect("htpasswd");
            config.push_str(&format!(
                "SUSHY_EMULATOR_AUTH_FILE = '{}'\n",
                auth.display()
            ));
        }
        if https {
            let (cert, key) = self_signed(&emulator, &dir);
            config.push_str(&format!(
                "SUSHY_EMULATOR_SSL_CERT = '{}'\nSUSHY_EMULATOR_SSL_KEY = '{}'\n",
                cert.display(),
                key.display()
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
        let scheme = if https { "https" } else { "http" };
        let mut running = Emulator {
            child,
            dir,
            url: format!("{scheme}://127.0.0.1:{port}"),
        };
        running.wait_until_serving().await;
        running
    }

    /// Waits for the first HTTP answer (any status: the root may want credentials).
    async fn wait_until_serving(&mut self) {
        let client = insecure_client();
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
        let mut request = insecure_client().get(format!("{}{SYSTEM_ID}", self.url));
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

/// A client for the tests' own look at the emulator, which may be self-signed.
fn insecure_client() -> reqwest::Client {
    common::tls::install_provider();
    reqwest::Client::builder()
        .tls_danger_accept_invalid_certs(true)
        .build()
        .expect("HTTP client")
}

impl Drop for Emulator {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}
