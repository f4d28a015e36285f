//! The provision state machine subset (spec: node-subset.md §5). Every transition
//! completes before the reply and is stored once, in the state it ends in: verification
//! reads the power state, cleaning has no automated steps, a deploy either boots an
//! existing volume or (with the `fake` deploy interface) does nothing, and a tear-down
//! removes what the instance left behind.
//!
//! Refusals are errors (nothing changes); failures during a transition are states
//! (`deploy failed`, `error`, back to `enroll`) with `last_error` set.

use serde_json::Value;

use common::Error;
use common::db::{AnyConnection, nodes, ports, volume_targets};
use common::model::node::Node;
use common::model::port::VIF_KEY;
use common::model::states::{ProvisionState, ProvisionVerb};
use common::model::{JsonObject, now};
use common::rpc::{Reply, Response};

use super::{NodeParts, load_parts, node_id, save, view};
use crate::Conductor;
use crate::context::Context;
use crate::drivers::Driver;
use crate::drivers::storage::{INTERNAL_INFO_KEYS, Volumes, changed_targets};

/// The states each verb this state machine knows is allowed from (Ironic's table).
fn allowed_from(verb: ProvisionVerb) -> Option<&'static [ProvisionState]> {
    use ProvisionState::*;
    Some(match verb {
        ProvisionVerb::Manage => &[Enroll, Available, CleanFailed],
        ProvisionVerb::Provide => &[Manageable],
        ProvisionVerb::Clean => &[Manageable],
        ProvisionVerb::Active => &[Available, DeployFailed],
        ProvisionVerb::Rebuild => &[Active, Error, DeployFailed],
        ProvisionVerb::Deleted => &[
            Active,
            DeployFailed,
            WaitCallback,
            Error,
            Rescue,
            RescueWait,
            RescueFailed,
            UnrescueFailed,
        ],
        ProvisionVerb::Abort => &[CleanWait, RescueWait],
        ProvisionVerb::Rescue => &[Active, Rescue, RescueFailed, UnrescueFailed],
        ProvisionVerb::Unrescue => &[Rescue, RescueFailed, UnrescueFailed],
        ProvisionVerb::Inspect => &[Manageable, InspectFailed],
        ProvisionVerb::Adopt => &[Manageable, AdoptFailed],
        _ => return None,
    })
}

fn not_supported(verb: ProvisionVerb) -> Error {
    Error::invalid(format!(
        "The requested action \"{verb}\" is not supported by sanlink."
    ))
}

pub(super) fn check_allowed(node: &Node, verb: ProvisionVerb) -> Result<(), Error> {
    let states = allowed_from(verb).ok_or_else(|| not_supported(verb))?;
    if !states.contains(&node.provision_state) {
        return Err(Error::invalid_state(
            verb.as_str(),
            &node.uuid,
            Some(node.provision_state.as_str()),
        ));
    }
    if node.maintenance && matches!(verb, ProvisionVerb::Active | ProvisionVerb::Rebuild) {
        return Err(Error::invalid(format!(
            "The requested action \"{verb}\" can not be performed on node \"{}\" while it is in maintenance mode.",
            node.uuid
        )));
    }
    Ok(())
}

/// Ends the transition in `state`.
pub(super) fn enter(node: &mut Node, state: ProvisionState) {
    node.provision_state = state;
    node.target_provision_state = None;
    node.provision_updated_at = Some(now());
}

pub(super) fn fail(node: &mut Node, state: ProvisionState, error: String) {
    enter(node, state);
    node.last_error = Some(error);
}

pub async fn do_provisioning_action(
    c: &Conductor,
    ctx: &Context,
    uuid: String,
    verb: ProvisionVerb,
    configdrive: Option<Value>,
) -> Response {
    let id = node_id(c, &uuid).await?;
    // BMC calls happen between reading and saving the node, under its lock but
    // outside any transaction.
    c.with_node_lock_io(id, "provision action", async {
        let (mut node, parts) =
            c.db.run(move |conn| {
                let node = nodes::get_by_id(conn, id)?;
                let parts = load_parts(conn, &node)?;
                Ok((node, parts))
            })
            .await?;
        check_allowed(&node, verb)?;
        let driver = c.driver(&node)?;
        let mut remove_instance = false;
        let mut volumes = Volumes {
            connectors: parts.1.clone(),
            targets: parts.2.clone(),
        };
        match verb {
            ProvisionVerb::Manage if node.provision_state == ProvisionState::Enroll => {
                verify(&driver, &mut node).await
            }
            ProvisionVerb::Manage => enter(&mut node, ProvisionState::Manageable),
            ProvisionVerb::Provide => clean(&mut node, ProvisionState::Available),
            ProvisionVerb::Clean => clean(&mut node, ProvisionState::Manageable),
            // Aborting a rescue that waits for its ramdisk fails the rescue.
            ProvisionVerb::Abort if node.provision_state == ProvisionState::RescueWait => {
                enter(&mut node, ProvisionState::RescueFailed)
            }
            ProvisionVerb::Abort => enter(&mut node, ProvisionState::CleanFailed),
            ProvisionVerb::Active | ProvisionVerb::Rebuild => {
                deploy(&driver, &mut node, &parts, &mut volumes, configdrive).await?
            }
            ProvisionVerb::Deleted => {
                remove_instance = tear_down(&driver, &mut node, &mut volumes).await
            }
            ProvisionVerb::Inspect => inspect(&mut node)?,
            ProvisionVerb::Adopt => adopt(&driver, &mut node, &parts),
            other => return Err(not_supported(other)),
        }
        let deletes_targets = driver.deploy.deletes_volume_targets();
        // What attaching or detaching recorded in the targets is saved with the node,
        // in the same transaction.
        let changed = changed_targets(&parts.2, volumes.targets);
        c.write(ctx, move |conn| {
            for target in &changed {
                volume_targets::update(conn, target)?;
            }
            if remove_instance {
                remove_instance_leftovers(conn, &mut node, deletes_targets)?;
            }
            save(conn, &node)?;
            Ok(Reply::Done)
        })
        .await
    })
    .await
}

