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
    /// A boolean, or a string Ironic reads as one (`"True"`, `"no"`, ...), as the CLI
    /// sends `--pxe-enabled True`; [`check`] turns such a string into the boolean.
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
    /// The field may hold credentials (`driver_info`, target `properties`, ...): errors
    /// about it show [`MASKED`] instead of the value.
    pub secret: bool,
}

pub const fn field(name: &'static str, kind: Kind, required: bool, nullable: bool) -> Field {
    Field {
        name,
        kind,
        required,
        nullable,
        secret: false,
    }
}

impl Field {
    /// The same field, refusing `null`.
    pub const fn not_null(self) -> Field {
        Field {
            nullable: false,
            ..self
        }
    }

    /// The same field, marked as one that may hold secrets.
    pub const fn secret(self) -> Field {
        Field {
            secret: true,
            ..self
        }
    }
}

/// What an error shows in place of a value that may be a secret, as API responses do.
pub const MASKED: &str = "'******'";

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
    types_error(what, f, v, &[expected])
}

fn types_error(what: &str, f: &Field, v: &Value, expected: &[&str]) -> Error {
    let mut types: Vec<String> = expected.iter().map(|t| format!("'{t}'")).collect();
    if f.nullable {
        types.push("'null'".into());
    }
    let types = types.join(", ");
    // A string sent where an object belongs is often the secret itself
    // ("redfish_password=..."): never quote it back.
    let shown = if f.secret {
        MASKED.to_string()
    } else {
        py_repr(v)
    };
    schema_error(what, format!("{shown} is not of type {types}"))
}

