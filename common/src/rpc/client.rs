//! The gateway's typed view of the conductor: one function per RPC, as Ironic's rpcapi.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

use json_patch::PatchOperation;
use serde_json::Value;

mod hardware;

use super::{Call, InterfaceValidation, Reply, Request, RequestContext, Transport};
use crate::child::{New, NodeChild};
use crate::error::Error;
use crate::model::node::Node;
use crate::model::states::{PowerTarget, ProvisionVerb};

mod management;

#[derive(Clone)]
pub struct ConductorClient {
    transport: Arc<dyn Transport>,
    timeout: Duration,
}

/// What a reply of the wrong kind is: a fault of sanlink itself.
pub(crate) fn unexpected(reply: Reply) -> Error {
    Error::Internal(format!("unexpected conductor reply: {reply:?}"))
}

impl ConductorClient {
    pub fn new(transport: Arc<dyn Transport>, timeout: Duration) -> ConductorClient {
        ConductorClient { transport, timeout }
    }

    pub fn has_broker(&self) -> bool {
        self.transport.has_broker()
    }

    pub async fn check_broker(&self) -> Result<(), String> {
        self.transport.check_broker().await
    }

    /// Sends one call and waits for its reply, of whatever kind.
    pub async fn call(&self, context: &RequestContext, call: Call) -> Result<Reply, Error> {
        let method = call.method();
        let request = Request::new(context.clone(), self.timeout, call);
        let start = std::time::Instant::now();
        let reply = self.transport.call(request).await;
        let outcome = match &reply {
            Ok(_) => "ok",
            Err(Error::Unavailable(_)) => "unavailable",
            Err(_) => "error",
        };
        metrics::histogram!(crate::metrics::RPC_DURATION, "method" => method, "outcome" => outcome)
            .record(start.elapsed().as_secs_f64());
        if let Err(e) = &reply {
            tracing::debug!(method, error = %e, "conductor call failed");
        }
        reply
    }

    /// Stores a new connector, target or port.
    pub async fn create<R: NodeChild>(
        &self,
        context: &RequestContext,
        new: New<R::Fields>,
    ) -> Result<R, Error> {
        self.child_reply(context, R::create_call(new)).await
    }

    /// Applies a JSON Patch to a connector, target or port under its node's lock.
    pub async fn update<R: NodeChild>(
        &self,
        context: &RequestContext,
        uuid: String,
        patch: Vec<PatchOperation>,
    ) -> Result<R, Error> {
        self.child_reply(context, R::update_call(uuid, patch)).await
    }

    /// Deletes a connector, target or port under its node's lock.
    pub async fn destroy<R: NodeChild>(
        &self,
        context: &RequestContext,
        uuid: String,
    ) -> Result<(), Error> {
        self.call(context, R::destroy_call(uuid)).await.map(|_| ())
    }

    async fn child_reply<R: NodeChild>(
        &self,
        context: &RequestContext,
        call: Call,
    ) -> Result<R, Error> {
        R::from_reply(self.call(context, call).await?)
    }

    pub async fn create_node(&self, context: &RequestContext, node: Node) -> Result<Node, Error> {
        self.node_reply(context, Call::CreateNode { node }).await
    }

    pub async fn update_node(
        &self,
        context: &RequestContext,
        uuid: String,
        patch: Vec<PatchOperation>,
    ) -> Result<Node, Error> {
        self.node_reply(context, Call::UpdateNode { uuid, patch })
            .await
    }

    pub async fn destroy_node(&self, context: &RequestContext, uuid: String) -> Result<(), Error> {
        self.call(context, Call::DestroyNode { uuid })
            .await
            .map(|_| ())
    }

    pub async fn change_node_power_state(
        &self,
        context: &RequestContext,
        uuid: String,
        target: PowerTarget,
        timeout: Option<u64>,
    ) -> Result<(), Error> {
        self.call(
            context,
            Call::ChangeNodePowerState {
                uuid,
                target,
                timeout,
            },
        )
        .await
        .map(|_| ())
    }

    pub async fn do_provisioning_action(
        &self,
        context: &RequestContext,
        uuid: String,
        action: ProvisionVerb,
        configdrive: Option<Value>,
    ) -> Result<(), Error> {
        self.call(
            context,
            Call::DoProvisioningAction {
                uuid,
                action,
                configdrive,
            },
        )
        .await
        .map(|_| ())
    }

    pub async fn set_maintenance(
        &self,
        context: &RequestContext,
        uuid: String,
        maintenance: bool,
        reason: Option<String>,
    ) -> Result<(), Error> {
        self.call(
            context,
            Call::SetMaintenance {
                uuid,
                maintenance,
                reason,
            },
        )
        .await
        .map(|_| ())
    }

    pub async fn validate_driver_interfaces(
        &self,
        context: &RequestContext,
        uuid: String,
    ) -> Result<BTreeMap<String, InterfaceValidation>, Error> {
        match self
            .call(context, Call::ValidateDriverInterfaces { uuid })
            .await?
        {
            Reply::Validation(v) => Ok(v),
            other => Err(unexpected(other)),
        }
    }

    pub async fn vif_attach(
        &self,
        context: &RequestContext,
        uuid: String,
        vif_id: String,
    ) -> Result<(), Error> {
        self.call(context, Call::VifAttach { uuid, vif_id })
            .await
            .map(|_| ())
    }

    pub async fn vif_detach(
        &self,
        context: &RequestContext,
        uuid: String,
        vif_id: String,
    ) -> Result<(), Error> {
        self.call(context, Call::VifDetach { uuid, vif_id })
            .await
            .map(|_| ())
    }

    pub async fn add_node_traits(
        &self,
        context: &RequestContext,
        uuid: String,
        traits: Vec<String>,
        replace: bool,
    ) -> Result<(), Error> {
        self.call(
            context,
            Call::AddNodeTraits {
                uuid,
                traits,
                replace,
            },
        )
        .await
        .map(|_| ())
    }

    pub async fn remove_node_traits(
        &self,
        context: &RequestContext,
        uuid: String,
        traits: Option<Vec<String>>,
    ) -> Result<(), Error> {
        self.call(context, Call::RemoveNodeTraits { uuid, traits })
            .await
            .map(|_| ())
    }

    async fn node_reply(&self, context: &RequestContext, call: Call) -> Result<Node, Error> {
        match self.call(context, call).await? {
            Reply::Node(n) => Ok(n),
            other => Err(unexpected(other)),
        }
    }
}
