//! Domain types shared by the gateway and the conductors.

pub mod chassis;
pub mod mask;
pub mod node;
pub mod port;
pub mod portgroup;
pub mod states;
pub mod traits;
pub mod volume;

use chrono::{NaiveDateTime, SubsecRound, Utc};
use serde::de::DeserializeOwned;
use serde::{Deserialize, Deserializer};
use serde_json::{Map, Value};

use crate::error::Error;

/// A JSON object, as Ironic's dict-typed fields are.
pub type JsonObject = Map<String, Value>;

/// Now, truncated to microseconds: the databases keep no more, and values must
/// compare equal after a round trip.
pub fn now() -> NaiveDateTime {
    Utc::now().naive_utc().trunc_subsecs(6)
}

/// Python's `isoformat()` of an aware UTC value, as Ironic renders timestamps.
pub fn isoformat(ts: &NaiveDateTime) -> String {
    IsoFormat::of(ts).as_str().to_string()
}

/// [`isoformat`]'s text, kept on the stack: a list of 1000 writes two an item.
pub struct IsoFormat {
    text: [u8; 32],
    len: usize,
}

impl IsoFormat {
    pub fn of(ts: &NaiveDateTime) -> IsoFormat {
        use chrono::{Datelike, Timelike};
        // Written digit by digit: chrono's `format` parses its pattern on every call, and
        // `core::fmt` padding showed in the profile of a 1000-item list. Every stored
        // year has four digits (the service writes its own timestamps).
        let mut text = IsoFormat {
            text: [0; 32],
            len: 0,
        };
        text.push_digits(ts.year().clamp(0, 9999) as u32, 4);
        text.push(b"-");
        text.push_digits(ts.month(), 2);
        text.push(b"-");
        text.push_digits(ts.day(), 2);
        text.push(b"T");
        text.push_digits(ts.hour(), 2);
        text.push(b":");
        text.push_digits(ts.minute(), 2);
        text.push(b":");
        text.push_digits(ts.second(), 2);
        let micros = ts.and_utc().timestamp_subsec_micros();
        if micros != 0 {
            text.push(b".");
            text.push_digits(micros, 6);
        }
        text.push(b"+00:00");
        text
    }

    pub fn as_str(&self) -> &str {
        std::str::from_utf8(&self.text[..self.len]).expect("only ASCII is written")
    }

    fn push(&mut self, bytes: &[u8]) {
        self.text[self.len..self.len + bytes.len()].copy_from_slice(bytes);
        self.len += bytes.len();
    }

    /// Appends the last `width` decimal digits of `value`, zero-padded.
    fn push_digits(&mut self, value: u32, width: u32) {
        for place in (0..width).rev() {
            let digit = (value / 10u32.pow(place)) % 10;
            self.push(&[b'0' + digit as u8]);
        }
    }
}

/// Canonical text form of a UUID-like string (any case, with or without hyphens),
/// or None when it is not UUID-like.
pub fn canonical_uuid(value: &str) -> Option<String> {
    let parsed = uuid::Uuid::try_parse(value).ok()?;
    Some(parsed.hyphenated().to_string())
}

pub fn new_uuid() -> String {
    uuid::Uuid::new_v4().hyphenated().to_string()
}

/// Where a stored JSON document lives, so that one that cannot be read is named.
#[derive(Clone, Copy, Debug)]
pub struct StoredAt {
    pub table: &'static str,
    pub row: i64,
}

/// Reads a stored JSON column: NULL is the empty document. Text that is not a document
/// of the expected shape is an error, never a default: a default would be written back
/// over the original by the next update.
pub fn from_column<T: DeserializeOwned + Default>(
    text: Option<&str>,
    at: StoredAt,
    column: &'static str,
) -> Result<T, Error> {
    let Some(text) = text else {
        return Ok(T::default());
    };
    serde_json::from_str(text).map_err(|e| {
        tracing::error!(table = at.table, row = at.row, column, error = %e, "stored JSON cannot be read");
        Error::Internal(format!(
            "{}.{column} of row {} holds unreadable JSON: {e}",
            at.table, at.row
        ))
    })
}

/// A JSON object as stored: NULL when empty.
pub fn object_to_column(obj: &JsonObject) -> Option<String> {
    if obj.is_empty() {
        None
    } else {
        Some(Value::Object(obj.clone()).to_string())
    }
}

/// Deserializes a JSON object field that may be given as `null`, which means empty.
pub fn null_as_empty<'de, D: Deserializer<'de>>(d: D) -> Result<JsonObject, D::Error> {
    Ok(Option::<JsonObject>::deserialize(d)?.unwrap_or_default())
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::DateTime;

    #[test]
    fn unreadable_stored_json_is_an_error_naming_where_it_is() {
        let at = StoredAt {
            table: "volume_targets",
            row: 7,
        };
        let read = from_column::<JsonObject>(Some("{not json"), at, "properties");
        let Err(Error::Internal(detail)) = read else {
            panic!("an internal error: {read:?}");
        };
        assert!(
            detail.starts_with("volume_targets.properties of row 7 holds unreadable JSON"),
            "{detail}"
        );
        // Valid JSON of another shape is as unreadable.
        assert!(from_column::<Vec<String>>(Some("{}"), at, "traits").is_err());
        assert_eq!(from_column::<Vec<String>>(None, at, "traits"), Ok(vec![]));
    }

    #[test]
    fn isoformat_matches_pythons() {
        let day = chrono::NaiveDate::from_ymd_opt(2026, 1, 2).expect("valid date");
        let whole = day.and_hms_opt(3, 4, 5).expect("valid time");
        assert_eq!(isoformat(&whole), "2026-01-02T03:04:05+00:00");
        let micro = day.and_hms_micro_opt(23, 59, 9, 70).expect("valid time");
        assert_eq!(isoformat(&micro), "2026-01-02T23:59:09.000070+00:00");
        // Whatever the value, the same text as chrono's pattern gives.
        let early = chrono::NaiveDate::from_ymd_opt(987, 12, 31).expect("valid date");
        for ts in [
            now(),
            early
                .and_hms_micro_opt(0, 0, 0, 999_999)
                .expect("valid time"),
            day.and_hms_micro_opt(10, 20, 30, 100_000)
                .expect("valid time"),
            whole,
        ] {
            let utc = DateTime::<Utc>::from_naive_utc_and_offset(ts, Utc);
            let pattern = if ts.and_utc().timestamp_subsec_micros() == 0 {
                "%Y-%m-%dT%H:%M:%S+00:00"
            } else {
                "%Y-%m-%dT%H:%M:%S%.6f+00:00"
            };
            assert_eq!(isoformat(&ts), utc.format(pattern).to_string());
        }
    }
}
