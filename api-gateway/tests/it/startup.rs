//! Start-up readiness: `sanlink serving` and `api-gateway serving` are logged only once
//! the API port is bound, so a client that waits for the line is never refused, and a
//! process that cannot bind never claims to serve.

use std::io::{BufRead, BufReader};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::time::Duration;

/// A binary of this package, started with `env` on a data directory of its own; its
/// standard error comes line by line through the receiver.
struct Service {
    child: Child,
    lines: mpsc::Receiver<String>,
    dir: PathBuf,
}

impl Service {
    fn start(binary: &str, env: &[(&str, String)]) -> Service {
        let dir = std::env::temp_dir().join(format!("sanlink-startup-{}", uuid::Uuid::new_v4()));
        std::fs::create_dir_all(&dir).unwrap();
        let mut command = Command::new(binary);
        command
            .env_clear()
            .env("SANLINK_DATA_DIR", &dir)
            .env("SANLINK_BOOT_LISTEN", "127.0.0.1:0")
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::piped());
        for (name, value) in env {
            command.env(name, value);
        }
        let mut child = command.spawn().expect("the binary starts");
        let stderr = child.stderr.take().unwrap();
        let (send, lines) = mpsc::channel();
        std::thread::spawn(move || {
            for line in BufReader::new(stderr).lines().map_while(Result::ok) {
                let _ = send.send(line);
            }
        });
        Service { child, lines, dir }
    }

    /// Lines until one contains `text` (true) or the process closes its standard error
    /// (false); panics after a minute.
    fn wait_for(&self, text: &str, seen: &mut Vec<String>) -> bool {
        loop {
            match self.lines.recv_timeout(Duration::from_secs(60)) {
                Ok(line) => {
                    let found = line.contains(text);
                    seen.push(line);
                    if found {
                        return true;
                    }
                }
                Err(mpsc::RecvTimeoutError::Disconnected) => return false,
                Err(mpsc::RecvTimeoutError::Timeout) => panic!("no {text:?} in {seen:#?}"),
            }
        }
    }
}

impl Drop for Service {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

fn free_addr() -> SocketAddr {
    TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
}

fn gateway_env(listen: SocketAddr) -> Vec<(&'static str, String)> {
    let amqp = std::env::var("TEST_AMQP_URL")
        .unwrap_or_else(|_| "amqp://guest:guest@127.0.0.1:5672/%2f".into());
    vec![
        ("SANLINK_LISTEN", listen.to_string()),
        ("SANLINK_AMQP_URL", amqp),
        (
            "SANLINK_AMQP_PREFIX",
            format!("sanlink-startup-{}", uuid::Uuid::new_v4().simple()),
        ),
    ]
}

#[test]
fn the_api_accepts_connections_once_serving_is_logged() {
    for (binary, line) in [
        (env!("CARGO_BIN_EXE_sanlink"), "sanlink serving"),
        (env!("CARGO_BIN_EXE_api-gateway"), "api-gateway serving"),
    ] {
        let listen = free_addr();
        let service = Service::start(binary, &gateway_env(listen));
        let mut seen = Vec::new();
        assert!(
            service.wait_for(line, &mut seen),
            "{binary} exited: {seen:#?}"
        );
        TcpStream::connect(listen).unwrap_or_else(|e| panic!("{binary} logged {line:?}: {e}"));
    }
}

#[test]
fn a_process_that_cannot_bind_never_logs_that_it_serves() {
    for (binary, line) in [
        (env!("CARGO_BIN_EXE_sanlink"), "sanlink serving"),
        (env!("CARGO_BIN_EXE_api-gateway"), "api-gateway serving"),
    ] {
        let taken = TcpListener::bind("127.0.0.1:0").unwrap();
        let mut service = Service::start(binary, &gateway_env(taken.local_addr().unwrap()));
        let mut seen = Vec::new();
        assert!(
            !service.wait_for(line, &mut seen),
            "{binary} logged {line:?} on a port it could not bind: {seen:#?}"
        );
        let status = service.child.wait().unwrap();
        assert!(!status.success(), "{binary} exited with {status}");
        assert!(
            seen.iter().any(|l| l.contains("SANLINK_LISTEN")),
            "{binary} did not name the setting: {seen:#?}"
        );
    }
}
