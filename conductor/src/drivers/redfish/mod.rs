//! Redfish: the seam between the `redfish` power and management interfaces and a BMC.
//! The interfaces decide what to ask (which reset, which boot override, how long to
//! wait); a [`Bmc`] only carries one request to the node's ComputerSystem. `client` is
//! the HTTP one; `fake` keeps a system in memory, so that the interfaces and the
//! manager above them are tested without an emulator.

pub mod client;
#[cfg(test)]
pub mod fake;

use common::model::node::Node;
use common::model::states::PowerState;

use super::management::BootDevice;

pub use client::validate;

/// Redfish's `ResetType`s that the power interface uses.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ResetType {
    On,
    ForceOff,
    GracefulShutdown,
    ForceRestart,
    GracefulRestart,
}

impl ResetType {
    pub fn as_str(self) -> &'static str {
        match self {
            ResetType::On => "On",
            ResetType::ForceOff => "ForceOff",
            ResetType::GracefulShutdown => "GracefulShutdown",
            ResetType::ForceRestart => "ForceRestart",
            ResetType::GracefulRestart => "GracefulRestart",
        }
    }
}

/// The ComputerSystem of one node, on its BMC. Failures are messages for the node's
/// `last_error`: they name the BMC and the cause, never the password.
#[async_trait::async_trait]
pub trait Bmc: Send + Sync {
    /// The BMC as messages name it.
    fn address(&self) -> &str;

    /// The system's power state, as Ironic names it.
    async fn power_state(&self) -> Result<PowerState, String>;

    /// Asks for a reset; the BMC applies it when it pleases.
    async fn reset(&self, reset: ResetType) -> Result<(), String>;

    /// Overrides the boot source: on every boot (`persistent`) or the next one.
    async fn set_boot_override(&self, device: BootDevice, persistent: bool) -> Result<(), String>;
}

/// Reaches the BMC that a node's `driver_info` names.
pub trait Connector: Send + Sync {
    fn connect(&self, node: &Node) -> Result<Box<dyn Bmc>, String>;
}

/// BMCs over HTTP(S): what a conductor uses.
pub struct HttpConnector;

impl Connector for HttpConnector {
    fn connect(&self, node: &Node) -> Result<Box<dyn Bmc>, String> {
        Ok(Box::new(client::Client::for_node(node)?))
    }
}
