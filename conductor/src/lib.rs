//! The conductor: takes a node's lock, validates, persists, and drives the hardware.
//! It answers RPCs from the gateway through whichever transport carries them.

pub mod boot;
pub mod context;
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
use futures_util::future::BoxFuture;

use crate::context::Context;

/// One conductor process's state, shared by every request it handles.
pub struct Conductor {
    pub db: Db,
    pub settings: Arc<Settings>,
    /// The nodes this conductor works on: its locks on any other node are idle.
    pub working: Arc<working::Registry>,
    /// How the Redfish interfaces reach BMCs.
    pub bmcs: Arc<dyn drivers::redfish::Connector>,
    /// How the `cinder` storage interface reaches Cinder; none when no Cinder is
    /// configured (`SANLINK_CINDER_AUTH_TYPE` unset).
    pub cinder: Option<Arc<common::cinder::Cinder>>,
}

impl Conductor {
    pub fn new(db: Db, settings: Arc<Settings>) -> Conductor {
        let cinder = settings.cinder.clone().and_then(|s| {
            // The settings were checked (the CA file included) before the conductor
            // starts; a client that cannot be set up anyway leaves Cinder unconfigured.
            common::cinder::Cinder::new(s)
                .inspect_err(|e| tracing::error!(error = %e, "Cinder is not usable"))
                .ok()
                .map(Arc::new)
        });
        Conductor {
            db,
            settings,
            working: Default::default(),
            bmcs: Arc::new(drivers::redfish::HttpConnector),
            cinder,
        }
    }

    /// The interfaces of `node`, with this conductor's BMC connector and Cinder client.
    pub fn driver(
        &self,
        node: &common::model::node::Node,
    ) -> Result<drivers::Driver, common::Error> {
        drivers::Driver::with_cinder(node, &self.bmcs, self.cinder.as_ref())
    }

    /// Runs `work` in one transaction that also records `ctx`'s request as applied.
    /// For changes that need no node lock (creates), and for lock-io work saving its
    /// result.
    pub async fn write<T, F>(&self, ctx: &Context, work: F) -> Result<T, common::Error>
    where
        T: Send + 'static,
        F: FnOnce(&mut common::db::AnyConnection) -> Result<T, common::Error> + Send + 'static,
    {
        let scope = ctx.scope.clone();
        self.db
            .run(move |conn| idempotency::transaction(conn, &scope, work))
            .await
    }

    /// Runs `work`, one statement, as its own transaction where that statement can also
    /// record `ctx`'s request (it gets the [`InStatement`] to write), else as
    /// [`Conductor::write`] does ([`idempotency::one_statement`]). For creates.
    ///
    /// [`InStatement`]: common::db::rpc_requests::InStatement
    pub async fn write_one<T, F>(&self, ctx: &Context, work: F) -> Result<T, common::Error>
    where
        T: Send + 'static,
        F: FnOnce(
                &mut common::db::AnyConnection,
                Option<common::db::rpc_requests::InStatement<'_>>,
            ) -> Result<T, common::Error>
            + Send
            + 'static,
    {
        let scope = ctx.scope.clone();
        self.db
            .run(move |conn| idempotency::one_statement(conn, &scope, work))
            .await
    }

