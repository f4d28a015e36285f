//! Request body checks, worded like the JSON-schema errors Ironic's clients show.
//! Used for create bodies in the gateway and again for patched documents in the conductor.

use serde_json::Value;

use crate::error::Error;
use crate::model::JsonObject;

/// What a field may hold.
#[derive(Clone, Copy, Debug)]
pub enum Kind {
    /// A string of at most this many characters.
    Str(usize),
    /// A UUID-shaped string.
    Uuid,
    /// A JSON integer (not a boolean) that fits the column.
    Int,
    /// A JSON object.
    Object,
    Bool,
    /// A list of strings.
    StrList(usize),
}

#[derive(Clone, Copy, Debug)]
pub struct Field {
    pub name: &'static str,
    pub kind: Kind,
    pub required: bool,
    pub nullable: bool,
}

pub const fn field(name: &'static str, kind: Kind, required: bool, nullable: bool) -> Field {
    Field {
        name,
        kind,
        required,
        nullable,
    }
}

/// Python's repr of a JSON value, as jsonschema's messages show it.
pub fn py_repr(v: &Value) -> String {
    match v {
        Value::Null => "None".into(),
        Value::Bool(true) => "True".into(),
        Value::Bool(false) => "False".into(),
        Value::String(s) => format!("'{s}'"),
        other => other.to_string(),
    }
}

fn type_error(field: &str, v: &Value, expected: &str) -> Error {
    Error::invalid(format!(
        "Invalid input for field/attribute {field}. Value: {}. {} is not of type '{expected}'",
        py_repr(v),
        py_repr(v)
    ))
}

/// Checks `body` against `fields`: every key known, required keys present, types right.
pub fn check(body: &JsonObject, fields: &[Field]) -> Result<(), Error> {
    let mut unknown: Vec<&str> = body
        .keys()
        .filter(|k| !fields.iter().any(|f| f.name == k.as_str()))
        .map(|k| k.as_str())
        .collect();
    if !unknown.is_empty() {
        unknown.sort();
        let list = unknown
            .iter()
            .map(|k| format!("'{k}'"))
            .collect::<Vec<_>>()
            .join(", ");
        let verb = if unknown.len() == 1 { "was" } else { "were" };
        return Err(Error::invalid(format!(
            "Additional properties are not allowed ({list} {verb} unexpected)"
        )));
    }
    for f in fields {
        match body.get(f.name) {
            None if f.required => {
                return Err(Error::invalid(format!(
                    "'{}' is a required property",
                    f.name
                )));
            }
            None => {}
            Some(Value::Null) if f.nullable => {}
            Some(v) => check_value(f, v)?,
        }
    }
    Ok(())
}

fn check_value(f: &Field, v: &Value) -> Result<(), Error> {
    match f.kind {
        Kind::Str(max) => {
            let s = v.as_str().ok_or_else(|| type_error(f.name, v, "string"))?;
            check_len(f.name, s, max)
        }
        Kind::Uuid => {
            let s = v.as_str().ok_or_else(|| type_error(f.name, v, "string"))?;
            if crate::model::canonical_uuid(s).is_none() {
                return Err(Error::invalid(format!(
                    "Expected a UUID for {} but received {s}.",
                    f.name
                )));
            }
            Ok(())
        }
        Kind::Int => match v.as_i64() {
            Some(n) if !v.is_boolean() && i32::try_from(n).is_ok() => Ok(()),
            Some(_) => Err(Error::invalid(format!(
                "Invalid input for field/attribute {}. Value: {v}. The value is out of range.",
                f.name
            ))),
            None => Err(type_error(f.name, v, "integer")),
        },
        Kind::Object => v
            .as_object()
            .map(|_| ())
            .ok_or_else(|| type_error(f.name, v, "object")),
        Kind::Bool => v
            .as_bool()
            .map(|_| ())
            .ok_or_else(|| type_error(f.name, v, "boolean")),
        Kind::StrList(max) => {
            let items = v.as_array().ok_or_else(|| type_error(f.name, v, "array"))?;
            for item in items {
                let s = item
                    .as_str()
                    .ok_or_else(|| type_error(f.name, item, "string"))?;
                check_len(f.name, s, max)?;
            }
            Ok(())
        }
    }
}

/// Rejects strings longer than the column (or empty where a value is needed).
pub fn check_len(field: &str, s: &str, max: usize) -> Result<(), Error> {
    let len = s.chars().count();
    if len > max {
        return Err(Error::invalid(format!(
            "Invalid input for field/attribute {field}. Value: '{}...'. The value is too long: {len} characters, at most {max} are allowed.",
            s.chars().take(40).collect::<String>()
        )));
    }
    Ok(())
}
