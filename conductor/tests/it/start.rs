//! What a conductor does when it starts: it clears its own stale locks and fails the
//! nodes that a dead conductor left mid-transition.

use std::sync::Arc;

use common::config::Settings;
use common::db::{Db, nodes, reservation};
use common::model::node::Node;
use common::model::{new_uuid, now};
use conductor::Conductor;

fn conductor(url: &str) -> Conductor {
    let url = url.to_string();
    let settings = Settings::from_lookup(|name| match name {
        "SANLINK_DATABASE_URL" => Some(url.clone()),
        "SANLINK_CONDUCTOR_HOSTNAME" => Some("c1".into()),
        _ => None,
    })
    .unwrap();
    let db = Db::open(&settings.database_url, 4).unwrap();
    db.upgrade().unwrap();
    Conductor::new(db, Arc::new(settings))
}

async fn node_in(c: &Conductor, state: &str, holder: Option<&str>) -> Node {
    let node = Node {
        uuid: new_uuid(),
        driver: "fake-hardware".into(),
        provision_state: state.into(),
        target_provision_state: Some("active".into()),
        created_at: now(),
        ..Node::default()
    };
    let holder = holder.map(str::to_string);
    c.db.run(move |conn| {
        let node = nodes::create(conn, &node)?;
        if let Some(h) = holder {
            reservation::reserve(conn, node.id, &h)?;
        }
        nodes::get_by_id(conn, node.id)
    })
    .await
    .unwrap()
}

async fn reload(c: &Conductor, id: i64) -> Node {
    c.db.run(move |conn| nodes::get_by_id(conn, id))
        .await
        .unwrap()
}

#[tokio::test]
async fn start_fails_abandoned_nodes_and_clears_its_own_locks() {
    let dir = std::env::temp_dir().join(format!("sanlink-start-{}", new_uuid()));
    let c = conductor(&format!("sqlite://{}/db.sqlite", dir.display()));
    let abandoned = node_in(&c, "deploying", None).await;
    let own = node_in(&c, "deploying", Some("c1")).await;
    let busy = node_in(&c, "deploying", Some("c2")).await;
    let settled = node_in(&c, "active", None).await;
    c.start().await.unwrap();

    let n = reload(&c, abandoned.id).await;
    assert_eq!(n.provision_state, "deploy failed");
    assert_eq!(n.target_provision_state, None);
    assert!(n.last_error.unwrap().contains("conductor restart"));
    assert_eq!(n.reservation, None);
    // Its own lock from an earlier run is released, and the node is then failed too.
    let n = reload(&c, own.id).await;
    assert_eq!(
        (n.provision_state.as_str(), n.reservation),
        ("deploy failed", None)
    );
    // Another live conductor's node is left alone.
    let n = reload(&c, busy.id).await;
    assert_eq!(
        (n.provision_state.as_str(), n.reservation.as_deref()),
        ("deploying", Some("c2"))
    );
    assert_eq!(reload(&c, settled.id).await.provision_state, "active");
}
