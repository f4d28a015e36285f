//! A client of Cinder's block-storage API v3, for what the `cinder` storage interface
//! asks of it (Ironic's `ironic/common/cinder.py`): read a volume, and the volume
//! actions that attach it to a node and detach it again (`os-reserve`,
//! `os-initialize_connection`, `os-attach`, `os-begin_detaching`,
//! `os-terminate_connection`, `os-detach`, `os-unreserve`), and the volume metadata
//! that tells Cinder's users which node holds a volume.
//!
//! Cinder is reached either standalone (`SANLINK_CINDER_AUTH_TYPE=none`, the endpoint
//! given as is) or through Keystone with sanlink's own service user (`password`, the
//! endpoint from the catalog unless overridden).

use std::path::PathBuf;
use std::time::{Duration, Instant};

use reqwest::{Method, StatusCode};
use serde::Deserialize;
use serde_json::{Value, json};

use crate::keystone::{Keystone, KeystoneSettings};
use crate::model::JsonObject;

/// How sanlink reaches Cinder (Ironic's `[cinder]` section). Its `Debug` form hides the
/// Keystone password.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CinderSettings {
    pub auth: CinderAuth,
    /// The block-storage endpoint used as is instead of the catalog's
    /// (`http://cinder:8776/v3/<project_id>`); required without Keystone.
    pub endpoint_override: Option<String>,
    /// Seconds one HTTP request may take.
    pub timeout: Duration,
    /// How often a request that may be repeated safely is retried after a connection
    /// failure or a 5xx answer.
    pub retries: u32,
    /// How often a failed detach is retried, and how long apart (Ironic's
    /// `action_retries`, `action_retry_interval`).
    pub action_retries: u32,
    pub action_retry_interval: Duration,
    /// PEM file of the authorities Cinder's https certificate is checked against.
    pub cafile: Option<PathBuf>,
}

/// How requests to Cinder authenticate.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum CinderAuth {
    /// A standalone Cinder (`auth_strategy = noauth`). Its noauth middleware needs an
    /// `X-Auth-Token: <user>:<project_id>` header (without one it answers every request
    /// 204 with a made-up token), so requests carry `sanlink:<project_id>`, the project
    /// taken from the endpoint's `/v3/<project_id>`.
    None,
    /// sanlink's Keystone service user, whose token each request carries.
    Password(Box<KeystoneSettings>),
}

/// The user name a noauth Cinder is told about; any name does.
const NOAUTH_USER: &str = "sanlink";
/// The project of a noauth request whose endpoint names none (Cinder's own default).
const NOAUTH_DEFAULT_PROJECT: &str = "admin";
/// The catalog service types of Cinder's v3 API, the newer name first.
const SERVICE_TYPES: [&str; 2] = ["block-storage", "volumev3"];

/// Why a call to Cinder failed.
#[derive(Clone, Debug, thiserror::Error, PartialEq, Eq)]
pub enum CinderError {
    /// No endpoint or token could be had: Cinder was not even asked.
    #[error("{0}")]
    Unavailable(String),
    /// Cinder could not be reached, or refused the request.
    #[error("{0}")]
    Request(String),
}

/// A volume, the parts sanlink reads.
#[derive(Clone, Debug, Default, Deserialize, PartialEq, Eq)]
pub struct Volume {
    pub id: String,
    #[serde(default)]
    pub status: String,
    #[serde(default)]
    pub attachments: Vec<Attachment>,
    #[serde(default)]
    pub multiattach: bool,
}

/// One attachment of a volume: to which server (for sanlink, a node's instance or the
/// node itself) and its id.
#[derive(Clone, Debug, Default, Deserialize, PartialEq, Eq)]
pub struct Attachment {
    #[serde(default)]
    pub server_id: Option<String>,
    #[serde(default)]
    pub attachment_id: Option<String>,
}

impl Volume {
    /// The attachment to any of `servers` (Ironic: the node's instance or the node).
    pub fn attachment_to(&self, servers: &[&str]) -> Option<&Attachment> {
        self.attachments
            .iter()
            .find(|a| a.server_id.as_deref().is_some_and(|s| servers.contains(&s)))
    }
}

