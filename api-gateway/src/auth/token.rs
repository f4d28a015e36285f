//! Keystone tokens (`SANLINK_AUTH_STRATEGY=keystone`), checked as keystonemiddleware
//! checks them in front of Ironic: the token in `X-Auth-Token` is validated with
//! Keystone by sanlink's service user, and the caller it stands for goes with the
//! request. A caller without a valid token gets 401 and `WWW-Authenticate: Keystone
//! uri="..."`; when Keystone cannot be asked, 503.
//!
//! Validating costs a round trip to Keystone, so a validated token is remembered until
//! it expires or for `SANLINK_KEYSTONE_TOKEN_CACHE_TIME`, whichever comes first; a
//! refused one stays refused as long. The cache is keyed by a keyed hash of the token,
//! never the token, and holds a bounded number of entries. Requests with the same
//! unknown token wait for one validation instead of each asking Keystone.
//!
//! A service token (`X-Service-Token`, from a service acting for a user) must be valid
//! too; one with the `service` role lets a user token that expired meanwhile through,
//! as keystonemiddleware does: long operations started by a user may finish.

use std::sync::Arc;
use std::time::{Duration, Instant};

use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use hmac::{Hmac, Mac};
use moka::future::Cache;
use sha2::Sha256;

use common::keystone::{Keystone, KeystoneError, KeystoneSettings, ValidToken};
use common::rpc::Caller;

/// Tokens remembered at most.
const CACHE_SIZE: u64 = 10_000;

/// Keyed SHA-256 of a token and whether an expired one was allowed.
type Digest = [u8; 32];

/// What Keystone said of a token, while it may be believed.
#[derive(Clone)]
enum Verdict {
    Valid(Arc<ValidToken>),
    Invalid,
}

pub struct TokenAuth {
    keystone: Keystone,
    cache: Cache<Digest, Verdict>,
    /// HMAC-SHA256 under a key random per process, so that the cache's keys tell
    /// nothing of the tokens; keyed once, cloned for each digest.
    mac: Hmac<Sha256>,
    challenge: HeaderValue,
}

impl TokenAuth {
    pub fn new(settings: KeystoneSettings) -> Result<TokenAuth, String> {
        let challenge = format!("Keystone uri=\"{}\"", settings.www_authenticate_uri);
        let challenge = HeaderValue::from_str(&challenge)
            .map_err(|_| "SANLINK_KEYSTONE_WWW_AUTHENTICATE_URI is not a valid header value")?;
        let cache = Cache::builder()
            .max_capacity(CACHE_SIZE)
            .expire_after(TrustFor(settings.token_cache_time))
            .build();
        let mut key = [0u8; 32];
        getrandom::fill(&mut key).expect("the operating system provides random bytes");
        let mac = Hmac::<Sha256>::new_from_slice(&key).expect("any key length");
        Ok(TokenAuth {
            keystone: Keystone::new(settings)?,
            cache,
            mac,
            challenge,
        })
    }

    /// The caller a request's tokens stand for.
    async fn caller(&self, headers: &HeaderMap) -> Result<Arc<Caller>, KeystoneError> {
        let user_token = header_text(headers, "x-auth-token").ok_or(KeystoneError::InvalidToken)?;
        let allow_expired = match header_text(headers, "x-service-token") {
            Some(service_token) => {
                let service = self.verdict(service_token, false).await?;
                tracing::debug!(
                    service_user = service.caller.user_field(),
                    "service token accepted"
                );
                // Only a service's token vouches for an expired user token
                // (keystonemiddleware's `service_token_roles`).
                service.caller.roles.iter().any(|r| r == "service")
            }
            None => false,
        };
        let valid = self.verdict(user_token, allow_expired).await?;
        Ok(valid.caller.clone())
    }

    /// The caller a request's tokens stand for, or the refusal to send.
    pub async fn authenticate(&self, headers: &HeaderMap) -> Result<Arc<Caller>, Response> {
        match self.caller(headers).await {
            Ok(caller) => Ok(caller),
            Err(KeystoneError::InvalidToken) => {
                tracing::info!("rejecting a request without a valid token");
                Err(self.refusal())
            }
            Err(KeystoneError::Unavailable(why)) => {
                tracing::error!(error = %why, "cannot validate a token");
                Err(unavailable())
            }
        }
    }

    /// The remembered verdict on a token, or Keystone's.
    async fn verdict(
        &self,
        token: &str,
        allow_expired: bool,
    ) -> Result<Arc<ValidToken>, KeystoneError> {
        let digest = self.digest(token, allow_expired);
        let verdict = self
            .cache
            .try_get_with(digest, async {
                match self.keystone.validate(token, allow_expired).await {
                    Ok(valid) => Ok(Verdict::Valid(Arc::new(valid))),
                    Err(KeystoneError::InvalidToken) => Ok(Verdict::Invalid),
                    Err(unavailable) => Err(unavailable),
                }
            })
            .await
            .map_err(|e| (*e).clone())?;
        match verdict {
            Verdict::Valid(valid) => Ok(valid),
            Verdict::Invalid => Err(KeystoneError::InvalidToken),
        }
    }

    fn digest(&self, token: &str, allow_expired: bool) -> Digest {
        let mut mac = self.mac.clone();
        mac.update(&[u8::from(allow_expired)]);
        mac.update(token.as_bytes());
        mac.finalize().into_bytes().into()
    }

    fn refusal(&self) -> Response {
        let body = serde_json::json!({"error": {
            "code": 401,
            "title": "Unauthorized",
            "message": "The request you have made requires authentication.",
        }});
        let mut response = (StatusCode::UNAUTHORIZED, crate::wire::Json(body)).into_response();
        response
            .headers_mut()
            .insert(header::WWW_AUTHENTICATE, self.challenge.clone());
        response
    }
}

fn header_text<'a>(headers: &'a HeaderMap, name: &str) -> Option<&'a str> {
    headers
        .get(name)
        .and_then(|v| v.to_str().ok())
        .map(str::trim)
        .filter(|v| !v.is_empty())
}

/// keystonemiddleware's answer when Keystone cannot be asked, as Ironic sends it
/// (webob's generic page, as JSON).
fn unavailable() -> Response {
    let body = serde_json::json!({
        "message": "The server is currently unavailable. Please try again at a later time.<br /><br />\nThe Keystone service is temporarily unavailable.\n\n",
        "code": "503 Service Unavailable",
        "title": "Service Unavailable",
    });
    (StatusCode::SERVICE_UNAVAILABLE, crate::wire::Json(body)).into_response()
}

/// How long a verdict is believed: a valid token until it expires or for the cache
/// time, whichever is first; a refused one for the cache time.
struct TrustFor(Duration);

impl moka::Expiry<Digest, Verdict> for TrustFor {
    fn expire_after_create(&self, _: &Digest, verdict: &Verdict, _: Instant) -> Option<Duration> {
        Some(match verdict {
            Verdict::Valid(valid) => {
                let left = (valid.expires_at - chrono::Utc::now())
                    .to_std()
                    .unwrap_or(Duration::ZERO);
                left.min(self.0)
            }
            Verdict::Invalid => self.0,
        })
    }
}
