//! Conductor RPC: the messages the gateway sends and the conductors answer, and the
//! transport abstraction they ride on. Method names follow Ironic's ConductorManager so
//! the Python can be looked up.

pub mod amqp;
pub mod client;
pub mod context;
pub mod memory;

pub use context::{Caller, RequestContext};

use std::collections::BTreeMap;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use json_patch::PatchOperation;
use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::child::New;
use crate::error::Error;
use crate::model::chassis::{Chassis, NewChassis};
use crate::model::node::Node;
use crate::model::port::{Port, PortFields};
use crate::model::portgroup::{Portgroup, PortgroupFields};
use crate::model::states::{BootDevice, PowerTarget, ProvisionVerb};
use crate::model::volume::{ConnectorFields, TargetFields, VolumeConnector, VolumeTarget};

/// Version of the message schema. A conductor refuses (dead-letters) other versions.
pub const RPC_VERSION: u32 = 2;

/// One call to a conductor.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Request {
    pub version: u32,
    /// The request's id and caller: they follow it from the gateway into the
    /// conductor's work and logs.
    pub context: RequestContext,
    /// Milliseconds since the Unix epoch after which nobody waits for the answer.
    pub deadline_ms: u64,
    pub call: Call,
}

impl Request {
    pub fn new(context: RequestContext, timeout: Duration, call: Call) -> Request {
        Request {
            version: RPC_VERSION,
            context,
            deadline_ms: epoch_ms() + timeout.as_millis() as u64,
            call,
        }
    }

    /// True once nobody waits for the answer any more.
    pub fn expired(&self) -> bool {
        epoch_ms() > self.deadline_ms
    }
}

pub fn epoch_ms() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_millis() as u64)
        .unwrap_or(0)
}