/// What `os-initialize_connection` answers: how the node reaches the volume.
#[derive(Clone, Debug, Default, Deserialize, PartialEq)]
pub struct ConnectionInfo {
    #[serde(default)]
    pub driver_volume_type: String,
    #[serde(default)]
    pub data: JsonObject,
}

/// Where requests go and what they carry, worked out per call.
struct Session {
    endpoint: String,
    token: String,
}

pub struct Cinder {
    settings: CinderSettings,
    http: reqwest::Client,
    keystone: Option<Keystone>,
}

impl Cinder {
    pub fn new(settings: CinderSettings) -> Result<Cinder, String> {
        let http =
            crate::tls::service_client("Cinder", settings.timeout, settings.cafile.as_deref())?;
        let keystone = match &settings.auth {
            CinderAuth::None => None,
            CinderAuth::Password(keystone) => Some(Keystone::new((**keystone).clone())?),
        };
        Ok(Cinder {
            settings,
            http,
            keystone,
        })
    }

    pub fn settings(&self) -> &CinderSettings {
        &self.settings
    }

    /// The endpoint and the token of the next request; with `renew`, a new token
    /// (Cinder refused the last one).
    async fn session(&self, renew: bool) -> Result<Session, CinderError> {
        let Some(keystone) = &self.keystone else {
            let endpoint = self.settings.endpoint_override.clone().ok_or_else(|| {
                CinderError::Unavailable("no Cinder endpoint is configured".into())
            })?;
            let project = project_in_endpoint(&endpoint).unwrap_or(NOAUTH_DEFAULT_PROJECT);
            let token = format!("{NOAUTH_USER}:{project}");
            let endpoint = endpoint.trim_end_matches('/').to_string();
            return Ok(Session { endpoint, token });
        };
        let unavailable =
            |e: crate::keystone::KeystoneError| CinderError::Unavailable(e.to_string());
        let own = keystone.service_token(renew).await.map_err(unavailable)?;
        let endpoint = match &self.settings.endpoint_override {
            Some(endpoint) => endpoint.clone(),
            None => {
                let mut found = Err(CinderError::Unavailable(String::new()));
                for service_type in SERVICE_TYPES {
                    found = keystone.endpoint(service_type).await.map_err(unavailable);
                    if found.is_ok() {
                        break;
                    }
                }
                // Newer Cinder takes requests without the project in the URL, and
                // refuses a service token with one (Ironic strips it too).
                strip_project(&found?, own.project_id.as_deref())
            }
        };
        Ok(Session {
            endpoint: endpoint.trim_end_matches('/').to_string(),
            token: own.token,
        })
    }

    /// Sends one request and returns the answer's JSON body (null when empty).
    ///
    /// A request that never reached Cinder (the connection failed) is retried up to
    /// `retries` times whatever it is. Timeouts and 5xx answers are retried only for
    /// `idempotent` requests: the volume actions change the volume's state (a reserve
    /// Cinder did but whose answer was lost would be refused the second time, and a
    /// second `os-attach` or `os-terminate_connection` would act twice), so they fail
    /// and the storage interface's own abort and retry logic decides what happens.
    async fn call(
        &self,
        operation: &'static str,
        method: Method,
        path: &str,
        body: Option<Value>,
        idempotent: bool,
    ) -> Result<Value, CinderError> {
        let mut attempt = 0;
        let mut renewed = false;
        loop {
            let session = self.session(renewed).await?;
            let url = format!("{}{path}", session.endpoint);
            let mut request = self
                .http
                .request(method.clone(), &url)
                .header("Accept", "application/json")
                .header("X-Auth-Token", &session.token);
            if let Some(body) = &body {
                request = request.json(body);
            }
            let start = Instant::now();
            let sent = request.send().await;
            let elapsed = start.elapsed();
            let (retry, message) = match sent {
                Err(e) => {
                    record_call(operation, elapsed, Some("unreachable"));
                    let retry = e.is_connect() || (idempotent && e.is_timeout());
                    let shown = crate::config::redact_url(&session.endpoint);
                    (
                        retry,
                        format!("cannot reach Cinder at {shown}: {}", cause(&e)),
                    )
                }
                Ok(response) => {
                    let status = response.status();
                    if status.is_success() {
                        record_call(operation, elapsed, None);
                        let text = response.text().await.unwrap_or_default();
                        if text.trim().is_empty() {
                            return Ok(Value::Null);
                        }
                        return serde_json::from_str(&text).map_err(|e| {
                            CinderError::Request(format!("Cinder's answer is unreadable: {e}"))
                        });
                    }
                    let auth = status == StatusCode::UNAUTHORIZED;
                    record_call(
                        operation,
                        elapsed,
                        Some(if auth { "auth" } else { "status" }),
                    );
                    // sanlink's own token went stale (revoked, keys rotated): renew once.
                    if auth && self.keystone.is_some() && !renewed {
                        renewed = true;
                        continue;
                    }
                    let text = response.text().await.unwrap_or_default();
                    let retry = idempotent && status.is_server_error();
                    (retry, status_message(status, &text))
                }
            };
            if !retry || attempt >= self.settings.retries {
                return Err(CinderError::Request(message));
            }
            attempt += 1;
            tracing::warn!(operation, attempt, error = %message, "Cinder request failed; retrying");
            tokio::time::sleep(backoff(attempt)).await;
        }
    }

