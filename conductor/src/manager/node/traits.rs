//! Node traits (Ironic's `add_node_traits` / `remove_node_traits`): changed under the
//! node's lock, in any state, kept sorted and without duplicates.
//!
//! A redelivered copy of an applied request is answered from the current state by the
//! idempotency layer; the work itself is also idempotent (adding a trait the node has,
//! or replacing the set with itself, changes nothing).

use std::collections::BTreeSet;

use common::model::node::Node;
use common::model::traits;
use common::rpc::{Reply, Response};

use super::{save, with_lock};
use crate::Conductor;
use crate::context::Context;

pub async fn add_node_traits(
    c: &Conductor,
    ctx: &Context,
    uuid: String,
    new: Vec<String>,
    replace: bool,
) -> Response {
    with_lock(c, ctx, &uuid, "add node traits", move |conn, mut node| {
        let mut set: BTreeSet<String> = if replace {
            BTreeSet::new()
        } else {
            current(&node)
        };
        set.extend(new);
        traits::check_count(node.id, &set)?;
        node.traits = set.into_iter().collect();
        save(conn, &node)?;
        Ok(Reply::Done)
    })
    .await
}

/// Removes `names`, or every trait (`None`). A name the node does not have is a 404
/// and nothing is removed.
pub async fn remove_node_traits(
    c: &Conductor,
    ctx: &Context,
    uuid: String,
    names: Option<Vec<String>>,
) -> Response {
    with_lock(
        c,
        ctx,
        &uuid,
        "remove node traits",
        move |conn, mut node| {
            let mut set = current(&node);
            match names {
                None => set.clear(),
                Some(names) => {
                    for name in names {
                        if !set.remove(&name) {
                            return Err(traits::not_found(&node.uuid, &name));
                        }
                    }
                }
            }
            node.traits = set.into_iter().collect();
            save(conn, &node)?;
            Ok(Reply::Done)
        },
    )
    .await
}

fn current(node: &Node) -> BTreeSet<String> {
    node.traits.iter().cloned().collect()
}
