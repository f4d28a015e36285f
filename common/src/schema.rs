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
        Value::String(s) => py_str(s),
        Value::Array(items) => format!(
            "[{}]",
            items.iter().map(py_repr).collect::<Vec<_>>().join(", ")
        ),
        Value::Object(o) => format!(
            "{{{}}}",
            o.iter()
                .map(|(k, v)| format!("{}: {}", py_str(k), py_repr(v)))
                .collect::<Vec<_>>()
                .join(", ")
        ),
        Value::Number(n) => n.to_string(),
    }
}

/// Python's repr of a string: single quotes unless it holds one and no double quote.
pub fn py_str(s: &str) -> String {
    let quote = if s.contains('\'') && !s.contains('"') {
        '"'
    } else {
        '\''
    };
    let mut out = String::with_capacity(s.len() + 2);
    out.push(quote);
    for c in s.chars() {
        match c {
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            c if c == quote => {
                out.push('\\');
                out.push(c);
            }
            c => out.push(c),
        }
    }
    out.push(quote);
    out
}

/// A JSON-schema error as Ironic words it: `Schema error for <what>: <message>`.
pub fn schema_error(what: &str, message: impl std::fmt::Display) -> Error {
    Error::invalid(format!("Schema error for {what}: {message}"))
}

fn type_error(what: &str, f: &Field, v: &Value, expected: &str) -> Error {
    let types = if f.nullable {
        format!("'{expected}', 'null'")
    } else {
        format!("'{expected}'")
    };
    schema_error(what, format!("{} is not of type {types}", py_repr(v)))
}

/// Checks `body` against `fields`: every key known, required keys present, types right.
/// `what` names the schema in the messages (`connector`, `target`, `node`, `port`, or
/// `patch` for a patched document).
pub fn check(body: &JsonObject, fields: &[Field], what: &str) -> Result<(), Error> {
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
        return Err(schema_error(
            what,
            format!("Additional properties are not allowed ({list} {verb} unexpected)"),
        ));
    }
    for f in fields {
        match body.get(f.name) {
            None if f.required => {
                return Err(schema_error(
                    what,
                    format!("'{}' is a required property", f.name),
                ));
            }
            None => {}
            Some(Value::Null) if f.nullable => {}
            Some(v) => check_value(what, f, v)?,
        }
    }
    Ok(())
}

fn check_value(what: &str, f: &Field, v: &Value) -> Result<(), Error> {
    match f.kind {
        Kind::Str(max) => {
            let s = v.as_str().ok_or_else(|| type_error(what, f, v, "string"))?;
            check_len(f.name, s, max)
        }
        Kind::Uuid => {
            let s = v.as_str().ok_or_else(|| type_error(what, f, v, "string"))?;
            if crate::model::canonical_uuid(s).is_none() {
                return Err(Error::invalid(format!("Expected UUID for {}: {s}", f.name)));
            }
            Ok(())
        }
        Kind::Int => match v.as_i64() {
            Some(n) if !v.is_boolean() && i32::try_from(n).is_ok() => Ok(()),
            Some(_) => Err(Error::invalid(format!(
                "Invalid input for field/attribute {}. Value: {v}. The value is out of range.",
                f.name
            ))),
            None => Err(type_error(what, f, v, "integer")),
        },
        Kind::Object => {
            v.as_object()
                .ok_or_else(|| type_error(what, f, v, "object"))?;
            check_document(f.name, v)
        }
        Kind::Bool => v
            .as_bool()
            .map(|_| ())
            .ok_or_else(|| type_error(what, f, v, "boolean")),
        Kind::StrList(max) => {
            let items = v
                .as_array()
                .ok_or_else(|| type_error(what, f, v, "array"))?;
            for item in items {
                let s = item
                    .as_str()
                    .ok_or_else(|| type_error(what, f, item, "string"))?;
                check_len(f.name, s, max)?;
            }
            Ok(())
        }
    }
}

/// Deepest nesting of objects and arrays accepted in a JSON field (`extra`,
/// `properties`, ...). Ironic sets none; a bound keeps serialising, masking and
/// patching such documents cheap, and nobody's metadata is this deep.
pub const MAX_DEPTH: usize = 32;

/// Largest serialised JSON field accepted. Every document column holds at least 16 MiB
/// (MySQL's MEDIUMTEXT); this bound also stops a document growing past it patch by patch.
pub const MAX_DOCUMENT_BYTES: usize = 1024 * 1024;

/// Checks the nesting depth and serialised size of a JSON field.
pub fn check_document(field: &str, v: &Value) -> Result<(), Error> {
    if depth(v) > MAX_DEPTH {
        return Err(Error::invalid(format!(
            "Invalid input for field/attribute {field}. The value is nested too deeply: at most {MAX_DEPTH} levels of objects and arrays are allowed."
        )));
    }
    let size = serde_json::to_vec(v).map(|b| b.len()).unwrap_or(usize::MAX);
    if size > MAX_DOCUMENT_BYTES {
        return Err(Error::invalid(format!(
            "Invalid input for field/attribute {field}. The value is too large: {size} bytes as JSON, at most {MAX_DOCUMENT_BYTES} are allowed."
        )));
    }
    Ok(())
}

/// Levels of objects and arrays in `v` (a scalar is 0, `{}` is 1).
pub fn depth(v: &Value) -> usize {
    match v {
        Value::Object(o) => 1 + o.values().map(depth).max().unwrap_or(0),
        Value::Array(a) => 1 + a.iter().map(depth).max().unwrap_or(0),
        _ => 0,
    }
}

/// Rejects strings longer than the column, and NUL characters, which PostgreSQL cannot
/// store in a text column.
pub fn check_len(field: &str, s: &str, max: usize) -> Result<(), Error> {
    if s.contains('\0') {
        return Err(Error::invalid(format!(
            "Invalid input for field/attribute {field}. The value contains a NUL character."
        )));
    }
    let len = s.chars().count();
    if len > max {
        return Err(Error::invalid(format!(
            "Invalid input for field/attribute {field}. Value: '{}...'. The value is too long: {len} characters, at most {max} are allowed.",
            s.chars().take(40).collect::<String>()
        )));
    }
    Ok(())
}
