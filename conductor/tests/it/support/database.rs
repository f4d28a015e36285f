//! A database of the test's own, on the backend `TEST_DATABASE` names: `sqlite`
//! (default, a temp file), `postgres` or `mysql`. On a server it is created through the
//! server's default database (`TEST_PG_URL`, default `postgres://postgres@127.0.0.1:5432/`;
//! `TEST_MYSQL_URL`, default `mysql://root@127.0.0.1:3306/`) and dropped with the value.

use diesel::connection::SimpleConnection;

use common::db::{Backend, Db};

pub struct Database {
    pub url: String,
    /// The server's default database and this database's name, to drop it.
    server: Option<(Db, String)>,
}

impl Database {
    pub fn fresh() -> Database {
        let name = format!("sanlink_c_{}", uuid::Uuid::new_v4().simple());
        let (var, default, admin_db, create) = match backend() {
            Backend::Sqlite => {
                let path = std::env::temp_dir().join(format!("{name}.sqlite"));
                return Database {
                    url: format!("sqlite://{}", path.display()),
                    server: None,
                };
            }
            Backend::Postgres => (
                "TEST_PG_URL",
                "postgres://postgres@127.0.0.1:5432/",
                "postgres",
                name.clone(),
            ),
            // Same collation as the migrations' tables: exact, case-sensitive matches.
            Backend::Mysql => (
                "TEST_MYSQL_URL",
                "mysql://root@127.0.0.1:3306/",
                "mysql",
                format!("{name} CHARACTER SET utf8mb4 COLLATE utf8mb4_bin"),
            ),
        };
        let server = std::env::var(var)
            .ok()
            .filter(|v| !v.is_empty())
            .unwrap_or_else(|| default.to_string());
        let admin = Db::open(&with_database(&server, admin_db), 1).unwrap();
        execute(&admin, &format!("CREATE DATABASE {create}"));
        Database {
            url: with_database(&server, &name),
            server: Some((admin, name)),
        }
    }

    pub fn backend(&self) -> Backend {
        backend()
    }

    /// Runs `sql` on this database, over a connection of its own.
    pub fn execute(&self, sql: &str) {
        execute(&Db::open(&self.url, 1).unwrap(), sql);
    }
}

impl Drop for Database {
    fn drop(&mut self) {
        match &self.server {
            Some((admin, name)) if admin.backend() == Backend::Postgres => {
                // Conductors' pools may still hold connections; FORCE ends them.
                execute(
                    admin,
                    &format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)"),
                )
            }
            Some((admin, name)) => execute(admin, &format!("DROP DATABASE IF EXISTS {name}")),
            None => {
                let path = self.url.trim_start_matches("sqlite://");
                for suffix in ["", "-wal", "-shm"] {
                    let _ = std::fs::remove_file(format!("{path}{suffix}"));
                }
            }
        }
    }
}

fn backend() -> Backend {
    match std::env::var("TEST_DATABASE").unwrap_or_default().as_str() {
        "" | "sqlite" => Backend::Sqlite,
        "postgres" | "postgresql" => Backend::Postgres,
        "mysql" | "mariadb" => Backend::Mysql,
        other => panic!("TEST_DATABASE={other:?}: expected sqlite, postgres or mysql"),
    }
}

fn execute(db: &Db, sql: &str) {
    db.with_conn(|conn| Ok(conn.batch_execute(sql)?))
        .unwrap_or_else(|e| panic!("{sql}: {e}"));
}

/// `url` with its path replaced by `/<database>` (query kept).
fn with_database(url: &str, database: &str) -> String {
    let (scheme, rest) = url.split_once("://").expect("a database URL has a scheme");
    let (authority, tail) = rest.split_once('/').unwrap_or((rest, ""));
    match tail.split_once('?') {
        Some((_, query)) => format!("{scheme}://{authority}/{database}?{query}"),
        None => format!("{scheme}://{authority}/{database}"),
    }
}
