//! Node RPCs: create, update, destroy, maintenance, validation and VIFs. Power and
//! provisioning live in their own modules.

mod document;
mod interfaces;
mod power;
mod provision;
mod rescue;
mod traits;

use json_patch::PatchOperation;

use common::Error;
use common::db::{AnyConnection, nodes, ports, reservation, volume_connectors, volume_targets};
use common::model::node::Node;
use common::model::port::{Port, VIF_KEY};
use common::model::states::ProvisionState;
use common::model::volume::{VolumeConnector, VolumeTarget};
use common::patch;
use common::rpc::{Reply, Response};

use crate::Conductor;
use crate::context::Context;
use crate::drivers::validation::{NodeView, validate_all};
use crate::drivers::{Driver, hardware};
use crate::task::{Planned, Read};

pub use interfaces::{set_target_raid_config, vendor_passthru};
pub use power::change_node_power_state;
pub use provision::do_provisioning_action;
pub use rescue::do_node_rescue;
pub use traits::{add_node_traits, remove_node_traits};

/// States in which the driver and interfaces may change (besides maintenance).
const INTERFACE_UPDATE_STATES: [ProvisionState; 5] = [
    ProvisionState::Enroll,
    ProvisionState::Inspecting,
    ProvisionState::InspectWait,
    ProvisionState::Manageable,
    ProvisionState::Available,
];

/// States from which a node may be deleted (besides maintenance).
const DELETE_ALLOWED_STATES: [ProvisionState; 4] = [
    ProvisionState::Manageable,
    ProvisionState::Enroll,
    ProvisionState::AdoptFailed,
    ProvisionState::Available,
];

/// The internal id of the node with this UUID (or name).
pub(crate) async fn node_id(c: &Conductor, ident: &str) -> Result<i64, Error> {
    let ident = ident.to_string();
    c.db.run(move |conn| nodes::id_of(conn, &ident)).await
}

/// Runs `work` under the lock of the node with this UUID (or name), looked up in the
/// same trip to the database ([`Conductor::with_planned_lock`]).
pub(crate) async fn with_lock<T, F>(
    c: &Conductor,
    ctx: &Context,
    ident: &str,
    purpose: &str,
    work: F,
) -> Result<T, Error>
where
    T: Send + 'static,
    F: FnOnce(&mut AnyConnection, Node) -> Result<T, Error> + Send + 'static,
{
    let ident = ident.to_string();
    let plan = move |conn: &mut AnyConnection, how: Read| match how {
        Read::Plain => Ok(Planned::on(nodes::id_of(conn, &ident)?, ())),
        Read::Holding => Ok(Planned::held(reservation::hold_named(conn, &ident)?, ())),
    };
    c.with_planned_lock(ctx, purpose, plan, move |conn, node, ()| work(conn, node))
        .await
}

/// Saves `node` and returns it as stored, without the lock that is about to be released.
pub(crate) fn save(conn: &mut AnyConnection, node: &Node) -> Result<Node, Error> {
    let mut saved = nodes::update(conn, node)?;
    saved.reservation = None;
    Ok(saved)
}

fn associated(node: &Node, instance: &str) -> Error {
    Error::conflict(format!(
        "Node {} is associated with instance {instance}.",
        node.uuid
    ))
}

pub async fn create_node(c: &Conductor, ctx: &Context, mut node: Node) -> Response {
    document::check_fields(&mut node)?;
    hardware::fill_and_check(&mut node)?;
    c.write(ctx, move |conn| {
        Ok(Reply::Node(nodes::create(conn, &node)?))
    })
    .await
}

/// The driver and interfaces change only while the node is not in use.
fn check_interface_change(current: &Node, updated: &Node) -> Result<(), Error> {
    let mut changed: Vec<String> = common::model::node::INTERFACES
        .iter()
        .filter(|k| current.interfaces.get(k) != updated.interfaces.get(k))
        .map(|k| format!("{k}_interface"))
        .collect();
    if current.driver != updated.driver {
        changed.insert(0, "driver".into());
    }
    let allowed = current.maintenance || INTERFACE_UPDATE_STATES.contains(&current.provision_state);
    match changed.first() {
        Some(field) if !allowed => Err(Error::conflict(format!(
            "Node {} can not have {field} updated unless it is in one of allowed ({}) states or in maintenance mode.",
            current.uuid,
            INTERFACE_UPDATE_STATES
                .map(ProvisionState::as_str)
                .join(", ")
        ))),
        _ => Ok(()),
    }
}

fn apply_update(node: Node, ops: &[PatchOperation]) -> Result<Node, Error> {
    let mut updated = document::patched(&node, ops)?;
    if let (Some(current), Some(new)) = (&node.instance_uuid, &updated.instance_uuid)
        && current != new
    {
        return Err(associated(&node, current));
    }
    check_interface_change(&node, &updated)?;
    if let Some(name) = &updated.name
        && !common::model::node::is_valid_name(name)
    {
        return Err(Error::invalid(format!(
            "Node {}: Cannot change name to invalid name '{name}'",
            node.uuid
        )));
    }
    document::check_fields(&mut updated)?;
    hardware::fill_and_check(&mut updated)?;
    if !updated.maintenance {
        updated.maintenance_reason = None;
        updated.fault = None;
    }
    Ok(updated)
}

