//! An in-memory BMC for unit tests: one ComputerSystem that applies resets at once,
//! remembers its boot override, and can be made unreachable or unresponsive.

use std::sync::{Arc, Mutex, MutexGuard};

use common::model::node::Node;
use common::model::states::PowerState;

use super::{BOOT_TARGETS, Bmc, BootOverride, Connector, ResetType};
use crate::drivers::management::BootDevice;

/// What the fake system holds and what it was asked.
#[derive(Clone, Debug)]
pub struct System {
    pub power: PowerState,
    /// The boot override and whether it is persistent.
    pub boot: Option<(BootDevice, bool)>,
    pub resets: Vec<ResetType>,
    /// Every call fails with this message, as from a BMC that cannot be reached.
    pub failure: Option<String>,
    /// Resets are accepted but never applied.
    pub stuck: bool,
    /// The boot targets the BMC lists as allowable; None lists none.
    pub allowed: Option<Vec<BootDevice>>,
}

/// A handle on one shared fake system; clones see the same system.
#[derive(Clone)]
pub struct FakeBmc {
    system: Arc<Mutex<System>>,
}

pub const ADDRESS: &str = "https://fake-bmc";

impl FakeBmc {
    pub fn new(power: PowerState) -> FakeBmc {
        FakeBmc {
            system: Arc::new(Mutex::new(System {
                power,
                boot: None,
                resets: Vec::new(),
                failure: None,
                stuck: false,
                allowed: Some(BOOT_TARGETS.iter().map(|(d, _)| *d).collect()),
            })),
        }
    }

    /// The system as it is now.
    pub fn system(&self) -> System {
        self.lock().clone()
    }

    pub fn edit(&self, change: impl FnOnce(&mut System)) {
        change(&mut self.lock());
    }

    fn lock(&self) -> MutexGuard<'_, System> {
        self.system.lock().unwrap_or_else(|e| e.into_inner())
    }

    fn reachable(&self) -> Result<MutexGuard<'_, System>, String> {
        let system = self.lock();
        match &system.failure {
            Some(failure) => Err(failure.clone()),
            None => Ok(system),
        }
    }
}

impl Connector for FakeBmc {
    fn connect(&self, _node: &Node) -> Result<Box<dyn Bmc>, String> {
        Ok(Box::new(self.clone()))
    }
}

#[async_trait::async_trait]
impl Bmc for FakeBmc {
    fn address(&self) -> &str {
        ADDRESS
    }

    async fn power_state(&self) -> Result<PowerState, String> {
        Ok(self.reachable()?.power)
    }

    async fn reset(&self, reset: ResetType) -> Result<(), String> {
        let mut system = self.reachable()?;
        system.resets.push(reset);
        if !system.stuck {
            system.power = match reset {
                ResetType::ForceOff | ResetType::GracefulShutdown => PowerState::Off,
                ResetType::On | ResetType::ForceRestart | ResetType::GracefulRestart => {
                    PowerState::On
                }
                ResetType::Nmi => system.power,
            };
        }
        Ok(())
    }

    async fn boot_override(&self) -> Result<BootOverride, String> {
        let system = self.reachable()?;
        Ok(BootOverride {
            device: system.boot.map(|(device, _)| device),
            persistent: system.boot.map(|(_, persistent)| persistent),
            allowed: system.allowed.clone(),
        })
    }

    async fn set_boot_override(&self, device: BootDevice, persistent: bool) -> Result<(), String> {
        self.reachable()?.boot = Some((device, persistent));
        Ok(())
    }
}
