//! HTTP basic authentication (`SANLINK_AUTH_STRATEGY=http_basic`), answering as Ironic's
//! basic-auth middleware does: 401 with `WWW-Authenticate: Basic realm="Baremetal API"`
//! and an `{"error": {"message", "code"}}` body.
//!
//! bcrypt is slow on purpose (about 100 ms at cost 10), so:
//!
//! * credentials verified once are remembered, as a keyed hash of user and password
//!   (never the password), in a bounded cache that is dropped whenever the user file
//!   changes; a remembered request costs a file read and a hash;
//! * an unknown user costs one bcrypt verification like a wrong password, so the time
//!   of a refusal does not tell whether the user exists;
//! * verifications run on the blocking pool, a few at a time, so that a flood of
//!   guesses queues behind itself while remembered users and the rest of the API are
//!   served.

use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use base64::Engine;
use hmac::{Hmac, Mac};
use sha2::Sha256;
use tokio::sync::Semaphore;

use common::htpasswd::{Entry, UserFile};
use common::rpc::Caller;

const REALM: &str = "Basic realm=\"Baremetal API\"";

/// Credentials remembered at most; past it the least recently used are forgotten.
const CACHE_SIZE: usize = 1024;

/// A bcrypt hash (cost 10) of a password nobody has, verified against when the file
/// holds no hash to stand in for an unknown user.
const STAND_IN_HASH: &str = "$2b$10$QIAHr4OwSLeIrjS9VeYXTuN5YAuvXdnDT8kXo3K3Xrv7U16OSU43K";

/// Keyed SHA-256 of a user name and password: what the cache keeps.
type Digest = [u8; 32];

/// Verifies credentials against the htpasswd file, read again on every request so
/// that users can be added, changed or removed without a restart.
pub struct Authenticator {
    user_file: PathBuf,
    /// Random per process, so that a cache dump cannot be checked against guesses.
    key: [u8; 32],
    loaded: Mutex<Loaded>,
    /// bcrypt verifications that may run at once.
    bcrypt_slots: Semaphore,
    verifications: AtomicU64,
}

/// The user file as last read, and the credentials verified against it.
#[derive(Default)]
struct Loaded {
    text: Vec<u8>,
    file: Option<Arc<UserFile>>,
    /// Bumped on every change of the file, so that a verification that started before
    /// a change does not fill the cache of the new file.
    generation: u64,
    /// Verified credentials, with the tick of their last use.
    cache: HashMap<Digest, u64>,
    tick: u64,
}

impl Authenticator {
    /// The caller a request's `Authorization` header names, or the refusal to send.
    pub async fn caller(&self, headers: &HeaderMap) -> Result<Arc<Caller>, Response> {
        let (user, password) =
            credentials(headers.get(header::AUTHORIZATION)).map_err(IntoResponse::into_response)?;
        let refusal = match self.authenticate(&user, &password).await {
            Ok(true) => {
                tracing::debug!(user, "authenticated");
                return Ok(Arc::new(Caller::named(user)));
            }
            Ok(false) => {
                tracing::info!("HTTP basic authentication failed: wrong user name or password");
                Refusal::unauthorized("Incorrect username or password")
            }
            Err(e) => {
                tracing::error!(error = %e, "cannot check credentials");
                Refusal::new(
                    StatusCode::INTERNAL_SERVER_ERROR,
                    "Problem reading auth user file",
                )
            }
        };
        Err(refusal.into_response())
    }

    pub fn new(user_file: PathBuf) -> Authenticator {
        let mut key = [0u8; 32];
        getrandom::fill(&mut key).expect("the operating system provides random bytes");
        // Leave a core to the runtime: guesses must not take every CPU.
        let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
        Authenticator {
            user_file,
            key,
            loaded: Mutex::new(Loaded::default()),
            bcrypt_slots: Semaphore::new(cores.saturating_sub(1).max(1)),
            verifications: AtomicU64::new(0),
        }
    }

    /// How many bcrypt verifications this authenticator ran.
    pub fn verifications(&self) -> u64 {
        self.verifications.load(Ordering::Relaxed)
    }

    /// Whether `password` is `user`'s; an error when the user file cannot be read.
    pub async fn authenticate(&self, user: &str, password: &[u8]) -> Result<bool, String> {
        // A small file in the page cache reads in microseconds: no need for a thread.
        let text = std::fs::read(&self.user_file).map_err(|e| {
            format!(
                "cannot read the user file {}: {e}",
                self.user_file.display()
            )
        })?;
        let digest = self.digest(user, password);
        let (file, generation) = {
            let mut loaded = self.lock();
            if loaded.text != text {
                loaded.reload(text);
            }
            if loaded.remembers(&digest) {
                return Ok(true);
            }
            (loaded.file.clone().unwrap_or_default(), loaded.generation)
        };
        let (hash, known) = match file.entry(user) {
            Some(Entry::Bcrypt(hash)) => (hash.clone(), true),
            Some(Entry::Malformed(why)) => {
                tracing::error!(
                    user,
                    "the user file's line for this user is unusable: {why}"
                );
                (stand_in(&file), false)
            }
            None => (stand_in(&file), false),
        };
        // An unknown user pays the same verification as a wrong password.
        let matches = self.verify(password.to_vec(), hash).await? && known;
        if matches {
            let mut loaded = self.lock();
            if loaded.generation == generation {
                loaded.remember(digest);
            }
        }
        Ok(matches)
    }

