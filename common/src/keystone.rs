//! A client of Keystone's identity API v3, for what sanlink asks of it: a token of its
//! own service user (password authentication, kept until shortly before it expires),
//! validation of callers' tokens with it as keystonemiddleware does, and the service
//! catalog that came with its own token, where outgoing calls find their endpoints.

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use chrono::{DateTime, Utc};
use reqwest::StatusCode;
use serde::Deserialize;
use serde_json::json;
use tokio::sync::Mutex;

use crate::rpc::Caller;

/// How sanlink reaches Keystone and who it is there (Ironic's `[keystone_authtoken]`).
/// Its `Debug` form shows the password as `******`.
#[derive(Clone, PartialEq, Eq)]
pub struct KeystoneSettings {
    /// The identity API, ending in `/v3`.
    pub auth_url: String,
    /// What a refused caller is told to authenticate at (`WWW-Authenticate`).
    pub www_authenticate_uri: String,
    pub username: String,
    pub password: String,
    pub project_name: String,
    pub user_domain_name: String,
    pub project_domain_name: String,
    pub region_name: Option<String>,
    /// The catalog interface of the endpoints sanlink calls: public, internal or admin.
    pub interface: String,
    /// How long a validated token is trusted without asking Keystone again.
    pub token_cache_time: Duration,
    pub cafile: Option<PathBuf>,
    pub timeout: Duration,
}

impl std::fmt::Debug for KeystoneSettings {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("KeystoneSettings")
            .field("auth_url", &self.auth_url)
            .field("username", &self.username)
            .field("password", &"******")
            .field("project_name", &self.project_name)
            .field("region_name", &self.region_name)
            .field("interface", &self.interface)
            .finish_non_exhaustive()
    }
}

/// Why a token could not be validated.
#[derive(Clone, Debug, thiserror::Error, PartialEq, Eq)]
pub enum KeystoneError {
    /// Keystone does not know the token, or it expired or was revoked.
    #[error("the token is not valid")]
    InvalidToken,
    /// Keystone could not be asked, or refused sanlink's own credentials.
    #[error("the identity service is unavailable: {0}")]
    Unavailable(String),
}

/// A token Keystone vouched for: the caller it stands for and until when.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ValidToken {
    pub caller: Arc<Caller>,
    pub expires_at: DateTime<Utc>,
}

/// The service user's token is renewed this long before it expires, so that a call
/// never carries one that expires on the way.
const RENEW_BEFORE: Duration = Duration::from_secs(120);

pub struct Keystone {
    settings: KeystoneSettings,
    http: reqwest::Client,
    /// The service user's token and catalog; one renewal at a time.
    own: Mutex<Option<OwnToken>>,
}

#[derive(Clone)]
struct OwnToken {
    token: String,
    expires_at: DateTime<Utc>,
    /// The project the token is scoped to (catalog URLs may carry its id).
    project_id: Option<String>,
    catalog: Vec<CatalogEntry>,
}

/// sanlink's own token, as the calls it makes to other services (Cinder) carry it.
#[derive(Clone, PartialEq, Eq)]
pub struct ServiceToken {
    pub token: String,
    /// The id of the project the token is scoped to.
    pub project_id: Option<String>,
}

impl std::fmt::Debug for ServiceToken {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ServiceToken")
            .field("token", &"******")
            .field("project_id", &self.project_id)
            .finish()
    }
}

impl Keystone {
    pub fn new(settings: KeystoneSettings) -> Result<Keystone, String> {
        let http =
            crate::tls::service_client("Keystone", settings.timeout, settings.cafile.as_deref())?;
        Ok(Keystone {
            settings,
            http,
            own: Mutex::new(None),
        })
    }

    pub fn settings(&self) -> &KeystoneSettings {
        &self.settings
    }

    /// Asks Keystone whether `token` is valid and whom it stands for. With
    /// `allow_expired`, as when a valid service token accompanies it, a token that
    /// expired is still accepted.
    pub async fn validate(
        &self,
        token: &str,
        allow_expired: bool,
    ) -> Result<ValidToken, KeystoneError> {
        // A token Keystone refuses to take as a header value cannot be valid.
        if reqwest::header::HeaderValue::from_str(token).is_err() {
            return Err(KeystoneError::InvalidToken);
        }
        let mut renewed = false;
        loop {
            let own = self.own_token(renewed).await?;
            let mut url = format!("{}/auth/tokens?nocatalog", self.settings.auth_url);
            if allow_expired {
                url.push_str("&allow_expired=1");
            }
            let response = self
                .http
                .get(url)
                .header("X-Auth-Token", &own)
                .header("X-Subject-Token", token)
                .send()
                .await
                .map_err(|e| unavailable("cannot reach Keystone", e))?;
            match response.status() {
                StatusCode::OK => {
                    let body: TokenBody = response
                        .json()
                        .await
                        .map_err(|e| unavailable("Keystone's answer is unreadable", e))?;
                    return Ok(body.token.valid());
                }
                StatusCode::NOT_FOUND => return Err(KeystoneError::InvalidToken),
                // sanlink's own token went stale (revoked, keys rotated): renew once.
                StatusCode::UNAUTHORIZED if !renewed => renewed = true,
                status => {
                    return Err(KeystoneError::Unavailable(format!(
                        "Keystone answered {status} to a token validation; does the service user have the service role?"
                    )));
                }
            }
        }
    }

