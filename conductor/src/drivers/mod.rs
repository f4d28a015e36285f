//! Hardware types and their interfaces. A node names one implementation of each
//! interface; [`Driver::for_node`] picks them once per task, and the manager acts
//! through them.

pub mod boot;
pub mod console;
pub mod deploy;
pub mod hardware;
pub mod management;
pub mod power;
pub mod raid;
pub mod redfish;
pub mod storage;
#[cfg(test)]
pub mod testing;
pub mod validation;
pub mod vendor;

use std::sync::Arc;

use common::Error;
use common::model::node::Node;

use self::boot::Boot;
use self::console::Console;
use self::deploy::Deploy;
use self::management::Management;
use self::power::Power;
use self::redfish::Connector;
use self::storage::Storage;

/// The hardware types this conductor can drive.
pub use common::hardware::HARDWARE_TYPES;

/// The implementations of one node's interfaces.
pub struct Driver {
    pub power: Box<dyn Power>,
    pub management: Box<dyn Management>,
    pub boot: Box<dyn Boot>,
    pub deploy: Box<dyn Deploy>,
    pub storage: Box<dyn Storage>,
    pub console: Box<dyn Console>,
    /// Whether the conductor has a Cinder client (what the `cinder` storage interface
    /// needs to validate).
    pub cinder_configured: bool,
}

impl Driver {
    /// The implementations the node's interface fields name; `bmcs` reaches the BMCs of
    /// Redfish nodes. A name its hardware type does not offer is refused as at create.
    /// No Cinder is configured: see [`Driver::with_cinder`].
    pub fn for_node(node: &Node, bmcs: &Arc<dyn Connector>) -> Result<Driver, Error> {
        Driver::with_cinder(node, bmcs, None)
    }

    /// As [`Driver::for_node`], with the Cinder client of the `cinder` storage interface.
    pub fn with_cinder(
        node: &Node,
        bmcs: &Arc<dyn Connector>,
        cinder: Option<&Arc<common::cinder::Cinder>>,
    ) -> Result<Driver, Error> {
        Ok(Driver {
            power: pick(node, "power", |name| power::select(name, bmcs))?,
            management: pick(node, "management", |name| management::select(name, bmcs))?,
            boot: pick(node, "boot", boot::select)?,
            deploy: pick(node, "deploy", deploy::select)?,
            storage: pick(node, "storage", |name| storage::select(name, cinder))?,
            console: pick(node, "console", console::select)?,
            cinder_configured: cinder.is_some(),
        })
    }
}

/// The implementation of interface `kind` that the node names.
fn pick<T>(node: &Node, kind: &str, select: impl FnOnce(&str) -> Option<T>) -> Result<T, Error> {
    let name = node.interfaces.get(kind).unwrap_or_default();
    hardware::check_interface(&node.driver, kind, name)?;
    select(name).ok_or_else(|| {
        Error::Internal(format!(
            "the {kind} interface {name} of hardware type {} has no implementation",
            node.driver
        ))
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use common::model::states::PowerState;

    #[test]
    fn every_supported_interface_has_an_implementation() {
        let bmcs: Arc<dyn Connector> = Arc::new(redfish::fake::FakeBmc::new(PowerState::Off));
        for driver in HARDWARE_TYPES {
            for kind in [
                "power",
                "management",
                "boot",
                "deploy",
                "storage",
                "console",
            ] {
                for name in hardware::supported(driver, kind).unwrap() {
                    let mut node = Node {
                        driver: driver.into(),
                        ..Node::default()
                    };
                    hardware::fill_and_check(&mut node).unwrap();
                    node.interfaces.set(kind, Some(name.to_string()));
                    assert!(
                        Driver::for_node(&node, &bmcs).is_ok(),
                        "{driver} {kind} {name}"
                    );
                }
            }
        }
    }

    #[test]
    fn names_the_hardware_type_does_not_offer_are_refused() {
        let bmcs: Arc<dyn Connector> = Arc::new(redfish::fake::FakeBmc::new(PowerState::Off));
        let mut node = Node {
            driver: "ipmi".into(),
            ..Node::default()
        };
        hardware::fill_and_check(&mut node).unwrap();
        node.interfaces.power = Some("redfish".into());
        let Err(Error::Invalid(e)) = Driver::for_node(&node, &bmcs) else {
            panic!("accepted");
        };
        assert!(
            e.contains("'ironic.hardware.interfaces.power' entrypoint: redfish."),
            "{e}"
        );
    }
}
