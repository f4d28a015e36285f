//! Timestamps stored on SQLite read back whatever their text: the shape sanlink writes
//! takes a fast path (`common::db::timestamp`), any other shape SQLite accepts as a
//! date goes to diesel's reader.

use chrono::NaiveDate;
use common::Error;
use common::db::{Db, chassis};
use common::model::chassis::Chassis;
use diesel::connection::SimpleConnection;

/// A fresh, migrated SQLite database in its own directory.
fn database() -> Db {
    let dir = std::env::temp_dir().join(format!("sanlink-timestamps-{}", uuid::Uuid::new_v4()));
    let db = Db::open(&format!("sqlite://{}/test.db", dir.display()), 2).unwrap();
    db.upgrade().unwrap();
    db
}

fn new_chassis() -> Chassis {
    Chassis {
        id: 0,
        uuid: uuid::Uuid::new_v4().to_string(),
        description: None,
        extra: Default::default(),
        created_at: common::model::now(),
        updated_at: None,
    }
}

#[test]
fn every_shape_of_a_stored_timestamp_reads_back() {
    let db = database();
    let new = new_chassis();
    let stored = db.with_conn(|conn| chassis::create(conn, &new)).unwrap();
    assert_eq!(stored.created_at, new.created_at);
    assert_eq!(stored.updated_at, None);

    let day = NaiveDate::from_ymd_opt(2026, 12, 6).unwrap();
    for (text, want) in [
        // As written by this service.
        (
            "2026-12-06 01:02:03.456789",
            day.and_hms_micro_opt(1, 2, 3, 456_789),
        ),
        ("2026-12-06 01:02:03", day.and_hms_opt(1, 2, 3)),
        // Written by hand, or by another tool.
        ("2026-12-06T01:02:03", day.and_hms_opt(1, 2, 3)),
        ("2026-12-06 01:02:03Z", day.and_hms_opt(1, 2, 3)),
        ("2026-12-06 01:02", day.and_hms_opt(1, 2, 0)),
    ] {
        let sql = format!(
            "UPDATE chassis SET created_at = '{text}', updated_at = '{text}' WHERE uuid = '{}'",
            new.uuid
        );
        let read = db
            .with_conn(|conn| {
                conn.batch_execute(&sql).map_err(Error::from)?;
                chassis::get_by_uuid(conn, &new.uuid)
            })
            .unwrap();
        assert_eq!(Some(read.created_at), want, "{text}");
        assert_eq!(read.updated_at, want, "{text}");
    }
}

#[test]
fn a_stored_timestamp_that_is_no_date_is_an_error_not_a_panic() {
    let db = database();
    let c = new_chassis();
    let uuid = c.uuid.clone();
    let read = db.with_conn(|conn| {
        chassis::create(conn, &c)?;
        conn.batch_execute(&format!(
            "UPDATE chassis SET updated_at = 'yesterday' WHERE uuid = '{uuid}'"
        ))
        .map_err(Error::from)?;
        chassis::get_by_uuid(conn, &uuid)
    });
    assert!(read.is_err(), "{read:?}");
}