/// The conductor methods. Each doc lists the errors it may return besides
/// `Unavailable`/`Internal`. A method's name in logs and metrics (`strum`) is its tag on
/// the wire (`serde`): both are the variant's name in snake case.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, strum::IntoStaticStr)]
#[serde(tag = "method", content = "args", rename_all = "snake_case")]
#[strum(serialize_all = "snake_case")]
// One call is built, sent and matched once per request; boxing the node variants would
// save a few hundred bytes of stack per request at the price of an allocation.
#[allow(clippy::large_enum_variant)]
pub enum Call {
    /// Stores a new connector; no lock and no state check, as in Ironic.
    /// Invalid (unknown node), Conflict (uuid, type + connector_id).
    CreateVolumeConnector {
        connector: New<ConnectorFields>,
    },
    /// Applies a JSON Patch to a connector under the (new) owning node's lock.
    /// Invalid (patch, power state), NotFound, NodeLocked, Conflict (uniqueness).
    UpdateVolumeConnector {
        uuid: String,
        patch: Vec<PatchOperation>,
    },
    /// NotFound, NodeLocked, Invalid (state).
    DestroyVolumeConnector {
        uuid: String,
    },
    /// Stores a new target. Invalid (unknown node), Conflict (uuid, node + boot_index).
    CreateVolumeTarget {
        target: New<TargetFields>,
    },
    /// As `UpdateVolumeConnector`, for targets.
    UpdateVolumeTarget {
        uuid: String,
        patch: Vec<PatchOperation>,
    },
    DestroyVolumeTarget {
        uuid: String,
    },
    /// Fills interface defaults and stores the node. Invalid (driver, interface), Conflict.
    CreateNode {
        node: Node,
    },
    /// Applies a JSON Patch to a node under its lock. Invalid, NotFound, NodeLocked,
    /// Conflict (NodeAssociated, state).
    UpdateNode {
        uuid: String,
        patch: Vec<PatchOperation>,
    },
    /// Deletes a node and everything attached to it. NotFound, NodeLocked, Conflict (state).
    DestroyNode {
        uuid: String,
    },
    /// Invalid (state), NotFound, NodeLocked.
    ChangeNodePowerState {
        uuid: String,
        target: PowerTarget,
        timeout: Option<u64>,
    },
    /// A provision verb (`manage`, `provide`, `active`, `deleted`, ...).
    /// Invalid (verb not supported, or not allowed from the state), NotFound, NodeLocked.
    DoProvisioningAction {
        uuid: String,
        action: ProvisionVerb,
        configdrive: Option<Value>,
    },
    /// Sets or clears maintenance mode. NotFound, NodeLocked.
    SetMaintenance {
        uuid: String,
        maintenance: bool,
        reason: Option<String>,
    },
    /// Validates every interface of the node under a shared lock. NotFound.
    ValidateDriverInterfaces {
        uuid: String,
    },
    /// Binds a VIF to a free port. NotFound, NodeLocked, Conflict (attached), Invalid (no port).
    VifAttach {
        uuid: String,
        vif_id: String,
    },
    /// Invalid (not attached), NotFound, NodeLocked.
    VifDetach {
        uuid: String,
        vif_id: String,
    },
    /// Stores a new port. Invalid, Conflict (address).
    CreatePort {
        port: New<PortFields>,
    },
    /// Applies a JSON Patch to a port under its node's lock.
    UpdatePort {
        uuid: String,
        patch: Vec<PatchOperation>,
    },
    DestroyPort {
        uuid: String,
    },
    /// Adds `traits` to the node's, or (`replace`) makes them the node's traits, under
    /// the node's lock. Invalid (more than 50), NotFound, NodeLocked.
    AddNodeTraits {
        uuid: String,
        traits: Vec<String>,
        replace: bool,
    },
    /// Removes `traits` from the node, or all of its traits (`None`), under its lock.
    /// NotFound (node, or a trait it does not have), NodeLocked.
    RemoveNodeTraits {
        uuid: String,
        traits: Option<Vec<String>>,
    },
    /// The node's boot device as its management interface reads it, under the node's
    /// lock. Invalid (driver_info), NotFound, NodeLocked, DriverFailed.
    GetBootDevice {
        uuid: String,
    },
    /// Sets the boot device under the node's lock. `device` is the name the client
    /// sent: the management interface decides whether it knows it.
    /// Invalid (device, driver_info), NotFound, NodeLocked, DriverFailed.
    SetBootDevice {
        uuid: String,
        device: String,
        persistent: bool,
    },
    /// The boot devices the management interface supports; no lock. NotFound,
    /// DriverFailed.
    GetSupportedBootDevices {
        uuid: String,
    },
    /// A non-maskable interrupt, under the node's lock. Invalid (not supported,
    /// driver_info), NotFound, NodeLocked, DriverFailed.
    InjectNmi {
        uuid: String,
    },
    /// Whether the serial console is enabled, and how to reach it; no lock.
    /// Invalid (console interface), NotFound.
    GetConsoleInformation {
        uuid: String,
    },
    /// Starts or stops the serial console; the lock is taken only for a change.
    /// Invalid (console interface), NotFound, NodeLocked.
    SetConsoleMode {
        uuid: String,
        enabled: bool,
    },
    /// Stores a new chassis. Invalid, Conflict (uuid).
    CreateChassis {
        chassis: NewChassis,
    },
    /// Applies a JSON Patch to a chassis. Invalid, NotFound.
    UpdateChassis {
        uuid: String,
        patch: Vec<PatchOperation>,
    },
    /// Deletes a chassis no node refers to. NotFound, Invalid (nodes in it).
    DestroyChassis {
        uuid: String,
    },
    /// Stores a new port group under its node's lock. Invalid (node, address, name),
    /// Conflict (uuid, name, address).
    CreatePortgroup {
        portgroup: New<PortgroupFields>,
    },
    /// Applies a JSON Patch to a port group under its (new) node's lock. Invalid
    /// (patch, re-home with ports), NotFound, NodeLocked, Conflict (name, address).
    UpdatePortgroup {
        uuid: String,
        patch: Vec<PatchOperation>,
    },
    /// Invalid (the port group has ports), NotFound, NodeLocked.
    DestroyPortgroup {
        uuid: String,
    },
    /// Stores a node's target RAID configuration once its RAID interface accepted it
    /// (an empty one clears it unchecked). NotFound (node; `no-raid`, as Ironic answers),
    /// Invalid (the configuration), NodeLocked.
    SetTargetRaidConfig {
        uuid: String,
        target_raid_config: Value,
    },
    /// Calls a method of the node's vendor interface. Invalid (no such method, HTTP
    /// method, missing argument), NotFound, NodeLocked.
    VendorPassthru {
        uuid: String,
        method: String,
        http_method: String,
        info: Value,
    },
    /// The rescue verbs (`rescue`, `unrescue`), and any verb sent with a rescue
    /// password, which is refused once the verb is known to be allowed. Invalid
    /// (state, password, maintenance, validation), NotFound, NodeLocked.
    DoNodeRescue {
        uuid: String,
        action: ProvisionVerb,
        rescue_password: Option<String>,
    },
}