    /// The endpoint of a service in the catalog that came with sanlink's own token,
    /// for the configured interface and region (what the cinder storage interface
    /// will call).
    pub async fn endpoint(&self, service_type: &str) -> Result<String, KeystoneError> {
        self.own_token(false).await?;
        let own = self.own.lock().await;
        let catalog = own.as_ref().map(|o| o.catalog.as_slice()).unwrap_or(&[]);
        let s = &self.settings;
        find_endpoint(
            catalog,
            service_type,
            &s.interface,
            s.region_name.as_deref(),
        )
        .map(str::to_string)
        .ok_or_else(|| {
            let region = s.region_name.as_ref().map(|r| format!(" in region {r}"));
            KeystoneError::Unavailable(format!(
                "Keystone's catalog has no {} endpoint of type {service_type}{}",
                s.interface,
                region.unwrap_or_default()
            ))
        })
    }

    /// sanlink's own token for a call to another service, with its project: the kept
    /// one while it has time left, else (or with `renew`, after the service refused
    /// it) a new one.
    pub async fn service_token(&self, renew: bool) -> Result<ServiceToken, KeystoneError> {
        let token = self.own_token(renew).await?;
        let own = self.own.lock().await;
        let project_id = own.as_ref().and_then(|o| o.project_id.clone());
        Ok(ServiceToken { token, project_id })
    }

    /// sanlink's own token: the kept one while it has time left, else a new one.
    async fn own_token(&self, renew: bool) -> Result<String, KeystoneError> {
        let mut own = self.own.lock().await;
        let fresh = own.as_ref().filter(|o| {
            !renew && o.expires_at - Utc::now() > chrono::Duration::from_std(RENEW_BEFORE).unwrap()
        });
        if let Some(o) = fresh {
            return Ok(o.token.clone());
        }
        let new = self.authenticate().await?;
        let token = new.token.clone();
        *own = Some(new);
        Ok(token)
    }

    /// Password authentication of the service user, scoped to its project.
    async fn authenticate(&self) -> Result<OwnToken, KeystoneError> {
        let s = &self.settings;
        let body = json!({"auth": {
            "identity": {"methods": ["password"], "password": {"user": {
                "name": s.username,
                "domain": {"name": s.user_domain_name},
                "password": s.password,
            }}},
            "scope": {"project": {
                "name": s.project_name,
                "domain": {"name": s.project_domain_name},
            }},
        }});
        let response = self
            .http
            .post(format!("{}/auth/tokens", s.auth_url))
            .json(&body)
            .send()
            .await
            .map_err(|e| unavailable("cannot reach Keystone", e))?;
        let status = response.status();
        if status != StatusCode::CREATED {
            return Err(KeystoneError::Unavailable(format!(
                "Keystone refused the service user {} ({status}); check SANLINK_KEYSTONE_USERNAME and its password",
                s.username
            )));
        }
        let token = response
            .headers()
            .get("X-Subject-Token")
            .and_then(|v| v.to_str().ok())
            .map(str::to_string)
            .ok_or_else(|| KeystoneError::Unavailable("Keystone issued no token".into()))?;
        let body: TokenBody = response
            .json()
            .await
            .map_err(|e| unavailable("Keystone's answer is unreadable", e))?;
        Ok(OwnToken {
            token,
            expires_at: body.token.expires_at,
            project_id: body.token.project.as_ref().map(|p| p.id.clone()),
            catalog: body.token.catalog,
        })
    }
}

/// The URL of a service's endpoint on `interface`, in `region` when one is given.
fn find_endpoint<'a>(
    catalog: &'a [CatalogEntry],
    service_type: &str,
    interface: &str,
    region: Option<&str>,
) -> Option<&'a str> {
    catalog
        .iter()
        .filter(|entry| entry.service_type == service_type)
        .flat_map(|entry| &entry.endpoints)
        .find(|e| {
            e.interface == interface
                && region.is_none_or(|r| {
                    e.region_id.as_deref() == Some(r) || e.region.as_deref() == Some(r)
                })
        })
        .map(|e| e.url.as_str())
}

fn unavailable(what: &str, e: reqwest::Error) -> KeystoneError {
    KeystoneError::Unavailable(format!("{what}: {e}"))
}

/// Keystone's token document, the parts sanlink uses.
#[derive(Deserialize)]
struct TokenBody {
    token: TokenDoc,
}

#[derive(Deserialize)]
struct TokenDoc {
    expires_at: DateTime<Utc>,
    #[serde(default)]
    user: Option<Named>,
    #[serde(default)]
    project: Option<Named>,
    #[serde(default)]
    domain: Option<Named>,
    /// `{"all": true}` for a system-scoped token.
    #[serde(default)]
    system: Option<serde_json::Map<String, serde_json::Value>>,
    #[serde(default)]
    roles: Vec<Role>,
    #[serde(default)]
    catalog: Vec<CatalogEntry>,
}