    async fn verify(&self, password: Vec<u8>, hash: String) -> Result<bool, String> {
        let _slot = self
            .bcrypt_slots
            .acquire()
            .await
            .map_err(|e| e.to_string())?;
        self.verifications.fetch_add(1, Ordering::Relaxed);
        tokio::task::spawn_blocking(move || bcrypt::verify(password, &hash).unwrap_or(false))
            .await
            .map_err(|e| format!("password check failed: {e}"))
    }

    fn digest(&self, user: &str, password: &[u8]) -> Digest {
        let mut mac = Hmac::<Sha256>::new_from_slice(&self.key).expect("any key length");
        // The user's length first: "ab"+"c" and "a"+"bc" must differ.
        mac.update(&(user.len() as u64).to_be_bytes());
        mac.update(user.as_bytes());
        mac.update(password);
        mac.finalize().into_bytes().into()
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Loaded> {
        // Nothing panics while holding it; should it, the cache is still sound.
        self.loaded.lock().unwrap_or_else(|e| e.into_inner())
    }
}

/// A hash of the same cost as the users' to verify an unknown user's password
/// against: the file's first one (the result is thrown away), else a constant.
fn stand_in(file: &UserFile) -> String {
    file.hashes().next().unwrap_or(STAND_IN_HASH).to_string()
}

impl Loaded {
    fn reload(&mut self, text: Vec<u8>) {
        let file = UserFile::parse(&String::from_utf8_lossy(&text));
        for problem in file.problems() {
            tracing::error!("user file: {problem}; that user is refused");
        }
        self.file = Some(Arc::new(file));
        self.text = text;
        self.generation += 1;
        self.cache.clear();
    }

    fn remembers(&mut self, digest: &Digest) -> bool {
        self.tick += 1;
        match self.cache.get_mut(digest) {
            Some(used) => {
                *used = self.tick;
                true
            }
            None => false,
        }
    }

    fn remember(&mut self, digest: Digest) {
        if self.cache.len() >= CACHE_SIZE {
            let oldest = self.cache.iter().min_by_key(|(_, used)| **used);
            if let Some(oldest) = oldest.map(|(d, _)| *d) {
                self.cache.remove(&oldest);
            }
        }
        self.tick += 1;
        self.cache.insert(digest, self.tick);
    }
}

/// User name and password of a `Basic` Authorization header.
fn credentials(value: Option<&HeaderValue>) -> Result<(String, Vec<u8>), Refusal> {
    let value = value.ok_or_else(|| Refusal::unauthorized("Authorization required"))?;
    let text = value
        .to_str()
        .map_err(|_| Refusal::bad_request("Could not parse Authorization header"))?;
    let (scheme, token) = text
        .trim()
        .split_once(char::is_whitespace)
        .ok_or_else(|| Refusal::bad_request("Could not parse Authorization header"))?;
    if !scheme.eq_ignore_ascii_case("basic") {
        return Err(Refusal::bad_request(format!(
            "Unsupported authorization type \"{scheme}\""
        )));
    }
    let decoded = base64::engine::general_purpose::STANDARD
        .decode(token.trim())
        .map_err(|_| Refusal::bad_request("Could not decode authorization token"))?;
    let colon = decoded
        .iter()
        .position(|&b| b == b':')
        .ok_or_else(|| Refusal::bad_request("Could not decode authorization token"))?;
    let user = String::from_utf8(decoded[..colon].to_vec())
        .map_err(|_| Refusal::bad_request("Could not decode authorization token"))?;
    Ok((user, decoded[colon + 1..].to_vec()))
}

/// An authentication failure in the body Ironic's middleware sends.
#[derive(Debug)]
struct Refusal {
    status: StatusCode,
    message: String,
}

impl Refusal {
    fn new(status: StatusCode, message: impl Into<String>) -> Refusal {
        Refusal {
            status,
            message: message.into(),
        }
    }

    fn unauthorized(message: &str) -> Refusal {
        Refusal::new(StatusCode::UNAUTHORIZED, message)
    }

