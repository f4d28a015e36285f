//! Operator commands that act on the database directly: listing conductors and
//! releasing a node lock a conductor left behind.

use std::io::{BufRead, Write};

use chrono::Duration;

use crate::config::Settings;
use crate::db::{Db, conductors, nodes};
use crate::error::Error;

/// `conductor list`: every registered conductor, whether it is alive (online with a
/// heartbeat younger than `SANLINK_HEARTBEAT_TIMEOUT`), and its last heartbeat (UTC).
pub fn conductor_list(db: &Db, settings: &Settings) -> Result<(), String> {
    let timeout = Duration::from_std(settings.heartbeat_timeout).unwrap_or(Duration::seconds(60));
    let (all, alive) = db
        .with_conn(|conn| Ok((conductors::list(conn)?, conductors::alive(conn, timeout)?)))
        .map_err(|e| e.to_string())?;
    let width = all
        .iter()
        .map(|c| c.hostname.len())
        .max()
        .unwrap_or(0)
        .max(8);
    println!(
        "{:<width$}  {:<5}  last heartbeat (UTC)",
        "hostname", "alive"
    );
    for c in &all {
        let is_alive = if alive.contains(&c.hostname) {
            "yes"
        } else {
            "no"
        };
        println!(
            "{:<width$}  {:<5}  {}",
            c.hostname,
            is_alive,
            c.updated_at.format("%Y-%m-%d %H:%M:%S")
        );
    }
    Ok(())
}

/// `node release-lock IDENT [--yes]`: clears a node's reservation whoever holds it,
/// after asking on the terminal unless `yes`. For a lock whose conductor is gone but
/// still heartbeats (e.g. a hung process); a dead one's locks are released by the
/// others on their own.
pub fn release_lock(db: &Db, ident: &str, yes: bool) -> Result<(), String> {
    let node = db
        .with_conn(|conn| nodes::get_by_ident(conn, ident))
        .map_err(|e| e.to_string())?;
    let Some(holder) = node.reservation.clone() else {
        println!("node {} is not locked", node.uuid);
        return Ok(());
    };
    if !yes
        && !confirm(&format!(
            "node {} is locked by conductor {holder}; release the lock? [y/N] ",
            node.uuid
        ))
    {
        return Err("not released".into());
    }
    let released = db
        .with_conn(|conn| release_held_by(conn, node.id, &holder))
        .map_err(|e| e.to_string())?;
    if released {
        tracing::warn!(node = %node.uuid, holder, "node lock released by an operator");
        println!("released the lock of node {} held by {holder}", node.uuid);
        Ok(())
    } else {
        Err(format!(
            "node {} changed hands meanwhile; nothing released",
            node.uuid
        ))
    }
}

/// Releases the lock only if `holder` still has it, so a lock taken since the prompt
/// by a working conductor is left alone.
fn release_held_by(
    conn: &mut crate::db::AnyConnection,
    id: i64,
    holder: &str,
) -> Result<bool, Error> {
    use crate::db::schema::nodes;
    use diesel::prelude::*;
    let changed = crate::db::update::update_where(
        nodes::table,
        nodes::id.eq(id).and(nodes::reservation.eq(holder)),
        nodes::reservation.eq(None::<&str>),
    )
    .execute(conn)?;
    Ok(changed == 1)
}

/// Asks on standard error and reads a line from standard input; only `y`/`yes` agree.
fn confirm(question: &str) -> bool {
    eprint!("{question}");
    let _ = std::io::stderr().flush();
    let mut answer = String::new();
    if std::io::stdin().lock().read_line(&mut answer).is_err() {
        return false;
    }
    matches!(answer.trim().to_ascii_lowercase().as_str(), "y" | "yes")
}
