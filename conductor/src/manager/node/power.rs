//! `change_node_power_state`. The action itself (volumes attached before an active node
//! powers on, a failure recorded in `last_error`) is shared with deploys and
//! tear-downs: see `drivers::power::power_action`.
//!
//! Power actions may talk to a BMC, so they run under the node lock but outside any
//! database transaction; the node is saved afterwards.

use std::time::Duration;

use common::Error;
use common::db::{nodes, volume_targets};
use common::model::states::PowerTarget;
use common::rpc::{Reply, Response};

use super::{node_id, save};
use crate::Conductor;
use crate::context::Context;
use crate::drivers::Driver;
use crate::drivers::power::power_action;

pub async fn change_node_power_state(
    c: &Conductor,
    ctx: &Context,
    uuid: String,
    target: PowerTarget,
    timeout: Option<u64>,
) -> Response {
    let id = node_id(c, &uuid).await?;
    c.with_node_lock_io(id, "changing node power state", async {
        let (mut node, targets) =
            c.db.run(move |conn| {
                let node = nodes::get_by_id(conn, id)?;
                let targets = volume_targets::list_for_node(conn, id)?;
                Ok((node, targets))
            })
            .await?;
        let driver = Driver::for_node(&node, &c.bmcs)?;
        driver.power.validate(&node).map_err(Error::Invalid)?;
        // The change completes before the reply; a failure is the node's last_error,
        // as it would be after Ironic's asynchronous worker.
        let wait = timeout.map(Duration::from_secs);
        let _ = power_action(&driver, &mut node, &targets, target, wait).await;
        c.write(ctx, move |conn| {
            save(conn, &node)?;
            Ok(Reply::Done)
        })
        .await
    })
    .await
}
