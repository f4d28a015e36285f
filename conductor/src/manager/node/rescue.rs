//! Rescue and unrescue (API 1.38): an instance's node boots a rescue environment in
//! which the given password works, and later returns to its instance.
//!
//! As with the other provision verbs, a transition completes before the reply:
//! `active` (or `rescue`, `rescue failed`, `unrescue failed`) goes through `rescuing`
//! to `rescue` with the `fake` rescue interface, which, like Ironic's, has nothing to
//! boot; `unrescue` goes through `unrescuing` back to `active`. A failed transition
//! ends in `rescue failed` or `unrescue failed` with `last_error` set. The `agent`
//! interface would boot a rescue ramdisk and wait for it (`rescue wait`); sanlink
//! boots none, so it refuses such a rescue at validation and the node stays as it was.

use common::Error;
use common::model::node::Node;
use common::model::states::{ProvisionState, ProvisionVerb};
use common::rpc::{Reply, Response};

use super::provision::{check_allowed, enter, fail};
use super::{save, with_lock};
use crate::Conductor;
use crate::context::Context;
use crate::drivers::Driver;

/// The `instance_info` keys a rescue sets (masked in every answer).
const PASSWORD_KEY: &str = "rescue_password";
const HASHED_PASSWORD_KEY: &str = "hashed_rescue_password";
/// Cost of the stored hash: the rescue environment checks it once per login.
const HASH_COST: u32 = 6;

pub async fn do_node_rescue(
    c: &Conductor,
    ctx: &Context,
    uuid: String,
    verb: ProvisionVerb,
    password: Option<String>,
) -> Response {
    let bmcs = c.bmcs.clone();
    let purpose = match verb {
        ProvisionVerb::Unrescue => "node unrescue",
        _ => "node rescue",
    };
    with_lock(c, ctx, &uuid, purpose, move |conn, mut node| {
        check_allowed(&node, verb)?;
        let driver = Driver::for_node(&node, &bmcs)?;
        match (verb, password) {
            (ProvisionVerb::Rescue, password) => {
                let password = required_password(password)?;
                check_maintenance(&node, "rescuing")?;
                validate_rescue(&driver, &node)?;
                rescue(&mut node, &password)?;
            }
            (ProvisionVerb::Unrescue, None) => {
                check_maintenance(&node, "unrescuing")?;
                validate_unrescue(&driver, &node)?;
                unrescue(&mut node);
            }
            _ => return Err(only_for_rescue()),
        }
        save(conn, &node)?;
        Ok(Reply::Done)
    })
    .await
}

fn only_for_rescue() -> Error {
    Error::invalid(
        "\"rescue_password\" is only valid when setting target provision state to rescue",
    )
}

fn required_password(password: Option<String>) -> Result<String, Error> {
    match password {
        Some(p) if !p.trim().is_empty() => Ok(p),
        _ => Err(Error::invalid(
            "A non-empty \"rescue_password\" is required when setting target provision state to rescue",
        )),
    }
}

fn check_maintenance(node: &Node, op: &str) -> Result<(), Error> {
    if node.maintenance {
        return Err(Error::invalid(format!(
            "The {op} operation can't be performed on node {} because it's in maintenance mode.",
            node.uuid
        )));
    }
    Ok(())
}

fn instance(node: &Node) -> &str {
    node.instance_uuid.as_deref().unwrap_or("None")
}

/// Power, rescue and network must validate. The refusal is Ironic's
/// InstanceRescueFailure text; Ironic answers it 500, sanlink 400, since the client's
/// request (or node) is what is wrong.
fn validate_rescue(driver: &Driver, node: &Node) -> Result<(), Error> {
    let rescue = node.interfaces.rescue.as_deref().unwrap_or("no-rescue");
    let check = driver.power.validate(node).and_then(|()| match rescue {
        "fake" => Ok(()),
        "agent" => Err(
            "the agent rescue interface boots a rescue ramdisk, which sanlink does not provide."
                .to_string(),
        ),
        _ => Err(format!(
            "Driver {} does not support rescue (disabled or not implemented).",
            node.driver
        )),
    });
    check.map_err(|e| {
        Error::invalid(format!(
            "Failed to rescue instance {} for node {}: Validation failed: {e}",
            instance(node),
            node.uuid
        ))
    })
}

