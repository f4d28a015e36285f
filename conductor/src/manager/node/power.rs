//! `change_node_power_state`. The action itself (volumes attached before an active node
//! powers on, a failure recorded in `last_error`) is shared with deploys and
//! tear-downs: see `drivers::power::power_action`.
//!
//! Power actions may talk to a BMC, so they run under the node lock but outside any
//! database transaction; the node is saved afterwards.

use std::time::Duration;

use common::Error;
use common::db::{nodes, volume_connectors, volume_targets};
use common::model::states::PowerTarget;
use common::rpc::{Reply, Response};

use super::{node_id, save};
use crate::Conductor;
use crate::context::Context;
use crate::drivers::power::power_action;
use crate::drivers::storage::{Volumes, changed_targets};

pub async fn change_node_power_state(
    c: &Conductor,
    ctx: &Context,
    uuid: String,
    target: PowerTarget,
    timeout: Option<u64>,
) -> Response {
    let id = node_id(c, &uuid).await?;
    c.with_node_lock_io(id, "changing node power state", async {
        let (mut node, loaded) =
            c.db.run(move |conn| {
                let node = nodes::get_by_id(conn, id)?;
                let volumes = Volumes {
                    connectors: volume_connectors::list_for_node(conn, id)?,
                    targets: volume_targets::list_for_node(conn, id)?,
                };
                Ok((node, volumes))
            })
            .await?;
        let driver = c.driver(&node)?;
        driver.power.validate(&node).map_err(Error::Invalid)?;
        // The change completes before the reply; a failure is the node's last_error,
        // as it would be after Ironic's asynchronous worker.
        let wait = timeout.map(Duration::from_secs);
        let mut volumes = loaded.clone();
        let _ = power_action(&driver, &mut node, &mut volumes, target, wait).await;
        // What attaching recorded in the targets is saved with the node.
        let changed = changed_targets(&loaded.targets, volumes.targets);
        c.write(ctx, move |conn| {
            for target in &changed {
                volume_targets::update(conn, target)?;
            }
            save(conn, &node)?;
            Ok(Reply::Done)
        })
        .await
    })
    .await
}
