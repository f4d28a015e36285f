//! A conductor on a fresh SQLite database, and nodes in it, for tests that drive the
//! conductor directly.

use std::sync::{Arc, Mutex};

use common::config::Settings;
use common::db::{Db, nodes};
use common::model::node::Node;
use common::model::states::{PowerState, ProvisionState};
use common::model::{new_uuid, now};
use common::rpc::{Call, Caller, Request, RequestContext};
use conductor::Conductor;

/// A conductor `c1` on its own SQLite file, with `settings` (name, value) on top.
pub fn conductor(settings: &[(&str, &str)]) -> Conductor {
    let dir = std::env::temp_dir().join(format!("sanlink-conductor-{}", new_uuid()));
    conductor_on(
        &format!("sqlite://{}/db.sqlite", dir.display()),
        "c1",
        settings,
    )
}

/// A conductor named `host` on the database at `url` (migrated), with `settings` on top.
pub fn conductor_on(url: &str, host: &str, settings: &[(&str, &str)]) -> Conductor {
    conductor_with_pool(url, host, settings, 4)
}

/// [`conductor_on`] with a pool of `connections` database connections.
pub fn conductor_with_pool(
    url: &str,
    host: &str,
    settings: &[(&str, &str)],
    connections: u32,
) -> Conductor {
    let settings = Settings::from_lookup(|name| match name {
        "SANLINK_DATABASE_URL" => Some(url.to_string()),
        "SANLINK_CONDUCTOR_HOSTNAME" => Some(host.to_string()),
        _ => settings
            .iter()
            .find(|(key, _)| *key == name)
            .map(|(_, value)| value.to_string()),
    })
    .unwrap();
    let db = Db::open(&settings.database_url, connections).unwrap();
    db.upgrade().unwrap();
    Conductor::new(db, Arc::new(settings))
}

/// `call` as a request with id `id` from an anonymous caller, as the gateway sends it.
pub fn request(id: &str, call: Call) -> Request {
    Request::new(
        RequestContext::new(id, Caller::default()),
        std::time::Duration::from_secs(30),
        call,
    )
}

/// A manageable fake-hardware node, powered off.
pub async fn add_node(c: &Conductor) -> Node {
    let node = Node {
        uuid: new_uuid(),
        driver: "fake-hardware".into(),
        provision_state: ProvisionState::Manageable,
        power_state: Some(PowerState::Off),
        created_at: now(),
        ..Node::default()
    };
    c.db.run(move |conn| nodes::create(conn, &node))
        .await
        .unwrap()
}

/// Sets node `id`'s lock holder directly in the database, as a crash or another
/// conductor would have left it.
pub async fn set_reservation(c: &Conductor, id: i64, holder: Option<&str>) {
    let holder = holder.map(str::to_string);
    c.db.run(move |conn| {
        use common::db::schema::nodes::dsl;
        use diesel::prelude::*;
        diesel::update(dsl::nodes.find(id))
            .set(dsl::reservation.eq(holder))
            .execute(conn)?;
        Ok(())
    })
    .await
    .unwrap();
}

/// The statements a connection finished, in order.
pub type Statements = Arc<Mutex<Vec<String>>>;

/// Records the statements of conductor `c`'s connection from now on. Give the conductor
/// one connection (see [`conductor_with_pool`]) to have all of its statements.
pub async fn record_statements(c: &Conductor) -> Statements {
    use diesel::connection::{Connection, InstrumentationEvent};
    let statements = Statements::default();
    let seen = Arc::clone(&statements);
    c.db.run(move |conn| {
        conn.set_instrumentation(move |event: InstrumentationEvent<'_>| {
            if let InstrumentationEvent::FinishQuery { query, .. } = event {
                seen.lock().unwrap().push(query.to_string());
            }
        });
        Ok(())
    })
    .await
    .unwrap();
    statements
}