fn validate_unrescue(driver: &Driver, node: &Node) -> Result<(), Error> {
    driver.power.validate(node).map_err(|e| {
        Error::invalid(format!(
            "Failed to unrescue instance {} for node {}: Validation failed: {e}",
            instance(node),
            node.uuid
        ))
    })
}

/// Records the password (and its hash, for a rescue environment to check) and ends in
/// `rescue`; only `fake` gets here.
fn rescue(node: &mut Node, password: &str) -> Result<(), Error> {
    let hashed = bcrypt::hash(password, HASH_COST)
        .map_err(|e| Error::Internal(format!("hashing the rescue password: {e}")))?;
    node.instance_info
        .insert(PASSWORD_KEY.into(), password.to_string().into());
    node.instance_info
        .insert(HASHED_PASSWORD_KEY.into(), hashed.into());
    node.last_error = None;
    enter(node, ProvisionState::Rescue);
    Ok(())
}

/// Back to `active`. Only `fake` can have rescued the node; any other rescue interface
/// fails the unrescue, as Ironic's `no-rescue` does.
fn unrescue(node: &mut Node) {
    match node.interfaces.rescue.as_deref() {
        Some("fake") => {
            node.last_error = None;
            enter(node, ProvisionState::Active);
        }
        _ => {
            let reason = format!(
                "Failed to unrescue: Driver {} does not support rescue (disabled or not implemented).",
                node.driver
            );
            fail(node, ProvisionState::UnrescueFailed, reason);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::drivers::hardware::fill_and_check;
    use crate::drivers::testing;

    fn active_node(rescue: &str) -> Node {
        let mut node = Node {
            uuid: "1be26c0b-03f2-4d2e-ae87-c02d7f33c123".into(),
            driver: "fake-hardware".into(),
            provision_state: ProvisionState::Active,
            ..Node::default()
        };
        fill_and_check(&mut node).unwrap();
        node.interfaces.rescue = Some(rescue.into());
        node
    }

    #[test]
    fn fake_rescue_stores_the_password_and_ends_in_rescue() {
        let mut node = active_node("fake");
        validate_rescue(&testing::driver(&node), &node).unwrap();
        rescue(&mut node, "s3cret").unwrap();
        assert_eq!(node.provision_state, ProvisionState::Rescue);
        assert_eq!(node.instance_info[PASSWORD_KEY], "s3cret");
        let hashed = node.instance_info[HASHED_PASSWORD_KEY].as_str().unwrap();
        assert!(bcrypt::verify("s3cret", hashed).unwrap());
        unrescue(&mut node);
        assert_eq!(node.provision_state, ProvisionState::Active);
    }

    #[test]
    fn no_rescue_is_refused_at_validation() {
        let node = active_node("no-rescue");
        let e = validate_rescue(&testing::driver(&node), &node).unwrap_err();
        assert_eq!(
            e.to_string(),
            "Failed to rescue instance None for node 1be26c0b-03f2-4d2e-ae87-c02d7f33c123: Validation failed: Driver fake-hardware does not support rescue (disabled or not implemented)."
        );
    }

    #[test]
    fn passwords_must_not_be_blank_and_verbs_are_checked_first() {
        assert!(required_password(Some("  ".into())).is_err());
        assert!(required_password(None).is_err());
        let mut node = active_node("fake");
        node.provision_state = ProvisionState::Available;
        let e = check_allowed(&node, ProvisionVerb::Rescue).unwrap_err();
        assert!(e.to_string().contains("while it is in state \"available\""));
        node.provision_state = ProvisionState::Rescue;
        assert!(check_allowed(&node, ProvisionVerb::Unrescue).is_ok());
        assert!(check_allowed(&node, ProvisionVerb::Deleted).is_ok());
    }
}