pub async fn update_node(
    c: &Conductor,
    ctx: &Context,
    uuid: String,
    ops: Vec<PatchOperation>,
) -> Response {
    // Refuse malformed patches before waiting for the lock.
    patch::check_allowed(&ops, &document::PATCHABLE)?;
    with_lock(c, ctx, &uuid, "node update", move |conn, node| {
        let updated = apply_update(node, &ops)?;
        Ok(Reply::Node(save(conn, &updated)?))
    })
    .await
}

fn check_deletable(node: &Node) -> Result<(), Error> {
    if node.maintenance {
        return Ok(());
    }
    if let Some(instance) = &node.instance_uuid {
        return Err(associated(node, instance));
    }
    if !DELETE_ALLOWED_STATES.contains(&node.provision_state) {
        return Err(Error::conflict(format!(
            "Can not delete node \"{}\" while it is in provision state \"{}\". Valid provision states to perform deletion are: \"({})\", or set the node into maintenance mode",
            node.uuid,
            node.provision_state,
            DELETE_ALLOWED_STATES
                .iter()
                .map(|s| format!("'{s}'"))
                .collect::<Vec<_>>()
                .join(", ")
        )));
    }
    Ok(())
}

pub async fn destroy_node(c: &Conductor, ctx: &Context, uuid: String) -> Response {
    with_lock(c, ctx, &uuid, "node deletion", move |conn, node| {
        check_deletable(&node)?;
        // Ports, connectors and targets go with the node (ON DELETE CASCADE).
        nodes::delete(conn, node.id)?;
        Ok(Reply::Done)
    })
    .await
}

pub async fn set_maintenance(
    c: &Conductor,
    ctx: &Context,
    uuid: String,
    maintenance: bool,
    reason: Option<String>,
) -> Response {
    with_lock(c, ctx, &uuid, "node maintenance", move |conn, mut node| {
        node.maintenance = maintenance;
        node.maintenance_reason = if maintenance { reason } else { None };
        if !maintenance {
            node.fault = None;
        }
        save(conn, &node)?;
        Ok(Reply::Done)
    })
    .await
}

/// What the interfaces of a node look at besides the node itself.
type NodeParts = (Vec<Port>, Vec<VolumeConnector>, Vec<VolumeTarget>);

fn load_parts(conn: &mut AnyConnection, node: &Node) -> Result<NodeParts, Error> {
    Ok((
        ports::list_for_node(conn, node.id)?,
        volume_connectors::list_for_node(conn, node.id)?,
        volume_targets::list_for_node(conn, node.id)?,
    ))
}

fn view<'a>(node: &'a Node, driver: &'a Driver, parts: &'a NodeParts) -> NodeView<'a> {
    let (ports, connectors, targets) = parts;
    NodeView {
        node,
        driver,
        ports,
        connectors,
        targets,
        cinder_configured: driver.cinder_configured,
    }
}

/// Validation reads the node without locking it, so it works on locked nodes too.
pub async fn validate_driver_interfaces(c: &Conductor, uuid: String) -> Response {
    let bmcs = c.bmcs.clone();
    let cinder = c.cinder.clone();
    c.db.run(move |conn| {
        let node = nodes::get_by_ident(conn, &uuid)?;
        let driver = Driver::with_cinder(&node, &bmcs, cinder.as_ref())?;
        let parts = load_parts(conn, &node)?;
        Ok(Reply::Validation(validate_all(&view(
            &node, &driver, &parts,
        ))))
    })
    .await
}

pub async fn vif_attach(c: &Conductor, ctx: &Context, uuid: String, vif: String) -> Response {
    with_lock(c, ctx, &uuid, "attach vif", move |conn, node| {
        if !node.binds_vifs() {
            return Ok(Reply::Done);
        }
        if let Some(port) = ports::find_by_vif(conn, &vif)? {
            return Err(Error::conflict(format!(
                "Unable to attach VIF {vif}, it is already attached to port {} of node {}.",
                port.uuid, port.node_uuid
            )));
        }
        // PXE-enabled ports first, then the oldest, as Ironic prefers them.
        let mut free: Vec<_> = ports::list_for_node(conn, node.id)?
            .into_iter()
            .filter(|p| p.vif().is_none())
            .collect();
        free.sort_by_key(|p| (!p.pxe_enabled, p.id));
        let Some(mut port) = free.into_iter().next() else {
            return Err(Error::invalid(format!(
                "Unable to attach VIF {vif}, not enough free physical ports."
            )));
        };
        port.internal_info.insert(VIF_KEY.into(), vif.into());
        ports::update(conn, &port)?;
        Ok(Reply::Done)
    })
    .await
}

pub async fn vif_detach(c: &Conductor, ctx: &Context, uuid: String, vif: String) -> Response {
    with_lock(c, ctx, &uuid, "detach vif", move |conn, node| {
        if !node.binds_vifs() {
            return Ok(Reply::Done);
        }
        let bound = ports::list_for_node(conn, node.id)?
            .into_iter()
            .find(|p| p.vif() == Some(vif.as_str()));
        let Some(mut port) = bound else {
            return Err(Error::invalid(format!(
                "Unable to detach VIF {vif} from node {} because it is not attached to it.",
                node.uuid
            )));
        };
        port.internal_info.remove(VIF_KEY);
        ports::update(conn, &port)?;
        Ok(Reply::Done)
    })
    .await
}
