//! The conductor: takes a node's lock, validates, persists, and drives the hardware.
//! It answers RPCs from the gateway through whichever transport carries them.

pub mod boot;
pub mod drivers;
pub mod idempotency;
pub mod manager;
pub mod periodic;
pub mod task;
pub mod working;

use std::sync::Arc;

use common::config::Settings;
use common::db::Db;
use common::rpc::{Call, Handler, Request, Response};

/// One conductor process's state, shared by every request it handles.
pub struct Conductor {
    pub db: Db,
    pub settings: Arc<Settings>,
    /// The nodes this conductor works on: its locks on any other node are idle.
    pub working: Arc<working::Registry>,
}

impl Conductor {
    pub fn new(db: Db, settings: Arc<Settings>) -> Conductor {
        Conductor {
            db,
            settings,
            working: Default::default(),
        }
    }

    /// Runs `work` in one transaction that also records the current request as applied.
    /// For changes that need no node lock (creates).
    pub async fn write<T, F>(&self, work: F) -> Result<T, common::Error>
    where
        T: Send + 'static,
        F: FnOnce(&mut common::db::AnyConnection) -> Result<T, common::Error> + Send + 'static,
    {
        let current = idempotency::current();
        self.db
            .run(move |conn| idempotency::transaction(conn, &current, work))
            .await
    }

    pub fn hostname(&self) -> &str {
        &self.settings.conductor_hostname
    }

    /// Registers this conductor and clears reservations an earlier run of the same
    /// host left behind (it cannot still be working on them).
    pub async fn start(&self) -> Result<(), common::Error> {
        let host = self.hostname().to_string();
        let released = self
            .db
            .run(move |conn| {
                let released = common::db::reservation::release_all(conn, &host)?;
                common::db::conductors::register(conn, &host, "", &drivers::HARDWARE_TYPES)?;
                Ok(released)
            })
            .await?;
        if released > 0 {
            tracing::warn!(
                released,
                "cleared node locks left by an earlier run of this conductor"
            );
        }
        self.fail_abandoned().await?;
        tracing::info!(hostname = %self.hostname(), "conductor registered");
        Ok(())
    }

    /// Moves nodes that a dead conductor left mid-transition to the state that transition
    /// fails to, as Ironic does at conductor start. Transitions here finish while the node
    /// is locked, so an unlocked node in such a state can only have been abandoned.
    async fn fail_abandoned(&self) -> Result<(), common::Error> {
        use common::model::states::*;
        let (host, registry) = (self.hostname().to_string(), self.working.clone());
        let failed = self
            .db
            .run(move |conn| {
                let mut failed = 0;
                for node in common::db::nodes::abandoned(conn, &UNRESUMABLE_STATES)? {
                    let _working = registry.enter(node.id);
                    let to = match node.provision_state.as_str() {
                        DEPLOYING => DEPLOY_FAILED,
                        CLEANING => CLEAN_FAILED,
                        VERIFYING => ENROLL,
                        _ => ERROR,
                    };
                    match common::db::reservation::reserve(conn, node.id, &host) {
                        Ok(()) => {}
                        // Someone else is on it, or it is gone: nothing left to fail.
                        Err(common::Error::NodeLocked { .. } | common::Error::NotFound(_)) => {
                            continue;
                        }
                        Err(e) => return Err(e),
                    }
                    let mut node = common::db::nodes::get_by_id(conn, node.id)?;
                    node.provision_state = to.to_string();
                    node.target_provision_state = None;
                    node.provision_updated_at = Some(common::model::now());
                    node.last_error = Some("Operation was aborted due to conductor restart".into());
                    common::db::nodes::update(conn, &node)?;
                    common::db::reservation::release(conn, node.id, &host)?;
                    failed += 1;
                }
                Ok(failed)
            })
            .await?;
        if failed > 0 {
            tracing::warn!(failed, "failed nodes abandoned mid-transition");
        }
        Ok(())
    }