/// Checks `body` against `fields`: every key known, required keys present, types right.
/// `what` names the schema in the messages (`connector`, `target`, `node`, `port`, or
/// `patch` for a patched document). A boolean field sent as one of Ironic's boolean
/// words is replaced by the boolean, so that the typed document reads it.
pub fn check(body: &mut JsonObject, fields: &[Field], what: &str) -> Result<(), Error> {
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
    for f in fields.iter().filter(|f| matches!(f.kind, Kind::Bool)) {
        if let Some(Value::String(word)) = body.get(f.name) {
            let read = bool_word(f.name, word)?;
            body.insert(f.name.to_string(), Value::Bool(read));
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
        Kind::Bool => match v {
            Value::Bool(_) => Ok(()),
            Value::String(word) => bool_word(f.name, word).map(|_| ()),
            _ => Err(types_error(what, f, v, &["string", "boolean"])),
        },
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

/// The words Ironic's `bool_from_string` reads as true, and (strictly parsed) as false,
/// in any case.
pub const TRUE_WORDS: [&str; 6] = ["1", "t", "true", "on", "y", "yes"];
pub const FALSE_WORDS: [&str; 6] = ["0", "f", "false", "off", "n", "no"];

/// Reads a boolean word strictly, as Ironic reads boolean query parameters and boolean
/// body fields sent as strings; `name` names the field in the error.
pub fn bool_word(name: &str, value: &str) -> Result<bool, Error> {
    let word = value.to_ascii_lowercase();
    if TRUE_WORDS.contains(&word.as_str()) {
        return Ok(true);
    }
    if FALSE_WORDS.contains(&word.as_str()) {
        return Ok(false);
    }
    let mut words: Vec<String> = TRUE_WORDS
        .iter()
        .chain(FALSE_WORDS.iter())
        .map(|w| format!("'{w}'"))
        .collect();
    words.sort();
    Err(Error::invalid(format!(
        "Invalid {name}: Unrecognized value '{value}', acceptable values are: {}",
        words.join(", ")
    )))
}

/// Deepest nesting of objects and arrays accepted in a JSON field (`extra`,
/// `properties`, ...). Ironic sets none; a bound keeps serialising, masking and
/// patching such documents cheap, and nobody's metadata is this deep.
pub const MAX_DEPTH: usize = 32;

/// Largest serialised JSON field accepted. Every document column holds at least 16 MiB
/// (MySQL's MEDIUMTEXT); this bound also stops a document growing past it patch by patch.
pub const MAX_DOCUMENT_BYTES: usize = 1024 * 1024;

/// Checks the nesting depth, serialised size and strings of a JSON field.
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
    if holds_nul(v) {
        return Err(nul_error(field));
    }
    Ok(())
}

/// True when a key or a string anywhere in `v` contains NUL: PostgreSQL cannot store it
/// (in text or JSON), and the other databases would keep what PostgreSQL refuses.
fn holds_nul(v: &Value) -> bool {
    match v {
        Value::String(s) => s.contains('\0'),
        Value::Array(items) => items.iter().any(holds_nul),
        Value::Object(o) => o.iter().any(|(k, v)| k.contains('\0') || holds_nul(v)),
        _ => false,
    }
}

fn nul_error(field: &str) -> Error {
    Error::invalid(format!(
        "Invalid input for field/attribute {field}. The value contains a NUL character."
    ))
}

/// Levels of objects and arrays in `v` (a scalar is 0, `{}` is 1).
pub fn depth(v: &Value) -> usize {
    match v {
        Value::Object(o) => 1 + o.values().map(depth).max().unwrap_or(0),
        Value::Array(a) => 1 + a.iter().map(depth).max().unwrap_or(0),
        _ => 0,
    }
}

/// A regular expression for strings without NUL, which every string the API takes must
/// be (see [`check_len`] and [`check_document`]).
pub const NO_NUL_PATTERN: &str = r"^[^\u0000]*$";

/// Rejects strings longer than the column, and NUL characters, which PostgreSQL cannot
/// store in a text column.
pub fn check_len(field: &str, s: &str, max: usize) -> Result<(), Error> {
    if s.contains('\0') {
        return Err(nul_error(field));
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

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    const FIELDS: [Field; 2] = [
        field("extra", Kind::Object, false, true),
        field("properties", Kind::Object, false, true).secret(),
    ];

    fn body(v: Value) -> JsonObject {
        v.as_object().cloned().expect("an object")
    }

    #[test]
    fn a_boolean_word_is_stored_as_the_boolean() {
        let flag = [field("flag", Kind::Bool, false, true)];
        for (word, read) in [("True", true), ("off", false), ("Y", true), ("0", false)] {
            let mut b = body(json!({ "flag": word }));
            check(&mut b, &flag, "port").expect(word);
            assert_eq!(b["flag"], json!(read), "{word}");
        }
        let mut b = body(json!({ "flag": null }));
        check(&mut b, &flag, "port").expect("null");
        assert_eq!(b["flag"], Value::Null);
        let e = message(check(&mut body(json!({ "flag": "maybe" })), &flag, "port").unwrap_err());
        assert!(
            e.starts_with("Invalid flag: Unrecognized value 'maybe'"),
            "{e}"
        );
        let e = message(check(&mut body(json!({ "flag": 2 })), &flag, "port").unwrap_err());
        assert_eq!(
            e,
            "Schema error for port: 2 is not of type 'string', 'boolean', 'null'"
        );
    }

    fn message(e: Error) -> String {
        match e {
            Error::Invalid(m) => m,
            other => panic!("expected Invalid, got {other:?}"),
        }
    }

    #[test]
    fn nul_anywhere_in_a_document_is_refused_naming_the_field() {
        for extra in [
            json!({"a\u{0}": 1}),
            json!({"a": "b\u{0}"}),
            json!({"a": [{"b": ["c\u{0}"]}]}),
        ] {
            let e = check(&mut body(json!({ "extra": extra })), &FIELDS, "target")
                .expect_err("NUL refused");
            assert_eq!(
                message(e),
                "Invalid input for field/attribute extra. The value contains a NUL character."
            );
        }
        assert!(
            check(
                &mut body(json!({"extra": {"a": ["b", {"c": "d"}]}})),
                &FIELDS,
                "target"
            )
            .is_ok()
        );
    }

    #[test]
    fn type_errors_of_secret_fields_do_not_quote_the_value() {
        for value in [json!("auth_password=X9secret"), json!(["X9secret"])] {
            let e = check(&mut body(json!({ "properties": value })), &FIELDS, "target")
                .expect_err("a type error");
            let text = message(e);
            assert!(!text.contains("X9secret"), "{text}");
            assert_eq!(
                text,
                "Schema error for target: '******' is not of type 'object', 'null'"
            );
        }
        // Other fields keep jsonschema's wording, value included.
        let e = check(&mut body(json!({"extra": "plain"})), &FIELDS, "target")
            .expect_err("a type error");
        assert!(message(e).contains("'plain' is not of type 'object'"));
    }
}