impl Call {
    pub fn method(&self) -> &'static str {
        self.into()
    }
}

/// The result of one interface's validation.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct InterfaceValidation {
    pub result: bool,
    pub reason: Option<String>,
}

/// What a successful call returns.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", content = "value", rename_all = "snake_case")]
// As for `Call`: one reply per request, moved a few times.
#[allow(clippy::large_enum_variant)]
pub enum Reply {
    Connector(VolumeConnector),
    Target(VolumeTarget),
    Node(Node),
    Port(Port),
    Validation(BTreeMap<String, InterfaceValidation>),
    Done,
    BootDevice(BootDeviceState),
    BootDevices(Vec<BootDevice>),
    Console(ConsoleState),
    Chassis(Chassis),
    Portgroup(Portgroup),
    Passthru(PassthruResult),
}

/// A node's boot device; either part is None when the hardware does not say.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct BootDeviceState {
    pub boot_device: Option<BootDevice>,
    pub persistent: Option<bool>,
}

/// A node's serial console: `info` (how to connect) only while it is enabled.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ConsoleState {
    pub enabled: bool,
    pub info: Option<crate::model::JsonObject>,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct PassthruResult {
    pub is_async: bool,
    pub value: Value,
}

pub type Response = Result<Reply, Error>;

/// Encodes with field names, so that messages survive reordered or added fields across
/// a rolling upgrade (positional encoding would not).
pub fn encode<T: Serialize>(value: &T) -> Vec<u8> {
    rmp_serde::to_vec_named(value).expect("RPC messages always encode")
}

pub fn decode<'a, T: Deserialize<'a>>(bytes: &'a [u8]) -> Result<T, String> {
    rmp_serde::from_slice(bytes).map_err(|e| e.to_string())
}

/// Why a received message is not a request this process can handle.
#[derive(Debug, PartialEq)]
pub enum Unreadable {
    /// A request of another schema version: its other fields may not decode here,
    /// so the version is read first.
    Version(u32),
    Undecodable(String),
}

/// Reads a request off the wire, checking its schema version before the rest.
pub fn decode_request(bytes: &[u8]) -> Result<Request, Unreadable> {
    #[derive(Deserialize)]
    struct Versioned {
        version: u32,
    }
    match decode::<Versioned>(bytes) {
        Ok(v) if v.version != RPC_VERSION => Err(Unreadable::Version(v.version)),
        _ => decode(bytes).map_err(Unreadable::Undecodable),
    }
}

/// The conductor side: answers one request.
#[async_trait::async_trait]
pub trait Handler: Send + Sync + 'static {
    async fn handle(&self, request: Request) -> Response;
}

