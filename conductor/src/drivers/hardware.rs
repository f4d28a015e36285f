//! Checks of a node's hardware type and interfaces against the table in
//! [`common::hardware`], which the drivers API reads too.

use common::Error;
use common::model::node::{INTERFACES, Node};

pub use common::hardware::{default_interface, firmware_interface, supported};

/// Ironic's NoValidHost for a hardware type no conductor offers.
fn unknown_driver(driver: &str, group: &str) -> Error {
    Error::invalid(format!(
        "No valid host was found. Reason: No conductor service registered which supports driver {driver} for conductor group \"{group}\". Ensure the driver is valid and enabled."
    ))
}

pub fn check_driver(driver: &str, group: &str) -> Result<(), Error> {
    if common::hardware::is_hardware_type(driver) {
        Ok(())
    } else {
        Err(unknown_driver(driver, group))
    }
}

/// Checks that `name` is an implementation of `kind` that `driver` supports.
pub fn check_interface(driver: &str, kind: &str, name: &str) -> Result<(), Error> {
    let supported = supported(driver, kind).ok_or_else(|| unknown_driver(driver, ""))?;
    if supported.contains(&name) {
        return Ok(());
    }
    // Worded as Ironic names the interface's entry point, with the valid names sorted.
    let mut valid: Vec<String> = supported.iter().map(|s| format!("'{s}'")).collect();
    valid.sort();
    Err(Error::invalid(format!(
        "Could not find the following interface in the 'ironic.hardware.interfaces.{kind}' entrypoint: {name}. Valid interfaces are [{}].",
        valid.join(", ")
    )))
}

/// Fills every unset interface with its default, then checks them all against the
/// node's hardware type.
pub fn fill_and_check(node: &mut Node) -> Result<(), Error> {
    check_driver(&node.driver, &node.conductor_group)?;
    for kind in INTERFACES {
        if node.interfaces.get(kind).is_none() {
            let default = default_interface(&node.driver, kind).map(str::to_string);
            node.interfaces.set(kind, default);
        }
        let name = node.interfaces.get(kind).unwrap_or_default().to_string();
        check_interface(&node.driver, kind, &name)?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fills_defaults_and_rejects_foreign_interfaces() {
        let mut node = Node {
            driver: "ipmi".into(),
            ..Node::default()
        };
        fill_and_check(&mut node).unwrap();
        assert_eq!(node.interfaces.power.as_deref(), Some("ipmitool"));
        assert_eq!(node.interfaces.storage.as_deref(), Some("noop"));

        let mut node = Node {
            driver: "ipmi".into(),
            ..Node::default()
        };
        node.interfaces.power = Some("fake".into());
        let e = fill_and_check(&mut node).unwrap_err();
        assert!(
            matches!(e, Error::Invalid(m) if m.contains("'ironic.hardware.interfaces.power' entrypoint: fake."))
        );

        let mut node = Node {
            driver: "bogus".into(),
            ..Node::default()
        };
        assert!(matches!(fill_and_check(&mut node), Err(Error::Invalid(_))));
    }
}
