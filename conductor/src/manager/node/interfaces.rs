//! Node RPCs that reach the RAID and vendor interfaces: storing a target RAID
//! configuration and calling vendor passthru methods.

use serde_json::Value;

use common::Error;
use common::db::nodes;
use common::rpc::{Reply, Response};

use super::{node_id, save, with_lock};
use crate::Conductor;
use crate::context::Context;
use crate::drivers::{raid, vendor};

/// Checks the configuration with the node's RAID interface and stores it. An empty
/// configuration clears the target unchecked, whatever the interface, as in Ironic.
pub async fn set_target_raid_config(
    c: &Conductor,
    ctx: &Context,
    uuid: String,
    config: Value,
) -> Response {
    let Value::Object(config) = config else {
        return Err(Error::invalid(format!(
            "Expected types <class 'dict'> for target_raid_config: {config}"
        )));
    };
    with_lock(
        c,
        ctx,
        &uuid,
        "setting target RAID config",
        move |conn, mut node| {
            if !config.is_empty() {
                raid::validate_raid_config(&node, &config)?;
            }
            node.target_raid_config = config;
            save(conn, &node)?;
            Ok(Reply::Done)
        },
    )
    .await
}

/// Calls a vendor method under the node's lock. Nothing is stored, so a redelivered
/// copy simply calls it again (the methods sanlink runs change nothing).
pub async fn vendor_passthru(
    c: &Conductor,
    uuid: String,
    method: String,
    http_method: String,
    info: Value,
) -> Response {
    let info = match info {
        Value::Object(info) => info,
        Value::Null => Default::default(),
        other => {
            return Err(Error::invalid(format!(
                "The vendor passthru arguments must be an object, not {}.",
                common::schema::py_repr(&other)
            )));
        }
    };
    let id = node_id(c, &uuid).await?;
    c.with_node_lock_io(id, "calling vendor passthru", async {
        let node = c.db.run(move |conn| nodes::get_by_id(conn, id)).await?;
        let found = vendor::find(&node, &method, &http_method)?;
        Ok(Reply::Passthru(vendor::call(
            &node, &method, &found, &info,
        )?))
    })
    .await
}
