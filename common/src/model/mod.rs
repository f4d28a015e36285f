//! Domain types shared by the gateway and the conductors.

pub mod mask;
pub mod node;
pub mod port;
pub mod states;
pub mod volume;

use chrono::{DateTime, NaiveDateTime, SubsecRound, Utc};
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
    let utc = DateTime::<Utc>::from_naive_utc_and_offset(*ts, Utc);
    if ts.and_utc().timestamp_subsec_micros() == 0 {
        utc.format("%Y-%m-%dT%H:%M:%S+00:00").to_string()
    } else {
        utc.format("%Y-%m-%dT%H:%M:%S%.6f+00:00").to_string()
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
