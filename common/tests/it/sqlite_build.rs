//! The bundled SQLite is built with the options sanlink relies on (`.cargo/config.toml`).

use common::Error;
use common::db::Db;
use diesel::prelude::*;

#[derive(QueryableByName)]
struct CompileOption {
    #[diesel(sql_type = diesel::sql_types::Text)]
    compile_options: String,
}

fn compile_options() -> Vec<String> {
    let db = Db::open("sqlite://:memory:", 1).unwrap();
    db.with_conn(|conn| {
        let rows: Vec<CompileOption> = diesel::sql_query("PRAGMA compile_options")
            .load(conn)
            .map_err(Error::from)?;
        Ok(rows.into_iter().map(|r| r.compile_options).collect())
    })
    .unwrap()
}

#[test]
fn the_query_planner_stability_guarantee_is_on_so_prepared_statements_are_reused() {
    let options = compile_options();
    assert!(
        options.iter().any(|o| o == "ENABLE_QPSG"),
        "SQLite was built without SQLITE_ENABLE_QPSG: {options:?}"
    );
}

#[test]
fn connections_take_no_mutex_of_their_own() {
    // Multi-thread mode: each connection is used by one thread at a time.
    let options = compile_options();
    assert!(
        options.iter().any(|o| o == "THREADSAFE=2"),
        "SQLite was not built in multi-thread mode: {options:?}"
    );
}