/// enroll -> manageable: the power credentials work and the power state can be read;
/// otherwise back to enroll.
async fn verify(driver: &Driver, node: &mut Node) {
    let read = match driver.power.validate(node) {
        Ok(()) => driver.power.get_power_state(node).await,
        Err(e) => Err(e),
    };
    match read {
        Ok(state) => {
            node.power_state = state;
            node.last_error = None;
            enter(node, ProvisionState::Manageable);
        }
        Err(e) => fail(
            node,
            ProvisionState::Enroll,
            format!("Failed to verify node {}: {e}", node.uuid),
        ),
    }
}

/// Cleaning, which no automated or manual step does anything in yet, ends in `done`.
fn clean(node: &mut Node, done: ProvisionState) {
    node.last_error = None;
    enter(node, done);
}

/// manageable/inspect failed -> manageable. The `fake` inspect interface finds nothing
/// to record and finishes at once, as Ironic's does; `no-inspect` is Ironic's
/// unsupported-extension refusal. Redfish and agent inspection (reading the BMC's
/// inventory, booting the agent) are not built: refused, nothing changes.
fn inspect(node: &mut Node) -> Result<(), Error> {
    match node.interfaces.inspect.as_deref() {
        Some("fake") => {
            node.inspection_started_at = None;
            node.inspection_finished_at = Some(now());
            enter(node, ProvisionState::Manageable);
            Ok(())
        }
        Some("no-inspect") | None => Err(Error::unsupported_extension(&node.driver, "inspect")),
        Some(other) => Err(Error::invalid(format!(
            "The requested action \"inspect\" is not supported by sanlink with the {other} inspect interface."
        ))),
    }
}

/// manageable/adopt failed -> active or adopt failed: the node is taken as already
/// deployed, as Ironic adopts it. Only a ramdisk deploy, which boots the instance
/// from the boot interface every time, needs the boot interface to be valid; sanlink
/// renders a node's boot script from the database on each request, so taking the node
/// over needs nothing more.
fn adopt(driver: &Driver, node: &mut Node, parts: &NodeParts) {
    let ramdisk = node.interfaces.deploy.as_deref() == Some("ramdisk");
    let booted = if ramdisk {
        driver.boot.validate(&view(node, driver, parts))
    } else {
        Ok(())
    };
    match booted {
        Ok(()) => enter(node, ProvisionState::Active),
        Err(reason) => {
            // The power state read before is no longer trusted, as in Ironic.
            node.power_state = None;
            let uuid = node.uuid.clone();
            fail(
                node,
                ProvisionState::AdoptFailed,
                format!("Error while attempting to adopt node {uuid}: {reason}."),
            )
        }
    }
}

/// available/deploy failed/active -> active or deploy failed. A node that does not
/// validate is refused and stays as it was. The deploy runs with the node in
/// `deploying`, as Ironic's does, so that its power-on does not attach the volumes a
/// second time.
async fn deploy(
    driver: &Driver,
    node: &mut Node,
    parts: &NodeParts,
    volumes: &mut Volumes,
    configdrive: Option<Value>,
) -> Result<(), Error> {
    let valid = driver
        .power
        .validate(node)
        .and_then(|()| driver.deploy.validate(&view(node, driver, parts)))
        .and_then(|()| common::model::traits::check_instance_traits(node));
    if let Err(e) = valid {
        return Err(Error::invalid(format!(
            "Failed to validate deploy or power info for node {}: {e}",
            node.uuid
        )));
    }
    if let Some(configdrive) = configdrive {
        node.instance_info.insert("configdrive".into(), configdrive);
    }
    node.provision_state = ProvisionState::Deploying;
    match driver.deploy.deploy(driver, node, volumes).await {
        Ok(()) => {
            node.last_error = None;
            enter(node, ProvisionState::Active);
        }
        Err(e) => fail(node, ProvisionState::DeployFailed, e),
    }
    Ok(())
}

