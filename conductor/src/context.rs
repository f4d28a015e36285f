//! The request a conductor's work is for. The RPC handler builds it and passes it
//! explicitly to the manager, which hands it to every write: a write cannot forget
//! which request it belongs to.

use std::sync::Arc;

use common::rpc::RequestContext;

use crate::idempotency::Scope;

pub struct Context {
    /// The request's id and caller, as the gateway sent them.
    pub request: RequestContext,
    /// What the request's transactions learnt about whether it was applied.
    pub(crate) scope: Arc<Scope>,
}

impl Context {
    /// The context of RPC `method` carrying `request`.
    pub fn for_request(request: RequestContext, method: &'static str) -> Context {
        let scope = Scope::new(request.request_id.clone(), method);
        Context { request, scope }
    }

    /// Work the conductor does on its own behalf (and tests): its writes record no
    /// request, so they are not protected against being applied twice.
    pub fn internal() -> Context {
        Context::for_request(RequestContext::internal(), "internal")
    }

    pub fn request_id(&self) -> &str {
        &self.request.request_id
    }

    /// True when another copy of this request applied it: the answer must then come
    /// from the current state, whatever this copy's work returned.
    pub fn found_applied(&self) -> bool {
        self.scope.found_applied()
    }
}