/// How a call travels to a conductor and its reply back.
#[async_trait::async_trait]
pub trait Transport: Send + Sync + 'static {
    /// Delivers `request` and waits for the reply until the request's deadline.
    async fn call(&self, request: Request) -> Response;

    /// True when calls ride a message broker (which readiness then checks).
    fn has_broker(&self) -> bool {
        false
    }

    /// Checks that the broker takes requests; only asked when there is one.
    async fn check_broker(&self) -> Result<(), String> {
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::child::NodeChild;
    use crate::model::JsonObject;

    fn caller() -> Caller {
        Caller {
            user_id: Some("u-1".into()),
            project_id: Some("p-1".into()),
            roles: vec!["admin".into(), "reader".into()],
            system_scope: Some("all".into()),
            ..Caller::default()
        }
    }

    fn connector() -> VolumeConnector {
        VolumeConnector {
            id: 7,
            uuid: "1be26c0b-03f2-4d2e-ae87-c02d7f33c123".into(),
            node_id: 3,
            node_uuid: "6d85703a-565d-469a-96ce-30b6de53079d".into(),
            connector_type: "iqn".into(),
            connector_id: "iqn.2026-01.org.example:node".into(),
            extra: extra(),
            created_at: chrono::NaiveDate::from_ymd_opt(2026, 1, 2)
                .and_then(|d| d.and_hms_micro_opt(3, 4, 5, 678_901))
                .expect("valid date"),
            updated_at: None,
        }
    }

    // The embedded mode hands messages over unencoded: this keeps the encoding the
    // RabbitMQ transport relies on tested without a broker.
    fn extra() -> JsonObject {
        let mut extra = serde_json::Map::new();
        extra.insert(
            "rack".into(),
            serde_json::json!({"row": 4, "slots": [1.5, null]}),
        );
        extra
    }

    // The embedded mode hands messages over unencoded: this keeps the encoding the
    // RabbitMQ transport relies on tested without a broker.
    #[test]
    fn requests_and_responses_survive_encoding() {
        let node_uuid = "6d85703a-565d-469a-96ce-30b6de53079d".to_string();
        let calls = [
            Call::CreateVolumeConnector {
                connector: New {
                    uuid: connector().uuid,
                    fields: connector().fields(),
                },
            },
            Call::CreateVolumeTarget {
                target: New {
                    uuid: "0f4e6fcb-2a39-4b8c-9e3b-1c2d3e4f5a6b".into(),
                    fields: TargetFields {
                        node_uuid: node_uuid.clone(),
                        volume_type: "iscsi".into(),
                        boot_index: -3,
                        volume_id: "vol".into(),
                        properties: extra(),
                        extra: JsonObject::new(),
                    },
                },
            },
            Call::CreatePort {
                port: New {
                    uuid: "7a1c2e4f-0b3d-4e5f-8a9b-0c1d2e3f4a5b".into(),
                    fields: PortFields {
                        address: "52:54:00:ab:cd:01".into(),
                        node_uuid,
                        extra: extra(),
                        local_link_connection: JsonObject::new(),
                        pxe_enabled: false,
                        physical_network: Some("physnet".into()),
                        portgroup_uuid: None,
                    },
                },
            },
            Call::SetBootDevice {
                uuid: "n".into(),
                device: "pxe".into(),
                persistent: true,
            },
            Call::SetConsoleMode {
                uuid: "n".into(),
                enabled: false,
            },
        ];
        for call in calls {
            let request = Request::new(
                RequestContext::new("req-1", caller()),
                Duration::from_secs(60),
                call,
            );
            assert_eq!(decode_request(&encode(&request)), Ok(request));
        }
        let replies: Vec<Response> = vec![
            Ok(Reply::Connector(connector())),
            Ok(Reply::Done),
            Ok(Reply::BootDevice(BootDeviceState {
                boot_device: Some(BootDevice::Cdrom),
                persistent: None,
            })),
            Ok(Reply::BootDevices(vec![
                BootDevice::Pxe,
                BootDevice::UefiHttp,
            ])),
            Ok(Reply::Console(ConsoleState {
                enabled: true,
                info: Some(extra()),
            })),
            Err(Error::DriverFailed("the BMC refused".into())),
            Err(Error::invalid(
                "Invalid input for field/attribute node_uuid.",
            )),
        ];
        for reply in replies {
            assert_eq!(decode::<Response>(&encode(&reply)), Ok(reply));
        }
    }

    #[test]
    fn a_method_name_is_its_tag_on_the_wire() {
        let call = Call::DestroyVolumeConnector { uuid: "u".into() };
        let wire = serde_json::to_value(&call).expect("calls encode");
        assert_eq!(wire["method"], call.method());
        assert_eq!(call.method(), "destroy_volume_connector");
    }

    #[test]
    fn a_request_of_another_schema_version_is_recognised_as_such() {
        // The shape of version 1, which named no caller.
        let older = serde_json::json!({"version": 1, "request_id": "req-1", "deadline_ms": 1,
            "call": {"method": "destroy_port", "args": {"uuid": "x"}}});
        assert_eq!(decode_request(&encode(&older)), Err(Unreadable::Version(1)));
        assert!(matches!(
            decode_request(b"\x00\xffnot msgpack"),
            Err(Unreadable::Undecodable(_))
        ));
    }
}