/// active/deploy failed/error: the deploy interface stops the instance. True when that
/// worked and the instance's leftovers are to be removed; otherwise the node is in
/// `error`. The tear-down runs with the node in `deleting`, as Ironic's does, so that
/// its power-off leaves detaching to the tear-down, which tolerates no failure.
async fn tear_down(driver: &Driver, node: &mut Node, volumes: &mut Volumes) -> bool {
    node.provision_state = ProvisionState::Deleting;
    if let Err(e) = driver.deploy.tear_down(driver, node, volumes).await {
        fail(node, ProvisionState::Error, e);
        return false;
    }
    true
}

/// Cleans the node up to available. Volume targets (when the deploy interface deletes
/// them), VIFs, the instance's fields and the boot-from-volume records are removed;
/// volume connectors stay, since they describe the hardware.
fn remove_instance_leftovers(
    conn: &mut AnyConnection,
    node: &mut Node,
    deletes_targets: bool,
) -> Result<(), Error> {
    if deletes_targets {
        for target in volume_targets::list_for_node(conn, node.id)? {
            volume_targets::delete(conn, &target.uuid)?;
        }
    }
    for mut port in ports::list_for_node(conn, node.id)? {
        if port.internal_info.remove(VIF_KEY).is_some() {
            ports::update(conn, &port)?;
        }
    }
    for key in INTERNAL_INFO_KEYS {
        node.driver_internal_info.remove(key);
    }
    node.instance_info = JsonObject::new();
    node.instance_uuid = None;
    clean(node, ProvisionState::Available);
    Ok(())
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use serde_json::json;

    use super::*;
    use crate::drivers::hardware::fill_and_check;
    use crate::drivers::management::BootDevice;
    use crate::drivers::redfish::fake::FakeBmc;
    use crate::drivers::redfish::{Connector, ResetType};
    use crate::drivers::testing::{connector, port, target};
    use common::model::states::PowerState;

    const UUID: &str = "1be26c0b-03f2-4d2e-ae87-c02d7f33c123";
    const UNREACHABLE: &str = "BMC unreachable at https://fake-bmc: connection refused";

    /// An available redfish node that boots its iSCSI volume through `boot`, and its
    /// port, connector and boot volume.
    fn redfish_node(boot: &str) -> (Node, NodeParts) {
        let mut node = Node {
            uuid: UUID.into(),
            driver: "redfish".into(),
            provision_state: ProvisionState::Available,
            ..Node::default()
        };
        fill_and_check(&mut node).unwrap();
        node.interfaces.boot = Some(boot.into());
        node.interfaces.storage = Some("external".into());
        node.driver_info
            .insert("redfish_address".into(), json!("https://bmc"));
        node.properties
            .insert("capabilities".into(), json!("iscsi_boot:true"));
        let mut volume = target("iscsi", 0);
        volume.properties = json!({
            "target_iqn": "iqn.2010-10.org.openstack:volume-1",
            "target_portal": "192.0.2.10:3260",
            "target_lun": 0,
        })
        .as_object()
        .cloned()
        .unwrap();
        let iqn = connector("iqn", "iqn.2024-01.org.example:node-1");
        (node, (vec![port()], vec![iqn], vec![volume]))
    }

    fn volumes(parts: &NodeParts) -> Volumes {
        Volumes {
            connectors: parts.1.clone(),
            targets: parts.2.clone(),
        }
    }

    fn driver(node: &Node, bmc: &FakeBmc) -> Driver {
        let bmcs: Arc<dyn Connector> = Arc::new(bmc.clone());
        Driver::for_node(node, &bmcs).unwrap()
    }

    /// Deploys `node` through `bmc` with its own connectors and targets, no config drive.
    async fn deploy_on(bmc: &FakeBmc, node: &mut Node, parts: &NodeParts) -> Result<(), Error> {
        let driver = driver(node, bmc);
        deploy(&driver, node, parts, &mut volumes(parts), None).await
    }

    #[tokio::test]
    async fn verification_reads_the_power_state_from_the_bmc() {
        let bmc = FakeBmc::new(PowerState::On);
        let (mut node, _) = redfish_node("ipxe");
        node.provision_state = ProvisionState::Enroll;
        verify(&driver(&node, &bmc), &mut node).await;
        assert_eq!(node.provision_state, ProvisionState::Manageable);
        assert_eq!(node.power_state, Some(PowerState::On));
        assert_eq!(node.last_error, None);
    }

    #[tokio::test]
    async fn a_bmc_out_of_reach_leaves_the_node_enrolled_with_the_reason() {
        let bmc = FakeBmc::new(PowerState::On);
        bmc.edit(|s| s.failure = Some(UNREACHABLE.into()));
        let (mut node, _) = redfish_node("ipxe");
        node.provision_state = ProvisionState::Enroll;
        verify(&driver(&node, &bmc), &mut node).await;
        assert_eq!(node.provision_state, ProvisionState::Enroll);
        assert_eq!(node.power_state, None);
        let expected = format!("Failed to verify node {UUID}: {UNREACHABLE}");
        assert_eq!(node.last_error, Some(expected));
    }

    #[tokio::test]
    async fn ipxe_deploys_boot_the_volume_from_the_network() {
        for boot in ["ipxe", "http-ipxe"] {
            let bmc = FakeBmc::new(PowerState::Off);
            let (mut node, parts) = redfish_node(boot);
            deploy_on(&bmc, &mut node, &parts).await.unwrap();
            assert_eq!(node.provision_state, ProvisionState::Active, "{boot}");
            assert_eq!(node.last_error, None, "{boot}");
            assert_eq!(node.power_state, Some(PowerState::On), "{boot}");
            assert_eq!(node.driver_internal_info["boot_from_volume"], json!("t-0"));
            let system = bmc.system();
            assert_eq!(system.boot, Some((BootDevice::Pxe, true)), "{boot}");
            assert_eq!(system.resets, [ResetType::On], "{boot}");
        }
    }

    #[tokio::test]
    async fn a_deploy_the_bmc_refuses_fails_with_the_reason() {
        let bmc = FakeBmc::new(PowerState::Off);
        bmc.edit(|s| s.failure = Some(UNREACHABLE.into()));
        let (mut node, parts) = redfish_node("ipxe");
        deploy_on(&bmc, &mut node, &parts).await.unwrap();
        assert_eq!(node.provision_state, ProvisionState::DeployFailed);
        let expected = format!("Failed to set the boot device of node {UUID}: {UNREACHABLE}");
        assert_eq!(node.last_error, Some(expected));
    }

    #[tokio::test]
    async fn a_node_that_cannot_boot_its_volume_is_refused_unchanged() {
        let bmc = FakeBmc::new(PowerState::Off);
        let (mut node, parts) = redfish_node("pxe");
        let before = node.clone();
        let e = deploy_on(&bmc, &mut node, &parts).await.unwrap_err();
        assert!(
            matches!(&e, Error::Invalid(m) if m.contains("cannot do")),
            "{e:?}"
        );
        assert_eq!(node, before);
        assert!(bmc.system().resets.is_empty());
    }

    #[tokio::test]
    async fn tear_down_powers_the_node_off() {
        let bmc = FakeBmc::new(PowerState::On);
        let (mut node, parts) = redfish_node("ipxe");
        node.provision_state = ProvisionState::Active;
        assert!(tear_down(&driver(&node, &bmc), &mut node, &mut volumes(&parts)).await);
        assert_eq!(node.power_state, Some(PowerState::Off));
        assert_eq!(bmc.system().resets, [ResetType::ForceOff]);
    }

    #[tokio::test]
    async fn a_failed_tear_down_puts_the_node_in_error() {
        let bmc = FakeBmc::new(PowerState::On);
        bmc.edit(|s| s.failure = Some(UNREACHABLE.into()));
        let (mut node, parts) = redfish_node("ipxe");
        node.provision_state = ProvisionState::Active;
        node.power_state = Some(PowerState::On);
        assert!(!tear_down(&driver(&node, &bmc), &mut node, &mut volumes(&parts)).await);
        assert_eq!(node.provision_state, ProvisionState::Error);
        assert_eq!(node.power_state, Some(PowerState::On));
        let expected = format!(
            "Failed to change power state to 'power off' by 'redfish'. Error: {UNREACHABLE}"
        );
        assert_eq!(node.last_error, Some(expected));
    }

    #[test]
    fn verbs_are_refused_from_states_they_do_not_leave() {
        let (mut node, _) = redfish_node("ipxe");
        node.provision_state = ProvisionState::Active;
        let e = check_allowed(&node, ProvisionVerb::Manage).unwrap_err();
        assert!(matches!(&e, Error::Invalid(m) if m.contains("while it is in state \"active\"")));
        let e = check_allowed(&node, ProvisionVerb::Inspect).unwrap_err();
        assert!(matches!(&e, Error::Invalid(m) if m.contains("while it is in state \"active\"")));
        let e = check_allowed(&node, ProvisionVerb::Deploy).unwrap_err();
        assert!(matches!(&e, Error::Invalid(m) if m.contains("not supported by sanlink")));
        assert!(check_allowed(&node, ProvisionVerb::Deleted).is_ok());
    }
}
