//! The bundled SQLite is built with the options sanlink relies on (`.cargo/config.toml`).

use common::Error;
use common::db::Db;
use diesel::prelude::*;

#[derive(QueryableByName)]
struct CompileOption {
    #[diesel(sql_type = diesel::sql_types::Text)]
    compile_options: String,
}

/// Fails unless the bundled SQLite reports `option` among its compile options.
fn assert_built_with(option: &str) {
    let db = Db::open("sqlite://:memory:", 1).unwrap();
    let options: Vec<String> = db
        .with_conn(|conn| {
            let rows: Vec<CompileOption> = diesel::sql_query("PRAGMA compile_options")
                .load(conn)
                .map_err(Error::from)?;
            Ok(rows.into_iter().map(|r| r.compile_options).collect())
        })
        .unwrap();
    assert!(
        options.iter().any(|o| o == option),
        "SQLite was built without {option}: {options:?}"
    );
}

#[test]
fn the_query_planner_stability_guarantee_is_on_so_prepared_statements_are_reused() {
    assert_built_with("ENABLE_QPSG");
}

#[test]
fn connections_take_no_mutex_of_their_own() {
    // Multi-thread mode: each connection is used by one thread at a time.
    assert_built_with("THREADSAFE=2");
}