    /// Marks this conductor offline and releases its locks.
    pub async fn stop(&self) -> Result<(), common::Error> {
        let host = self.hostname().to_string();
        self.db
            .run(move |conn| {
                common::db::reservation::release_all(conn, &host)?;
                common::db::conductors::unregister(conn, &host)
            })
            .await
    }
}

#[async_trait::async_trait]
impl Handler for Conductor {
    async fn handle(&self, request: Request) -> Response {
        let method = request.call.method();
        let span = tracing::info_span!("rpc", method, request_id = %request.request_id);
        let start = std::time::Instant::now();
        let work = async {
            let answer = idempotency::Answer::of(&request.call);
            if idempotency::already_applied(self, &request.request_id).await? {
                tracing::info!("request already applied; answering from the current state");
                return idempotency::replay(self, answer).await;
            }
            let scope = idempotency::Scope::new(request.request_id, method);
            let reply = idempotency::scope(scope.clone(), self.dispatch(request.call)).await;
            if scope.found_applied() {
                tracing::info!("request applied by another copy; answering from the current state");
                return idempotency::replay(self, answer).await;
            }
            reply
        };
        let reply = tracing::Instrument::instrument(work, span.clone()).await;
        let _guard = span.enter();
        let elapsed_ms = start.elapsed().as_millis() as u64;
        // One line per request, so that its id shows in this conductor's log.
        match &reply {
            Err(common::Error::Internal(detail)) => {
                tracing::error!(detail, elapsed_ms, "request failed")
            }
            Err(e) => tracing::info!(error = %e, elapsed_ms, "request refused"),
            Ok(_) => tracing::info!(elapsed_ms, "request done"),
        }
        reply
    }
}

impl Conductor {
    async fn dispatch(&self, call: Call) -> Response {
        use common::model::port::Port;
        use common::model::volume::{VolumeConnector, VolumeTarget};
        use manager::{child, node, port, volume};
        match call {
            Call::CreateVolumeConnector { connector } => {
                volume::create::<VolumeConnector>(self, connector).await
            }
            Call::CreateVolumeTarget { target } => {
                volume::create::<VolumeTarget>(self, target).await
            }
            Call::UpdateVolumeConnector { uuid, patch } => {
                child::update::<VolumeConnector>(self, uuid, patch).await
            }
            Call::DestroyVolumeConnector { uuid } => {
                child::destroy::<VolumeConnector>(self, uuid).await
            }
            Call::UpdateVolumeTarget { uuid, patch } => {
                child::update::<VolumeTarget>(self, uuid, patch).await
            }
            Call::DestroyVolumeTarget { uuid } => child::destroy::<VolumeTarget>(self, uuid).await,
            Call::CreateNode { node: n } => node::create_node(self, n).await,
            Call::UpdateNode { uuid, patch } => node::update_node(self, uuid, patch).await,
            Call::DestroyNode { uuid } => node::destroy_node(self, uuid).await,
            Call::ChangeNodePowerState {
                uuid,
                target,
                timeout,
            } => node::change_node_power_state(self, uuid, target, timeout).await,
            Call::DoProvisioningAction {
                uuid,
                action,
                configdrive,
            } => node::do_provisioning_action(self, uuid, action, configdrive).await,
            Call::SetMaintenance {
                uuid,
                maintenance,
                reason,
            } => node::set_maintenance(self, uuid, maintenance, reason).await,
            Call::ValidateDriverInterfaces { uuid } => {
                node::validate_driver_interfaces(self, uuid).await
            }
            Call::VifAttach { uuid, vif_id } => node::vif_attach(self, uuid, vif_id).await,
            Call::VifDetach { uuid, vif_id } => node::vif_detach(self, uuid, vif_id).await,
            Call::CreatePort { port: p } => port::create_port(self, p).await,
            Call::UpdatePort { uuid, patch } => child::update::<Port>(self, uuid, patch).await,
            Call::DestroyPort { uuid } => child::destroy::<Port>(self, uuid).await,
        }
    }
}