#[derive(Deserialize)]
struct Named {
    id: String,
    #[serde(default)]
    name: Option<String>,
    #[serde(default)]
    domain: Option<Box<Named>>,
}

#[derive(Deserialize)]
struct Role {
    name: String,
}

#[derive(Clone, Deserialize)]
struct CatalogEntry {
    #[serde(rename = "type")]
    service_type: String,
    #[serde(default)]
    endpoints: Vec<Endpoint>,
}

#[derive(Clone, Deserialize)]
struct Endpoint {
    interface: String,
    url: String,
    #[serde(default)]
    region_id: Option<String>,
    #[serde(default)]
    region: Option<String>,
}

impl TokenDoc {
    fn valid(self) -> ValidToken {
        let system_scope = self.system.as_ref().and_then(|system| {
            system
                .get("all")
                .and_then(|v| v.as_bool())
                .filter(|all| *all)
                .map(|_| "all".to_string())
        });
        let user = self.user.as_ref();
        let project = self.project.as_ref();
        let caller = Caller {
            user_id: user.map(|u| u.id.clone()),
            user_name: user.and_then(|u| u.name.clone()),
            project_id: project.map(|p| p.id.clone()),
            roles: self.roles.into_iter().map(|r| r.name).collect(),
            system_scope,
            project_name: project.and_then(|p| p.name.clone()),
            project_domain_id: project.and_then(|p| p.domain.as_ref().map(|d| d.id.clone())),
            user_domain_id: user.and_then(|u| u.domain.as_ref().map(|d| d.id.clone())),
            domain_id: self.domain.map(|d| d.id),
        };
        ValidToken {
            caller: Arc::new(caller),
            expires_at: self.expires_at,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_debug_form_hides_the_password() {
        let settings = KeystoneSettings {
            auth_url: "http://ks/v3".into(),
            www_authenticate_uri: "http://ks/v3".into(),
            username: "ironic".into(),
            password: "hunter2".into(),
            project_name: "service".into(),
            user_domain_name: "Default".into(),
            project_domain_name: "Default".into(),
            region_name: None,
            interface: "internal".into(),
            token_cache_time: Duration::from_secs(300),
            cafile: None,
            timeout: Duration::from_secs(10),
        };
        let shown = format!("{settings:?}");
        assert!(
            !shown.contains("hunter2") && shown.contains("******"),
            "{shown}"
        );
    }

    #[test]
    fn an_endpoint_is_found_by_type_interface_and_region() {
        let doc: TokenDoc = serde_json::from_value(json!({
            "expires_at": "2026-12-06T05:00:00Z",
            "catalog": [
                {"type": "identity", "endpoints": [
                    {"interface": "internal", "url": "http://ks", "region_id": "One"}]},
                {"type": "block-storage", "endpoints": [
                    {"interface": "public", "url": "http://pub", "region_id": "One"},
                    {"interface": "internal", "url": "http://two", "region_id": "Two"},
                    {"interface": "internal", "url": "http://one", "region": "One"}]},
            ],
        }))
        .unwrap();
        let find = |t, i, r| find_endpoint(&doc.catalog, t, i, r);
        assert_eq!(
            find("block-storage", "internal", Some("One")),
            Some("http://one")
        );
        assert_eq!(find("block-storage", "internal", None), Some("http://two"));
        assert_eq!(find("block-storage", "public", None), Some("http://pub"));
        assert_eq!(find("block-storage", "admin", None), None);
        assert_eq!(find("compute", "internal", None), None);
    }

    #[test]
    fn a_token_document_becomes_its_caller() {
        let doc: TokenBody = serde_json::from_value(json!({"token": {
            "expires_at": "2026-12-06T05:00:00.000000Z",
            "user": {"id": "u1", "name": "nova", "domain": {"id": "default", "name": "Default"}},
            "project": {"id": "p1", "name": "service", "domain": {"id": "default"}},
            "roles": [{"id": "r1", "name": "service"}, {"id": "r2", "name": "reader"}],
        }}))
        .unwrap();
        let valid = doc.token.valid();
        assert_eq!(valid.caller.user_id.as_deref(), Some("u1"));
        assert_eq!(valid.caller.project_name.as_deref(), Some("service"));
        assert_eq!(valid.caller.project_domain_id.as_deref(), Some("default"));
        assert_eq!(valid.caller.roles, ["service", "reader"]);
        assert_eq!(valid.caller.system_scope, None);
        assert_eq!(valid.expires_at.to_rfc3339(), "2026-12-06T05:00:00+00:00");

        let system: TokenBody = serde_json::from_value(json!({"token": {
            "expires_at": "2026-12-06T05:00:00Z",
            "user": {"id": "u2", "name": "admin", "domain": {"id": "default"}},
            "system": {"all": true},
            "roles": [{"id": "r", "name": "admin"}],
        }}))
        .unwrap();
        let valid = system.token.valid();
        assert_eq!(valid.caller.system_scope.as_deref(), Some("all"));
        assert_eq!(valid.caller.project_id, None);
    }
}