    async fn action(
        &self,
        operation: &'static str,
        volume_id: &str,
        body: Value,
    ) -> Result<Value, CinderError> {
        let path = format!("/volumes/{}/action", segment(volume_id));
        self.call(operation, Method::POST, &path, Some(body), false)
            .await
    }

    /// `GET /volumes/{id}`.
    pub async fn get_volume(&self, volume_id: &str) -> Result<Volume, CinderError> {
        #[derive(Deserialize)]
        struct Shown {
            volume: Volume,
        }
        let path = format!("/volumes/{}", segment(volume_id));
        let body = self
            .call("get_volume", Method::GET, &path, None, true)
            .await?;
        serde_json::from_value::<Shown>(body)
            .map(|s| s.volume)
            .map_err(|e| CinderError::Request(format!("Cinder's volume is unreadable: {e}")))
    }

    pub async fn reserve(&self, volume_id: &str) -> Result<(), CinderError> {
        self.action("reserve", volume_id, json!({"os-reserve": null}))
            .await
            .map(drop)
    }

    pub async fn unreserve(&self, volume_id: &str) -> Result<(), CinderError> {
        self.action("unreserve", volume_id, json!({"os-unreserve": null}))
            .await
            .map(drop)
    }

    /// Hands Cinder the node's connector; the answer says how to reach the volume.
    pub async fn initialize_connection(
        &self,
        volume_id: &str,
        connector: &JsonObject,
    ) -> Result<ConnectionInfo, CinderError> {
        #[derive(Deserialize)]
        struct Answer {
            connection_info: ConnectionInfo,
        }
        let body = json!({"os-initialize_connection": {"connector": connector}});
        let answer = self
            .action("initialize_connection", volume_id, body)
            .await?;
        serde_json::from_value::<Answer>(answer)
            .map(|a| a.connection_info)
            .map_err(|e| {
                CinderError::Request(format!("Cinder's connection info is unreadable: {e}"))
            })
    }

    pub async fn attach(
        &self,
        volume_id: &str,
        mountpoint: &str,
        instance_uuid: &str,
    ) -> Result<(), CinderError> {
        let body = json!({"os-attach": {"mountpoint": mountpoint, "instance_uuid": instance_uuid}});
        self.action("attach", volume_id, body).await.map(drop)
    }

    pub async fn begin_detaching(&self, volume_id: &str) -> Result<(), CinderError> {
        self.action(
            "begin_detaching",
            volume_id,
            json!({"os-begin_detaching": null}),
        )
        .await
        .map(drop)
    }

    pub async fn terminate_connection(
        &self,
        volume_id: &str,
        connector: &JsonObject,
    ) -> Result<(), CinderError> {
        let body = json!({"os-terminate_connection": {"connector": connector}});
        self.action("terminate_connection", volume_id, body)
            .await
            .map(drop)
    }

    pub async fn detach(
        &self,
        volume_id: &str,
        attachment_id: Option<&str>,
    ) -> Result<(), CinderError> {
        let body = json!({"os-detach": {"attachment_id": attachment_id}});
        self.action("detach", volume_id, body).await.map(drop)
    }

