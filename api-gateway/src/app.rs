//! What every handler shares.

use std::sync::Arc;

use axum::extract::{FromRequestParts, OptionalFromRequestParts};
use axum::http::request::Parts;
use axum::http::{HeaderValue, header};

use common::config::Settings;
use common::db::Db;
use common::rpc::client::ConductorClient;
use common::rpc::{Caller, RequestContext};

use crate::authorize::Authorizer;
use crate::error::ApiError;
use crate::version::Version;

#[derive(Clone)]
pub struct AppState {
    /// Reads go straight to the database; writes go through the conductor.
    pub db: Db,
    pub conductor: ConductorClient,
    pub settings: Arc<Settings>,
}

/// The request's id (`req-<uuid>`), as sent back in `x-openstack-request-id`.
#[derive(Clone, Debug)]
pub struct RequestId(pub String);

/// What a handler knows about the request beyond its path and body.
pub struct Ctx {
    pub version: Version,
    /// The request's id and caller, handed to the conductor with every call.
    pub request: RequestContext,
    /// Base of the links in responses, e.g. `http://127.0.0.1:6385`.
    pub base_url: String,
    /// The policy, under `keystone`; otherwise every caller may do everything.
    authorizer: Option<Arc<Authorizer>>,
}

impl FromRequestParts<AppState> for Ctx {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Ctx, ApiError> {
        let version = parts
            .extensions
            .get::<Version>()
            .copied()
            .unwrap_or(crate::version::MIN);
        let request_id = parts
            .extensions
            .get::<RequestId>()
            .map(|r| r.0.clone())
            .unwrap_or_default();
        // Set by the authentication and policy layers; absent under noauth. Taken,
        // not copied: the handler's context is their only reader from here on.
        let caller = parts.extensions.remove::<Arc<Caller>>().unwrap_or_default();
        let base_url = match &state.settings.public_url {
            Some(url) => url.clone(),
            None => {
                let host = parts
                    .headers
                    .get(header::HOST)
                    .and_then(|h| h.to_str().ok())
                    .map(str::to_string)
                    .unwrap_or_else(|| state.settings.listen.to_string());
                format!("http://{host}")
            }
        };
        Ok(Ctx {
            version,
            request: RequestContext::new(request_id, caller),
            base_url,
            authorizer: parts.extensions.remove::<Arc<Authorizer>>(),
        })
    }
}

impl OptionalFromRequestParts<AppState> for Ctx {
    type Rejection = ApiError;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &AppState,
    ) -> Result<Option<Ctx>, ApiError> {
        <Ctx as FromRequestParts<AppState>>::from_request_parts(parts, state)
            .await
            .map(Some)
    }
}

impl Ctx {
    /// Refuses the request (403) unless the caller passes each of `rules` on a node.
    pub fn authorize_on_node(&self, rules: &[common::policy::Rule]) -> Result<(), ApiError> {
        match &self.authorizer {
            Some(a) => a.check_node_rules(rules, &self.request.caller),
            None => Ok(()),
        }
    }

    /// Whether the caller may do what `rule` governs beyond the operation itself (what
    /// a response may show).
    pub fn allows(&self, rule: common::policy::Rule) -> bool {
        self.authorizer
            .as_ref()
            .is_none_or(|a| a.allows(rule, &self.request.caller))
    }

    /// `[{"href": <base>/v1/<path>, "rel": "self"}, {"href": <base>/<path>, "rel": "bookmark"}]`.
    pub fn links(&self, path: &str) -> serde_json::Value {
        serde_json::json!([
            {"href": format!("{}/v1/{path}", self.base_url), "rel": "self"},
            {"href": format!("{}/{path}", self.base_url), "rel": "bookmark"},
        ])
    }

    pub fn location(&self, path: &str) -> HeaderValue {
        HeaderValue::from_str(&format!("{}/v1/{path}", self.base_url))
            .unwrap_or_else(|_| HeaderValue::from_static("/"))
    }
}
