//! Reading `TIMESTAMP` columns, fast on SQLite.
//!
//! SQLite stores a timestamp as text, and diesel reads it with chrono's `parse_from_str`,
//! trying a list of patterns, each parsed again on every value: 11 % of a 1000-item
//! list. sanlink writes every timestamp itself (diesel's `%F %T%.f`), so the reader
//! parses that one shape by hand and leaves anything else to diesel. PostgreSQL and
//! MySQL send binary timestamps; diesel reads those.
//!
//! A row field takes these with `#[diesel(deserialize_as = Stamp)]` (or `MaybeStamp` for
//! a nullable column) and stays a `NaiveDateTime`.

use chrono::{NaiveDate, NaiveDateTime};
use diesel::backend::Backend;
use diesel::deserialize::{self, FromSql, FromSqlRow};
use diesel::sql_types::{Nullable, Timestamp};
use diesel::sqlite::Sqlite;

use super::AnyConnection;

type Multi = <AnyConnection as diesel::Connection>::Backend;

/// A timestamp read from a NOT NULL column.
#[derive(Debug, FromSqlRow)]
pub struct Stamp(NaiveDateTime);

/// A timestamp read from a nullable column.
#[derive(Debug, FromSqlRow)]
pub struct MaybeStamp(Option<NaiveDateTime>);

impl From<Stamp> for NaiveDateTime {
    fn from(s: Stamp) -> NaiveDateTime {
        s.0
    }
}

impl From<MaybeStamp> for Option<NaiveDateTime> {
    fn from(s: MaybeStamp) -> Option<NaiveDateTime> {
        s.0
    }
}

impl FromSql<Timestamp, Multi> for Stamp {
    fn from_sql(bytes: <Multi as Backend>::RawValue<'_>) -> deserialize::Result<Self> {
        bytes.from_sql::<Stamp, Timestamp>()
    }
}

impl<DB: Backend> FromSql<Nullable<Timestamp>, DB> for MaybeStamp
where
    Stamp: FromSql<Timestamp, DB>,
{
    fn from_sql(bytes: DB::RawValue<'_>) -> deserialize::Result<Self> {
        <Stamp as FromSql<Timestamp, DB>>::from_sql(bytes).map(|s| MaybeStamp(Some(s.0)))
    }

    fn from_nullable_sql(bytes: Option<DB::RawValue<'_>>) -> deserialize::Result<Self> {
        bytes.map_or(Ok(MaybeStamp(None)), Self::from_sql)
    }
}

impl FromSql<Timestamp, Sqlite> for Stamp {
    fn from_sql(mut value: <Sqlite as Backend>::RawValue<'_>) -> deserialize::Result<Self> {
        if let Some(ts) = parse_stored(value.read_text()) {
            return Ok(Stamp(ts));
        }
        <NaiveDateTime as FromSql<Timestamp, Sqlite>>::from_sql(value).map(Stamp)
    }
}

#[cfg(feature = "postgres")]
impl FromSql<Timestamp, diesel::pg::Pg> for Stamp {
    fn from_sql(value: diesel::pg::PgValue<'_>) -> deserialize::Result<Self> {
        <NaiveDateTime as FromSql<Timestamp, diesel::pg::Pg>>::from_sql(value).map(Stamp)
    }
}

#[cfg(feature = "mysql")]
impl FromSql<Timestamp, diesel::mysql::Mysql> for Stamp {
    fn from_sql(value: diesel::mysql::MysqlValue<'_>) -> deserialize::Result<Self> {
        <NaiveDateTime as FromSql<Timestamp, diesel::mysql::Mysql>>::from_sql(value).map(Stamp)
    }
}

/// `YYYY-MM-DD HH:MM:SS` with an optional fraction of 1 to 9 digits, the shape diesel
/// writes; None for anything else.
fn parse_stored(text: &str) -> Option<NaiveDateTime> {
    let b = text.as_bytes();
    if b.len() < 19 || [b[4], b[7], b[10], b[13], b[16]] != *b"-- ::" {
        return None;
    }
    let date = NaiveDate::from_ymd_opt(
        number(&b[0..4])? as i32,
        number(&b[5..7])?,
        number(&b[8..10])?,
    )?;
    let nanos = match &b[19..] {
        [] => 0,
        [b'.', digits @ ..] if (1..=9).contains(&digits.len()) => {
            number(digits)? * 10u32.pow(9 - digits.len() as u32)
        }
        _ => return None,
    };
    date.and_hms_nano_opt(
        number(&b[11..13])?,
        number(&b[14..16])?,
        number(&b[17..19])?,
        nanos,
    )
}

/// The value of a run of ASCII digits (at most 9 of them).
fn number(digits: &[u8]) -> Option<u32> {
    digits.iter().try_fold(0u32, |n, &d| {
        d.is_ascii_digit().then(|| n * 10 + u32::from(d - b'0'))
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_what_diesel_writes() {
        let day = NaiveDate::from_ymd_opt(2026, 12, 6).unwrap();
        for ts in [
            day.and_hms_opt(0, 0, 0).unwrap(),
            day.and_hms_micro_opt(23, 59, 59, 1).unwrap(),
            day.and_hms_micro_opt(9, 8, 7, 120_000).unwrap(),
            day.and_hms_nano_opt(1, 2, 3, 999_999_999).unwrap(),
            crate::model::now(),
        ] {
            let text = ts.format("%F %T%.f").to_string();
            assert_eq!(parse_stored(&text), Some(ts), "{text}");
        }
    }

    #[test]
    fn leaves_other_shapes_to_diesel() {
        for text in [
            "",
            "2026-12-06",
            "2026-12-06T01:02:03",
            "2026-12-06 01:02:03Z",
            "2026-12-06 01:02:03+00:00",
            "2026-12-06 01:02:03.",
            "2026-12-06 01:02:03.1234567890",
            "2026-13-06 01:02:03",
            "2026-12-06 24:00:00",
            "2026-1a-06 01:02:03",
            "2459000.5",
        ] {
            assert_eq!(parse_stored(text), None, "{text}");
        }
    }
}
