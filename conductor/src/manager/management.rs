//! `get_boot_device`, `set_boot_device`, `get_supported_boot_devices` and `inject_nmi`:
//! the management interface, under the node's lock except for the list of supported
//! devices (Ironic takes a shared lock for it, which never waits).
//!
//! They talk to the BMC, so they run under the lock but outside any transaction.

use common::Error;
use common::db::nodes;
use common::model::node::Node;
use common::model::states::BootDevice;
use common::rpc::{Reply, Response};

use super::node::node_id;
use crate::Conductor;
use crate::context::Context;
use crate::drivers::Driver;

/// The node as it is now, with its driver, its management interface validated.
async fn managed(c: &Conductor, id: i64) -> Result<(Node, Driver), Error> {
    let node = c.db.run(move |conn| nodes::get_by_id(conn, id)).await?;
    let driver = Driver::for_node(&node, &c.bmcs)?;
    driver.management.validate(&node).map_err(Error::Invalid)?;
    Ok((node, driver))
}

/// A failure of the hardware, worded as Ironic's driver errors: what failed, on
/// which node, and why.
fn failed(node: &Node, what: &str, reason: String) -> Error {
    let interface = node.interfaces.management.as_deref().unwrap_or_default();
    tracing::warn!(node = %node.uuid, interface, reason, "{what} failed");
    Error::DriverFailed(format!(
        "The {interface} management interface could not {what} for node {}. Error: {reason}",
        node.uuid
    ))
}

pub async fn get_boot_device(c: &Conductor, uuid: String) -> Response {
    let id = node_id(c, &uuid).await?;
    c.with_node_lock_io(id, "getting boot device", async {
        let (node, driver) = managed(c, id).await?;
        let state = driver
            .management
            .get_boot_device(&node)
            .await
            .map_err(|e| failed(&node, "get the boot device", e))?;
        Ok(Reply::BootDevice(state))
    })
    .await
}

/// `device` as the client sent it: a name the interface does not support is refused
/// in Ironic's words, which repeat it.
pub async fn set_boot_device(
    c: &Conductor,
    uuid: String,
    device: String,
    persistent: bool,
) -> Response {
    let id = node_id(c, &uuid).await?;
    c.with_node_lock_io(id, "setting boot device", async {
        let (node, driver) = managed(c, id).await?;
        let supported = driver
            .management
            .supported_boot_devices(&node)
            .await
            .map_err(|e| failed(&node, "list the boot devices", e))?;
        let chosen = device
            .parse::<BootDevice>()
            .ok()
            .filter(|d| supported.contains(d))
            .ok_or_else(|| Error::invalid(format!("Invalid boot device {device} specified.")))?;
        driver
            .management
            .set_boot_device(&node, chosen, persistent)
            .await
            .map_err(|e| failed(&node, "set the boot device", e))?;
        Ok(Reply::Done)
    })
    .await
}

pub async fn get_supported_boot_devices(c: &Conductor, uuid: String) -> Response {
    let bmcs = c.bmcs.clone();
    let node =
        c.db.run(move |conn| nodes::get_by_ident(conn, &uuid))
            .await?;
    let driver = Driver::for_node(&node, &bmcs)?;
    let devices = driver
        .management
        .supported_boot_devices(&node)
        .await
        .map_err(|e| failed(&node, "list the boot devices", e))?;
    Ok(Reply::BootDevices(devices))
}

/// An NMI is not idempotent: a copy of the request that arrives after the first one
/// injected it finds it recorded (under the same lock) and injects nothing.
pub async fn inject_nmi(c: &Conductor, ctx: &Context, uuid: String) -> Response {
    let id = node_id(c, &uuid).await?;
    c.with_node_lock_io(id, "inject nmi", async {
        let (node, driver) = managed(c, id).await?;
        if !driver.management.supports_nmi() {
            return Err(Error::unsupported_extension(&node.driver, "inject_nmi"));
        }
        // A copy that finds the request applied ends here, answered `Done` by the handler.
        c.plan(ctx, |_| Ok(())).await?;
        driver
            .management
            .inject_nmi(&node)
            .await
            .map_err(|e| failed(&node, "inject an NMI", e))?;
        c.write(ctx, |_| Ok(Reply::Done)).await
    })
    .await
}