    /// Runs `read`, the read a change is planned with, in one trip to the database with
    /// the check that no earlier copy of `ctx`'s request applied it
    /// ([`idempotency::unapplied`]).
    pub async fn plan<T, F>(&self, ctx: &Context, read: F) -> Result<T, common::Error>
    where
        T: Send + 'static,
        F: FnOnce(&mut common::db::AnyConnection) -> Result<T, common::Error> + Send + 'static,
    {
        let scope = ctx.scope.clone();
        self.db
            .run(move |conn| idempotency::unapplied(conn, &scope, read))
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
        tracing::info!(hostname = %self.hostname(), "conductor registered");
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
        let caller = &request.context.caller;
        // Who asked, never with what credential: the gateway keeps tokens to itself.
        let span = tracing::info_span!(
            "rpc",
            method,
            request_id = %request.context.request_id,
            user = caller.user_field(),
            project = caller.project_field(),
            roles = %caller.roles.join(","),
            system_scope = caller.system_scope.as_deref().unwrap_or("-"),
        );
        let start = std::time::Instant::now();
        let work = async {
            let answer = idempotency::Answer::of(&request.call);
            let ctx = Context::for_request(request.context, method);
            let unapplied = if idempotency::checks_copies_itself(&request.call) {
                Ok(())
            } else {
                self.plan(&ctx, |_| Ok(())).await
            };
            let reply = match unapplied {
                Ok(()) => self.dispatch(&ctx, request.call).await,
                Err(e) => Err(e),
            };
            if ctx.found_applied() {
                tracing::info!(
                    "request applied by an earlier copy; answering from the current state"
                );
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
    /// The work of `call`, boxed. Unboxed, every request's future would be as large as
    /// the largest call's (a node's deployment, say), and a future is copied whole each
    /// time it is moved, several times a request: a tenth of the instructions of a
    /// connector's update went to those copies.
    fn dispatch<'a>(&'a self, ctx: &'a Context, call: Call) -> BoxFuture<'a, Response> {
        use common::model::port::Port;
        use common::model::portgroup::Portgroup;
        use common::model::volume::{VolumeConnector, VolumeTarget};
        use manager::{child, console, management, node, port, volume};
        match call {
            Call::CreateVolumeConnector { connector } => {
                Box::pin(volume::create::<VolumeConnector>(self, ctx, connector))
            }
            Call::CreateVolumeTarget { target } => {
                Box::pin(volume::create::<VolumeTarget>(self, ctx, target))
            }
            Call::UpdateVolumeConnector { uuid, patch } => {
                Box::pin(child::update::<VolumeConnector>(self, ctx, uuid, patch))
            }
            Call::DestroyVolumeConnector { uuid } => {
                Box::pin(child::destroy::<VolumeConnector>(self, ctx, uuid))
            }
            Call::UpdateVolumeTarget { uuid, patch } => {
                Box::pin(child::update::<VolumeTarget>(self, ctx, uuid, patch))
            }
            Call::DestroyVolumeTarget { uuid } => {
                Box::pin(child::destroy::<VolumeTarget>(self, ctx, uuid))
            }
            Call::CreateNode { node: n } => Box::pin(node::create_node(self, ctx, n)),
            Call::UpdateNode { uuid, patch } => Box::pin(node::update_node(self, ctx, uuid, patch)),
            Call::DestroyNode { uuid } => Box::pin(node::destroy_node(self, ctx, uuid)),
            Call::ChangeNodePowerState {
                uuid,
                target,
                timeout,
            } => Box::pin(node::change_node_power_state(
                self, ctx, uuid, target, timeout,
            )),
            Call::DoProvisioningAction {
                uuid,
                action,
                configdrive,
            } => Box::pin(node::do_provisioning_action(
                self,
                ctx,
                uuid,
                action,
                configdrive,
            )),
            Call::SetMaintenance {
                uuid,
                maintenance,
                reason,
            } => Box::pin(node::set_maintenance(self, ctx, uuid, maintenance, reason)),
            Call::ValidateDriverInterfaces { uuid } => {
                Box::pin(node::validate_driver_interfaces(self, uuid))
            }
            Call::VifAttach { uuid, vif_id } => Box::pin(node::vif_attach(self, ctx, uuid, vif_id)),
            Call::VifDetach { uuid, vif_id } => Box::pin(node::vif_detach(self, ctx, uuid, vif_id)),
            Call::CreatePort { port: p } => Box::pin(port::create_port(self, ctx, p)),
            Call::UpdatePort { uuid, patch } => {
                Box::pin(child::update::<Port>(self, ctx, uuid, patch))
            }
            Call::DestroyPort { uuid } => Box::pin(child::destroy::<Port>(self, ctx, uuid)),
            Call::AddNodeTraits {
                uuid,
                traits,
                replace,
            } => Box::pin(node::add_node_traits(self, ctx, uuid, traits, replace)),
            Call::RemoveNodeTraits { uuid, traits } => {
                Box::pin(node::remove_node_traits(self, ctx, uuid, traits))
            }
            Call::GetBootDevice { uuid } => Box::pin(management::get_boot_device(self, uuid)),
            Call::SetBootDevice {
                uuid,
                device,
                persistent,
            } => Box::pin(management::set_boot_device(self, uuid, device, persistent)),
            Call::GetSupportedBootDevices { uuid } => {
                Box::pin(management::get_supported_boot_devices(self, uuid))
            }
            Call::InjectNmi { uuid } => Box::pin(management::inject_nmi(self, ctx, uuid)),
            Call::GetConsoleInformation { uuid } => {
                Box::pin(console::get_console_information(self, uuid))
            }
            Call::SetConsoleMode { uuid, enabled } => {
                Box::pin(console::set_console_mode(self, ctx, uuid, enabled))
            }
            Call::CreateChassis { chassis: new } => {
                Box::pin(manager::chassis::create_chassis(self, ctx, new))
            }
            Call::UpdateChassis { uuid, patch } => {
                Box::pin(manager::chassis::update_chassis(self, ctx, uuid, patch))
            }
            Call::DestroyChassis { uuid } => {
                Box::pin(manager::chassis::destroy_chassis(self, ctx, uuid))
            }
            Call::CreatePortgroup { portgroup: p } => {
                Box::pin(manager::portgroup::create_portgroup(self, ctx, p))
            }
            Call::UpdatePortgroup { uuid, patch } => {
                Box::pin(child::update::<Portgroup>(self, ctx, uuid, patch))
            }
            Call::DestroyPortgroup { uuid } => {
                Box::pin(child::destroy::<Portgroup>(self, ctx, uuid))
            }
            Call::SetTargetRaidConfig {
                uuid,
                target_raid_config,
            } => Box::pin(node::set_target_raid_config(
                self,
                ctx,
                uuid,
                target_raid_config,
            )),
            Call::VendorPassthru {
                uuid,
                method,
                http_method,
                info,
            } => Box::pin(node::vendor_passthru(self, uuid, method, http_method, info)),
            Call::DoNodeRescue {
                uuid,
                action,
                rescue_password,
            } => Box::pin(node::do_node_rescue(
                self,
                ctx,
                uuid,
                action,
                rescue_password,
            )),
        }
    }
}
