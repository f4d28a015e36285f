//! Who a request comes from and which request it is: built by the gateway, carried in
//! every RPC, and handed explicitly to the conductor's work.

use std::sync::Arc;

use serde::{Deserialize, Serialize};

/// The request a call belongs to.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct RequestContext {
    /// `req-<uuid>`, as sent back in `x-openstack-request-id`. Empty for work the
    /// conductor does on its own behalf, which then records no request.
    pub request_id: String,
    /// Shared: the gateway hands every request of a token the caller it remembers.
    pub caller: Arc<Caller>,
}

/// The authenticated caller. Never holds a credential: a token or password stays in
/// the gateway.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Caller {
    pub user_id: Option<String>,
    pub user_name: Option<String>,
    pub project_id: Option<String>,
    pub roles: Vec<String>,
    /// `all` for a system-scoped caller.
    pub system_scope: Option<String>,
    // What Keystone says besides, for the policy's checks; absent in the calls of
    // older gateways.
    #[serde(default)]
    pub project_name: Option<String>,
    #[serde(default)]
    pub project_domain_id: Option<String>,
    #[serde(default)]
    pub user_domain_id: Option<String>,
    /// The domain of a domain-scoped token.
    #[serde(default)]
    pub domain_id: Option<String>,
}

impl RequestContext {
    pub fn new(request_id: impl Into<String>, caller: impl Into<Arc<Caller>>) -> RequestContext {
        RequestContext {
            request_id: request_id.into(),
            caller: caller.into(),
        }
    }

    /// Work the conductor does for itself (start-up, periodic tasks, tests): no request
    /// id, no caller, nothing recorded as applied.
    pub fn internal() -> RequestContext {
        RequestContext::default()
    }
}

impl Caller {
    /// A user known only by name, as HTTP basic authentication knows them.
    pub fn named(user_name: impl Into<String>) -> Caller {
        Caller {
            user_name: Some(user_name.into()),
            ..Caller::default()
        }
    }

    /// The caller's identity for a log line: user and project, or `-` when unknown.
    pub fn user_field(&self) -> &str {
        self.user_id
            .as_deref()
            .or(self.user_name.as_deref())
            .unwrap_or("-")
    }

    pub fn project_field(&self) -> &str {
        self.project_id.as_deref().unwrap_or("-")
    }
}
