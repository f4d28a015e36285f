//! `get_console_information` and `set_console_mode`: the node's serial console, through
//! the console interface its `console_interface` names. As in Ironic, reading takes no
//! lock, and setting takes it only when the console must change, so a request for the
//! state the console is already in succeeds on a locked node.

use common::Error;
use common::db::nodes;
use common::model::node::Node;
use common::rpc::{ConsoleState, Reply, Response};

use super::node::save;
use crate::Conductor;
use crate::context::Context;
use crate::drivers::Driver;

async fn read(c: &Conductor, ident: String) -> Result<Node, Error> {
    c.db.run(move |conn| nodes::get_by_ident(conn, &ident))
        .await
}

pub async fn get_console_information(c: &Conductor, uuid: String) -> Response {
    let node = read(c, uuid).await?;
    if !node.console_enabled {
        return Ok(Reply::Console(ConsoleState {
            enabled: false,
            info: None,
        }));
    }
    let driver = Driver::for_node(&node, &c.bmcs)?;
    driver.console.validate(&node)?;
    let info = driver.console.get_console(&node).await.map_err(|e| {
        Error::DriverFailed(format!(
            "Could not read the console of node {}: {e}",
            node.uuid
        ))
    })?;
    Ok(Reply::Console(ConsoleState {
        enabled: true,
        info: Some(info),
    }))
}

/// Starts or stops the console. A failure does not fail the request (Ironic does it
/// in the background after answering): it is the node's `last_error`, and
/// `console_enabled` keeps its value.
pub async fn set_console_mode(
    c: &Conductor,
    ctx: &Context,
    uuid: String,
    enabled: bool,
) -> Response {
    let node = read(c, uuid).await?;
    Driver::for_node(&node, &c.bmcs)?.console.validate(&node)?;
    if node.console_enabled == enabled {
        return Ok(Reply::Done);
    }
    let id = node.id;
    c.with_node_lock_io(id, "setting console mode", async {
        let mut node = c.db.run(move |conn| nodes::get_by_id(conn, id)).await?;
        // Another request may have changed it while this one waited for the lock.
        if node.console_enabled == enabled {
            return Ok(Reply::Done);
        }
        let driver = Driver::for_node(&node, &c.bmcs)?;
        let result = if enabled {
            driver.console.start(&node).await
        } else {
            driver.console.stop(&node).await
        };
        match result {
            Ok(()) => {
                node.console_enabled = enabled;
                node.last_error = None;
            }
            Err(reason) => {
                let op = if enabled { "enabling" } else { "disabling" };
                let error = format!(
                    "Error {op} the console on node {}. Reason: {reason}",
                    node.uuid
                );
                tracing::warn!(node = %node.uuid, error, "console change failed");
                node.last_error = Some(error);
            }
        }
        c.write(ctx, move |conn| {
            save(conn, &node)?;
            Ok(Reply::Done)
        })
        .await
    })
    .await
}
