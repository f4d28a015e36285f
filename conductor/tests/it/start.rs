//! What a conductor does when it starts: it clears the locks an earlier run of the same
//! host left behind, and leaves other conductors' locks alone.

use std::sync::Arc;

use common::config::Settings;
use common::db::{Db, nodes, reservation};
use common::model::node::Node;
use common::model::states::ProvisionState;
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

async fn node_locked_by(c: &Conductor, holder: Option<&str>) -> Node {
    let node = Node {
        uuid: new_uuid(),
        driver: "fake-hardware".into(),
        provision_state: ProvisionState::Active,
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
async fn start_clears_its_own_locks_only() {
    let dir = std::env::temp_dir().join(format!("sanlink-start-{}", new_uuid()));
    let c = conductor(&format!("sqlite://{}/db.sqlite", dir.display()));
    let own = node_locked_by(&c, Some("c1")).await;
    let busy = node_locked_by(&c, Some("c2")).await;
    let free = node_locked_by(&c, None).await;
    c.start().await.unwrap();

    assert_eq!(reload(&c, own.id).await.reservation, None);
    assert_eq!(reload(&c, busy.id).await.reservation.as_deref(), Some("c2"));
    let n = reload(&c, free.id).await;
    assert_eq!(
        (n.provision_state, n.reservation),
        (ProvisionState::Active, None)
    );
}