    fn bad_request(message: impl Into<String>) -> Refusal {
        Refusal::new(StatusCode::BAD_REQUEST, message)
    }
}

impl IntoResponse for Refusal {
    fn into_response(self) -> Response {
        let body = serde_json::json!({
            "error": {"message": self.message, "code": self.status.as_u16()}
        });
        let mut response = (self.status, crate::wire::Json(body)).into_response();
        if self.status == StatusCode::UNAUTHORIZED {
            response
                .headers_mut()
                .insert(header::WWW_AUTHENTICATE, HeaderValue::from_static(REALM));
        }
        response
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn header(v: &str) -> HeaderValue {
        HeaderValue::from_str(v).unwrap()
    }

    #[test]
    fn basic_credentials_are_decoded_and_bad_headers_refused() {
        // "admin:pa:ss" — the password may hold colons.
        let (user, password) = credentials(Some(&header("Basic YWRtaW46cGE6c3M="))).unwrap();
        assert_eq!(
            (user.as_str(), password.as_slice()),
            ("admin", &b"pa:ss"[..])
        );
        assert_eq!(
            credentials(None).err().unwrap().status,
            StatusCode::UNAUTHORIZED
        );
        for bad in ["Bearer abc", "Basic", "Basic !!!", "Basic YWRtaW4="] {
            let refusal = credentials(Some(&header(bad))).err().unwrap();
            assert_eq!(refusal.status, StatusCode::BAD_REQUEST, "{bad}");
        }
    }

    /// A user file in a directory of its own, with `Authenticator` on it.
    struct Users {
        dir: PathBuf,
        path: PathBuf,
    }

    impl Users {
        fn new(lines: &str) -> Users {
            let dir = std::env::temp_dir().join(format!("sanlink-auth-{}", uuid::Uuid::new_v4()));
            std::fs::create_dir_all(&dir).unwrap();
            let users = Users {
                path: dir.join("htpasswd"),
                dir,
            };
            users.write(lines);
            users
        }

        fn write(&self, lines: &str) {
            std::fs::write(&self.path, lines).unwrap();
        }
    }

    impl Drop for Users {
        fn drop(&mut self) {
            let _ = std::fs::remove_dir_all(&self.dir);
        }
    }

    fn line(user: &str, password: &str) -> String {
        format!("{user}:{}\n", bcrypt::hash(password, 4).unwrap())
    }

    #[tokio::test]
    async fn verified_credentials_are_remembered_until_the_file_changes() {
        let users = Users::new(&line("admin", "first"));
        let auth = Authenticator::new(users.path.clone());
        assert_eq!(auth.authenticate("admin", b"first").await, Ok(true));
        assert_eq!(auth.verifications(), 1);
        for _ in 0..5 {
            assert_eq!(auth.authenticate("admin", b"first").await, Ok(true));
        }
        assert_eq!(
            auth.verifications(),
            1,
            "remembered requests ran bcrypt again"
        );
        // A wrong password is never remembered: each one costs a verification.
        assert_eq!(auth.authenticate("admin", b"guess").await, Ok(false));
        assert_eq!(auth.authenticate("admin", b"guess").await, Ok(false));
        assert_eq!(auth.verifications(), 3);
        users.write(&line("admin", "second"));
        assert_eq!(auth.authenticate("admin", b"first").await, Ok(false));
        assert_eq!(auth.authenticate("admin", b"second").await, Ok(true));
        assert_eq!(auth.verifications(), 5);
    }

    #[tokio::test]
    async fn unknown_users_cost_the_same_verification_as_wrong_passwords() {
        let users = Users::new(&line("admin", "pw"));
        let auth = Authenticator::new(users.path.clone());
        assert_eq!(auth.authenticate("nobody", b"pw").await, Ok(false));
        assert_eq!(auth.verifications(), 1);
        assert_eq!(auth.authenticate("admin", b"wrong").await, Ok(false));
        assert_eq!(auth.verifications(), 2);
        // Even the right password of another user does not let an unknown one in.
        assert_eq!(auth.authenticate("nobody", b"pw").await, Ok(false));
        assert_eq!(auth.verifications(), 3);
        // With no usable hash in the file, a stand-in of the usual cost is verified.
        users.write("broken:plain\n");
        assert_eq!(auth.authenticate("broken", b"plain").await, Ok(false));
        assert_eq!(auth.authenticate("nobody", b"pw").await, Ok(false));
        assert_eq!(auth.verifications(), 5);
    }

    #[tokio::test]
    async fn a_malformed_line_refuses_only_its_user() {
        let users = Users::new(&format!("{}broken:$apr1$abc$def\n", line("admin", "pw")));
        let auth = Authenticator::new(users.path.clone());
        assert_eq!(auth.authenticate("broken", b"abc").await, Ok(false));
        assert_eq!(auth.authenticate("admin", b"pw").await, Ok(true));
        users.write("");
        std::fs::remove_file(&users.path).unwrap();
        assert!(auth.authenticate("admin", b"pw").await.is_err());
    }
}
