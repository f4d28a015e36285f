//! The gateway's typed view of the conductor: one function per RPC, as Ironic's rpcapi.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

use json_patch::PatchOperation;
use serde_json::Value;

use super::{Call, InterfaceValidation, Reply, Request, Transport};
use crate::child::{New, NodeChild};
use crate::error::Error;
use crate::model::node::Node;

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

    async fn call(&self, request_id: &str, call: Call) -> Result<Reply, Error> {
        let method = call.method();
        let request = Request::new(request_id.to_string(), self.timeout, call);
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
    pub async fn create<R: NodeChild>(&self, rid: &str, new: New<R::Fields>) -> Result<R, Error> {
        self.child_reply(rid, R::create_call(new)).await
    }

    /// Applies a JSON Patch to a connector, target or port under its node's lock.
    pub async fn update<R: NodeChild>(
        &self,
        rid: &str,
        uuid: String,
        patch: Vec<PatchOperation>,
    ) -> Result<R, Error> {
        self.child_reply(rid, R::update_call(uuid, patch)).await
    }

    /// Deletes a connector, target or port under its node's lock.
    pub async fn destroy<R: NodeChild>(&self, rid: &str, uuid: String) -> Result<(), Error> {
        self.call(rid, R::destroy_call(uuid)).await.map(|_| ())
    }

    async fn child_reply<R: NodeChild>(&self, rid: &str, call: Call) -> Result<R, Error> {
        R::from_reply(self.call(rid, call).await?)
    }

    pub async fn create_node(&self, rid: &str, node: Node) -> Result<Node, Error> {
        self.node_reply(rid, Call::CreateNode { node }).await
    }

    pub async fn update_node(
        &self,
        rid: &str,
        uuid: String,
        patch: Vec<PatchOperation>,
    ) -> Result<Node, Error> {
        self.node_reply(rid, Call::UpdateNode { uuid, patch }).await
    }

    pub async fn destroy_node(&self, rid: &str, uuid: String) -> Result<(), Error> {
        self.call(rid, Call::DestroyNode { uuid }).await.map(|_| ())
    }

    pub async fn change_node_power_state(
        &self,
        rid: &str,
        uuid: String,
        target: String,
        timeout: Option<u64>,
    ) -> Result<(), Error> {
        self.call(
            rid,
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
        rid: &str,
        uuid: String,
        action: String,
        configdrive: Option<Value>,
    ) -> Result<(), Error> {
        self.call(
            rid,
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
        rid: &str,
        uuid: String,
        maintenance: bool,
        reason: Option<String>,
    ) -> Result<(), Error> {
        self.call(
            rid,
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
        rid: &str,
        uuid: String,
    ) -> Result<BTreeMap<String, InterfaceValidation>, Error> {
        match self
            .call(rid, Call::ValidateDriverInterfaces { uuid })
            .await?
        {
            Reply::Validation(v) => Ok(v),
            other => Err(unexpected(other)),
        }
    }

    pub async fn vif_attach(&self, rid: &str, uuid: String, vif_id: String) -> Result<(), Error> {
        self.call(rid, Call::VifAttach { uuid, vif_id })
            .await
            .map(|_| ())
    }

    pub async fn vif_detach(&self, rid: &str, uuid: String, vif_id: String) -> Result<(), Error> {
        self.call(rid, Call::VifDetach { uuid, vif_id })
            .await
            .map(|_| ())
    }

    async fn node_reply(&self, rid: &str, call: Call) -> Result<Node, Error> {
        match self.call(rid, call).await? {
            Reply::Node(n) => Ok(n),
            other => Err(unexpected(other)),
        }
    }
}