    /// Sets (adds or replaces) metadata keys of a volume; setting the same keys again
    /// gives the same result, so this one is retried like a read.
    pub async fn set_metadata(
        &self,
        volume_id: &str,
        metadata: &JsonObject,
    ) -> Result<(), CinderError> {
        let path = format!("/volumes/{}/metadata", segment(volume_id));
        let body = json!({ "metadata": metadata });
        self.call("set_metadata", Method::POST, &path, Some(body), true)
            .await
            .map(drop)
    }
}

/// The project id of an endpoint such as `http://cinder:8776/v3/<project_id>`: the path
/// segment after the API version, if any.
pub fn project_in_endpoint(endpoint: &str) -> Option<&str> {
    let path = endpoint.split_once("://").map_or(endpoint, |(_, rest)| {
        rest.split_once('/').map_or("", |(_, p)| p)
    });
    let mut segments = path.split('/').filter(|s| !s.is_empty());
    segments.find(|s| is_api_version(s))?;
    segments.next()
}

fn is_api_version(segment: &str) -> bool {
    segment
        .strip_prefix('v')
        .is_some_and(|n| !n.is_empty() && n.bytes().all(|b| b.is_ascii_digit() || b == b'.'))
}

/// The endpoint without the `/<project_id>` segment a catalog URL may carry.
pub fn strip_project(endpoint: &str, project_id: Option<&str>) -> String {
    let endpoint = endpoint.trim_end_matches('/');
    let Some(project) = project_id.filter(|p| !p.is_empty()) else {
        return endpoint.to_string();
    };
    let segment = format!("/{project}");
    let mut out = String::with_capacity(endpoint.len());
    let mut rest = endpoint;
    while let Some(at) = rest.find(&segment) {
        let after = &rest[at + segment.len()..];
        let whole = after.is_empty() || after.starts_with('/');
        out.push_str(&rest[..at]);
        if !whole {
            out.push_str(&segment);
        }
        rest = after;
    }
    out.push_str(rest);
    out
}

/// What Cinder said went wrong: the `message` of its error document
/// (`{"itemNotFound": {"message": "...", "code": 404}}`), else the body itself.
pub fn status_message(status: StatusCode, body: &str) -> String {
    let message = serde_json::from_str::<Value>(body).ok().and_then(|doc| {
        let fault = doc.as_object()?.values().next()?.clone();
        fault.get("message")?.as_str().map(str::to_string)
    });
    let message = message.unwrap_or_else(|| {
        let text = body.trim();
        if text.is_empty() {
            status
                .canonical_reason()
                .unwrap_or("no reason given")
                .to_string()
        } else {
            text.chars().take(300).collect()
        }
    });
    format!("{message} (HTTP {})", status.as_u16())
}

/// A volume id as one URL path segment.
fn segment(id: &str) -> String {
    id.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'.' | b'_' | b'~' => {
                (b as char).to_string()
            }
            _ => format!("%{b:02X}"),
        })
        .collect()
}

/// 0.5 s, 1 s, 2 s, ... at most 5 s between retries.
fn backoff(attempt: u32) -> Duration {
    let ms = 500u64.saturating_mul(1 << attempt.saturating_sub(1).min(4));
    Duration::from_millis(ms.min(5000))
}

/// What went wrong on the wire: the innermost cause (refused, no route, TLS).
fn cause(e: &reqwest::Error) -> String {
    if e.is_timeout() {
        return "the request timed out".into();
    }
    let mut source: &dyn std::error::Error = e;
    while let Some(inner) = source.source() {
        source = inner;
    }
    source.to_string()
}

