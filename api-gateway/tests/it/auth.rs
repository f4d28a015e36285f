//! HTTP basic authentication (`SANLINK_AUTH_STRATEGY=http_basic`): what needs
//! credentials, what Ironic's clients get without them, and that a user file edited
//! while the service runs takes effect.

use crate::support;

use std::path::PathBuf;

use serde_json::json;
use support::TestApp;

/// An htpasswd file in a directory of its own, removed on drop.
struct UserFile {
    dir: PathBuf,
    path: PathBuf,
}

impl UserFile {
    fn new(users: &[(&str, &str)]) -> UserFile {
        let dir = std::env::temp_dir().join(format!("sanlink-auth-{}", uuid::Uuid::new_v4()));
        std::fs::create_dir_all(&dir).unwrap();
        let file = UserFile {
            path: dir.join("htpasswd"),
            dir,
        };
        file.write(users);
        file
    }

    fn write(&self, users: &[(&str, &str)]) {
        let lines: Vec<String> = users
            .iter()
            .map(|(u, p)| format!("{u}:{}\n", bcrypt::hash(p, 4).unwrap()))
            .collect();
        std::fs::write(&self.path, lines.concat()).unwrap();
    }
}

impl Drop for UserFile {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

async fn start(users: &UserFile) -> TestApp {
    TestApp::start_with(&[
        ("SANLINK_AUTH_STRATEGY", "http_basic"),
        (
            "SANLINK_HTTP_BASIC_AUTH_USER_FILE",
            users.path.to_str().unwrap(),
        ),
    ])
    .await
}

fn basic(user: &str, password: &str) -> String {
    use base64::Engine;
    let token = base64::engine::general_purpose::STANDARD.encode(format!("{user}:{password}"));
    format!("Basic {token}")
}

/// Asserts Ironic's basic-auth refusal: status, realm and `{"error": {...}}` body.
#[track_caller]
fn assert_refused(reply: &support::Reply, status: u16, message: &str) {
    assert_eq!(reply.status, status, "{}", reply.text);
    if status == 401 {
        assert_eq!(
            reply.header("www-authenticate"),
            Some("Basic realm=\"Baremetal API\"")
        );
    }
    assert_eq!(
        reply.json(),
        json!({"error": {"message": message, "code": status}})
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_endpoint_but_discovery_and_probes_needs_credentials() {
    let users = UserFile::new(&[("admin", "Adm1n-pw")]);
    let app = start(&users).await;
    for path in ["/", "/v1", "/v1/openapi.json", "/healthz", "/readyz"] {
        let reply = app.get(path).await;
        assert!(
            reply.status == 200 || (path == "/readyz" && reply.status == 503),
            "{path}: {}",
            reply.status
        );
    }
    let node = app.node(|_| {}).await;
    let closed = [
        ("GET", "/v1/nodes".to_string()),
        ("GET", format!("/v1/nodes/{}", node.uuid)),
        ("GET", "/v1/volume/connectors".to_string()),
        ("POST", "/v1/volume/connectors".to_string()),
        ("GET", "/v1/volume".to_string()),
        ("GET", "/v1/ports".to_string()),
        ("DELETE", format!("/v1/nodes/{}", node.uuid)),
        ("GET", "/metrics".to_string()),
        ("GET", "/v1/no/such/path".to_string()),
        ("POST", "/v1".to_string()),
    ];
    for (method, path) in &closed {
        let reply = app.request(method, path).send().await;
        assert_refused(&reply, 401, "Authorization required");
    }
    // The refused DELETE deleted nothing.
    let ok = basic("admin", "Adm1n-pw");
    app.request("GET", &format!("/v1/nodes/{}", node.uuid))
        .header("Authorization", &ok)
        .send()
        .await
        .expect(200);
    app.request("GET", "/metrics")
        .header("Authorization", &ok)
        .send()
        .await
        .expect(200);
    let created = app
        .request("POST", "/v1/volume/connectors")
        .header("Authorization", &ok)
        .json(&json!({"node_uuid": node.uuid, "type": "iqn", "connector_id": "iqn.auth"}))
        .send()
        .await;
    created.expect(201);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn wrong_or_malformed_credentials_are_refused_as_ironic_does() {
    let users = UserFile::new(&[("admin", "Adm1n-pw")]);
    let app = start(&users).await;
    let get = |auth: String| {
        app.request("GET", "/v1/nodes")
            .header("Authorization", &auth)
            .send()
    };
    for auth in [
        basic("admin", "wrong"),
        basic("nobody", "Adm1n-pw"),
        basic("admin", ""),
    ] {
        assert_refused(&get(auth).await, 401, "Incorrect username or password");
    }
    assert_refused(
        &get("Bearer abc".into()).await,
        400,
        "Unsupported authorization type \"Bearer\"",
    );
    assert_refused(
        &get("Basic not-base64!".into()).await,
        400,
        "Could not decode authorization token",
    );
    get(basic("admin", "Adm1n-pw")).await.expect(200);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_user_file_is_read_again_on_each_request() {
    let users = UserFile::new(&[("admin", "first")]);
    let app = start(&users).await;
    let get = |auth: String| {
        app.request("GET", "/v1/nodes")
            .header("Authorization", &auth)
            .send()
    };
    get(basic("admin", "first")).await.expect(200);
    users.write(&[("admin", "second"), ("operator", "third")]);
    get(basic("admin", "first")).await.expect(401);
    get(basic("admin", "second")).await.expect(200);
    get(basic("operator", "third")).await.expect(200);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_malformed_line_added_at_run_time_refuses_only_its_user() {
    let users = UserFile::new(&[("admin", "Adm1n-pw"), ("operator", "0p-pw")]);
    let app = start(&users).await;
    let get = |auth: String| {
        app.request("GET", "/v1/nodes")
            .header("Authorization", &auth)
            .send()
    };
    get(basic("admin", "Adm1n-pw")).await.expect(200);
    // An MD5 line (`htpasswd -m`) slipped in while the service runs.
    let mut text = std::fs::read_to_string(&users.path).unwrap();
    text = text.replace("operator:", "operator:$apr1$abc$def\nold-operator:");
    text.push_str("intruder:plain-text\n");
    std::fs::write(&users.path, text).unwrap();
    get(basic("admin", "Adm1n-pw")).await.expect(200);
    assert_refused(
        &get(basic("operator", "0p-pw")).await,
        401,
        "Incorrect username or password",
    );
    assert_refused(
        &get(basic("intruder", "plain-text")).await,
        401,
        "Incorrect username or password",
    );
}

/// A refusal is sent once the request's body has been read: answering while the client
/// still sends, then closing, resets the connection and the client never sees the 401.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_refused_request_with_a_body_still_gets_its_answer() {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};

    let users = UserFile::new(&[("admin", "Adm1n-pw")]);
    let app = start(&users).await;
    let body = format!("{{\"extra\": {{\"pad\": \"{}\"}}}}", "x".repeat(256 * 1024));
    let head = format!(
        "POST /v1/chassis HTTP/1.1\r\nHost: {}\r\nContent-Type: application/json\r\n\
         Connection: close\r\nContent-Length: {}\r\n\r\n",
        app.addr(),
        body.len()
    );
    let mut stream = tokio::net::TcpStream::connect(app.addr()).await.unwrap();
    stream.write_all(head.as_bytes()).await.unwrap();
    // The body arrives in pieces, after the server could have answered.
    for piece in body.as_bytes().chunks(64 * 1024) {
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
        stream.write_all(piece).await.unwrap();
    }
    let mut answer = Vec::new();
    stream
        .read_to_end(&mut answer)
        .await
        .expect("the connection was reset instead of answered");
    let answer = String::from_utf8_lossy(&answer);
    assert!(answer.starts_with("HTTP/1.1 401"), "{answer}");
    assert!(answer.contains("Authorization required"), "{answer}");
}

/// A refused request whose body stops arriving is answered once the header timeout has
/// passed, as a read body would be, instead of holding its connection.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_refused_request_whose_body_stalls_is_answered_in_time() {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};

    let users = UserFile::new(&[("admin", "Adm1n-pw")]);
    let app = TestApp::start_with(&[
        ("SANLINK_AUTH_STRATEGY", "http_basic"),
        (
            "SANLINK_HTTP_BASIC_AUTH_USER_FILE",
            users.path.to_str().unwrap(),
        ),
        ("SANLINK_HTTP_HEADER_TIMEOUT", "1"),
    ])
    .await;
    let head = format!(
        "POST /v1/chassis HTTP/1.1\r\nHost: {}\r\nConnection: close\r\n\
         Content-Length: 1000\r\n\r\n{{\"extra\":",
        app.addr()
    );
    let mut stream = tokio::net::TcpStream::connect(app.addr()).await.unwrap();
    stream.write_all(head.as_bytes()).await.unwrap();
    let started = std::time::Instant::now();
    let mut answer = Vec::new();
    tokio::time::timeout(
        std::time::Duration::from_secs(5),
        stream.read_to_end(&mut answer),
    )
    .await
    .expect("the refusal waited for a body that never came")
    .unwrap();
    let answer = String::from_utf8_lossy(&answer);
    assert!(answer.starts_with("HTTP/1.1 401"), "{answer}");
    assert!(started.elapsed() >= std::time::Duration::from_millis(900));
}
