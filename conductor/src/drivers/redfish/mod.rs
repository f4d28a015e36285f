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

/// Redfish's `BootSourceOverrideTarget` of each boot device Ironic's `redfish`
/// management interface supports, in Ironic's order.
pub const BOOT_TARGETS: [(BootDevice, &str); 5] = [
    (BootDevice::Pxe, "Pxe"),
    (BootDevice::Disk, "Hdd"),
    (BootDevice::Cdrom, "Cd"),
    (BootDevice::Bios, "BiosSetup"),
    (BootDevice::UefiHttp, "UefiHttp"),
];

/// The Redfish target of a boot device; None for devices Redfish has no name for.
pub fn boot_target(device: BootDevice) -> Option<&'static str> {
    BOOT_TARGETS
        .iter()
        .find(|(d, _)| *d == device)
        .map(|(_, t)| *t)
}

/// The boot device a Redfish target names; None for targets Ironic has no name for
/// (`None`, `Usb`, `Floppy`...).
pub fn boot_device(target: &str) -> Option<BootDevice> {
    BOOT_TARGETS
        .iter()
        .find(|(_, t)| *t == target)
        .map(|(d, _)| *d)
}

/// A system's boot source override, as its BMC reports it.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct BootOverride {
    /// `BootSourceOverrideTarget`, when it names a device Ironic knows.
    pub device: Option<BootDevice>,
    /// `BootSourceOverrideEnabled`: Continuous is persistent, Once is not, anything
    /// else (Disabled, absent) unknown.
    pub persistent: Option<bool>,
    /// `BootSourceOverrideTarget@Redfish.AllowableValues` that Ironic has names for;
    /// None when the BMC does not list them.
    pub allowed: Option<Vec<BootDevice>>,
}

pub use client::validate;

/// Redfish's `ResetType`s that the power interface uses.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ResetType {
    On,
    ForceOff,
    GracefulShutdown,
    ForceRestart,
    GracefulRestart,
    /// A non-maskable interrupt; the power state stays.
    Nmi,
}

impl ResetType {
    pub fn as_str(self) -> &'static str {
        match self {
            ResetType::On => "On",
            ResetType::ForceOff => "ForceOff",
            ResetType::GracefulShutdown => "GracefulShutdown",
            ResetType::ForceRestart => "ForceRestart",
            ResetType::GracefulRestart => "GracefulRestart",
            ResetType::Nmi => "Nmi",
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

    /// The boot source override and the targets the BMC allows.
    async fn boot_override(&self) -> Result<BootOverride, String>;

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
