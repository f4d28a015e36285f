//! Domain types shared by the gateway and the conductors.

pub mod mask;
pub mod node;
pub mod port;
pub mod states;
pub mod volume;

use chrono::{NaiveDateTime, SubsecRound, Utc};
use serde_json::{Map, Value};

/// A JSON object, as Ironic's dict-typed fields are.
pub type JsonObject = Map<String, Value>;

/// Now, truncated to microseconds: the databases keep no more, and values must
/// compare equal after a round trip.
pub fn now() -> NaiveDateTime {
    Utc::now().naive_utc().trunc_subsecs(6)
}

/// Python's `isoformat()` of an aware UTC value, as Ironic renders timestamps.
pub fn isoformat(ts: &NaiveDateTime) -> String {
    use chrono::{Datelike, Timelike};
    use std::fmt::Write;
    // Written field by field: chrono's `format` parses its pattern on every call, which
    // showed in the profile of a 1000-item list (two timestamps an item).
    let mut text = String::with_capacity(32);
    let _ = write!(
        text,
        "{:04}-{:02}-{:02}T{:02}:{:02}:{:02}",
        ts.year(),
        ts.month(),
        ts.day(),
        ts.hour(),
        ts.minute(),
        ts.second()
    );
    let micros = ts.and_utc().timestamp_subsec_micros();
    if micros != 0 {
        let _ = write!(text, ".{micros:06}");
    }
    text.push_str("+00:00");
    text
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

/// Reads a stored JSON object column: null or unreadable text is an empty object.
pub fn object_from_column(text: Option<&str>) -> JsonObject {
    text.and_then(|t| serde_json::from_str::<JsonObject>(t).ok())
        .unwrap_or_default()
}

pub fn object_to_column(obj: &JsonObject) -> Option<String> {
    if obj.is_empty() {
        None
    } else {
        Some(Value::Object(obj.clone()).to_string())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::DateTime;

    #[test]
    fn isoformat_matches_pythons() {
        let day = chrono::NaiveDate::from_ymd_opt(2026, 1, 2).expect("valid date");
        let whole = day.and_hms_opt(3, 4, 5).expect("valid time");
        assert_eq!(isoformat(&whole), "2026-01-02T03:04:05+00:00");
        let micro = day.and_hms_micro_opt(23, 59, 9, 70).expect("valid time");
        assert_eq!(isoformat(&micro), "2026-01-02T23:59:09.000070+00:00");
        // Whatever the value, the same text as chrono's pattern gave.
        let now = now();
        let utc = DateTime::<Utc>::from_naive_utc_and_offset(now, Utc);
        let pattern = if now.and_utc().timestamp_subsec_micros() == 0 {
            "%Y-%m-%dT%H:%M:%S+00:00"
        } else {
            "%Y-%m-%dT%H:%M:%S%.6f+00:00"
        };
        assert_eq!(isoformat(&now), utc.format(pattern).to_string());
    }
}