/// Times a Cinder call and counts it as an error of `kind` when it failed.
fn record_call(operation: &'static str, elapsed: Duration, kind: Option<&'static str>) {
    use crate::metrics::{CINDER_DURATION, CINDER_ERRORS};
    let outcome = if kind.is_some() { "error" } else { "ok" };
    metrics::histogram!(CINDER_DURATION, "operation" => operation, "outcome" => outcome)
        .record(elapsed.as_secs_f64());
    if let Some(kind) = kind {
        metrics::counter!(CINDER_ERRORS, "operation" => operation, "kind" => kind).increment(1);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_project_is_the_segment_after_the_api_version() {
        let p = project_in_endpoint;
        assert_eq!(p("http://127.0.0.1:8776/v3/abc123"), Some("abc123"));
        assert_eq!(p("http://127.0.0.1:8776/v3/abc123/"), Some("abc123"));
        assert_eq!(p("https://h/volume/v3/p-1"), Some("p-1"));
        assert_eq!(p("http://127.0.0.1:8776/v3"), None);
        assert_eq!(p("http://127.0.0.1:8776/v3/"), None);
        assert_eq!(p("http://127.0.0.1:8776/"), None);
        assert_eq!(p("http://v3host:8776"), None);
    }

    #[test]
    fn the_project_is_stripped_from_catalog_urls() {
        let s = strip_project;
        assert_eq!(s("http://c:8776/v3/p1", Some("p1")), "http://c:8776/v3");
        assert_eq!(s("http://c:8776/v3/p1/", Some("p1")), "http://c:8776/v3");
        assert_eq!(s("http://c:8776/v3", Some("p1")), "http://c:8776/v3");
        // Only a whole segment is the project.
        assert_eq!(
            s("http://c:8776/v3/p12", Some("p1")),
            "http://c:8776/v3/p12"
        );
        assert_eq!(s("http://c:8776/v3/p1", None), "http://c:8776/v3/p1");
        assert_eq!(s("http://c:8776/v3/p1", Some("")), "http://c:8776/v3/p1");
    }

    #[test]
    fn error_messages_come_from_cinders_fault_documents() {
        let body = r#"{"itemNotFound": {"message": "Volume v1 could not be found.", "code": 404}}"#;
        assert_eq!(
            status_message(StatusCode::NOT_FOUND, body),
            "Volume v1 could not be found. (HTTP 404)"
        );
        let body = r#"{"badRequest": {"code": 400, "message": "Invalid volume: Volume status must be available to reserve, but the status is in-use."}}"#;
        assert_eq!(
            status_message(StatusCode::BAD_REQUEST, body),
            "Invalid volume: Volume status must be available to reserve, but the status is in-use. (HTTP 400)"
        );
        assert_eq!(
            status_message(StatusCode::BAD_GATEWAY, "proxy down"),
            "proxy down (HTTP 502)"
        );
        assert_eq!(
            status_message(StatusCode::SERVICE_UNAVAILABLE, ""),
            "Service Unavailable (HTTP 503)"
        );
        assert_eq!(
            status_message(StatusCode::FORBIDDEN, r#"{"forbidden": {"code": 403}}"#),
            r#"{"forbidden": {"code": 403}} (HTTP 403)"#
        );
    }

    #[test]
    fn a_volume_names_its_attachments() {
        let volume: Volume = serde_json::from_value(json!({
            "id": "v1", "status": "in-use", "multiattach": false,
            "attachments": [
                {"server_id": "inst-1", "attachment_id": "a1", "attached_at": "x"},
                {"server_id": null},
            ],
            "size": 1,
        }))
        .unwrap();
        let found = volume.attachment_to(&["node-1", "inst-1"]).unwrap();
        assert_eq!(found.attachment_id.as_deref(), Some("a1"));
        assert!(volume.attachment_to(&["node-2"]).is_none());
    }

    #[test]
    fn volume_ids_are_one_path_segment() {
        assert_eq!(segment("0b9c-AF_1.x~"), "0b9c-AF_1.x~");
        assert_eq!(segment("../x y"), "..%2Fx%20y");
    }

    #[test]
    fn retries_back_off_up_to_five_seconds() {
        assert_eq!(backoff(1), Duration::from_millis(500));
        assert_eq!(backoff(2), Duration::from_secs(1));
        assert_eq!(backoff(10), Duration::from_secs(5));
    }

    #[tokio::test]
    async fn without_keystone_the_endpoint_is_used_as_is_with_a_noauth_token() {
        let settings = CinderSettings {
            auth: CinderAuth::None,
            endpoint_override: Some("http://127.0.0.1:8776/v3/0123abcd".into()),
            timeout: Duration::from_secs(5),
            retries: 0,
            action_retries: 3,
            action_retry_interval: Duration::from_secs(5),
            cafile: None,
        };
        let cinder = Cinder::new(settings).unwrap();
        let session = cinder.session(false).await.unwrap();
        assert_eq!(session.endpoint, "http://127.0.0.1:8776/v3/0123abcd");
        assert_eq!(session.token, "sanlink:0123abcd");
    }
}
