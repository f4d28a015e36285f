//! JSON Patch (RFC 6902) with Ironic's restrictions: only `add`, `replace` and `remove`,
//! plain `/word/word` paths, and only the fields a resource allows.

use json_patch::{Patch, PatchOperation};
use serde::Serialize;
use serde::de::DeserializeOwned;
use serde_json::Value;

use crate::error::Error;
use crate::model::JsonObject;
use crate::schema::{Field, check, py_repr, py_str, schema_error};

/// Parses a PATCH body into operations, with Ironic's checks on each one; the messages
/// are Ironic's JSON-schema errors for `patch`.
pub fn parse(body: &Value) -> Result<Vec<PatchOperation>, Error> {
    let ops = body
        .as_array()
        .ok_or_else(|| patch_error(format!("{} is not of type 'array'", py_repr(body))))?;
    let mut parsed = Vec::with_capacity(ops.len());
    for op in ops {
        parsed.push(parse_op(op)?);
    }
    Ok(parsed)
}

fn patch_error(message: impl std::fmt::Display) -> Error {
    schema_error("patch", message)
}

/// The pattern every path must match, as the message shows it.
pub const PATH_PATTERN: &str = r"^(/[\w-]+)+$";

fn parse_op(op: &Value) -> Result<PatchOperation, Error> {
    let obj = op
        .as_object()
        .ok_or_else(|| patch_error(format!("{} is not of type 'object'", py_repr(op))))?;
    let mut unexpected: Vec<&str> = obj
        .keys()
        .map(String::as_str)
        .filter(|k| !matches!(*k, "op" | "path" | "value"))
        .collect();
    if !unexpected.is_empty() {
        unexpected.sort();
        let verb = if unexpected.len() == 1 { "was" } else { "were" };
        let list = unexpected
            .iter()
            .map(|k| py_str(k))
            .collect::<Vec<_>>()
            .join(", ");
        return Err(patch_error(format!(
            "Additional properties are not allowed ({list} {verb} unexpected)"
        )));
    }
    for required in ["op", "path"] {
        if !obj.contains_key(required) {
            return Err(patch_error(format!("'{required}' is a required property")));
        }
    }
    let path = match &obj["path"] {
        Value::String(p) => p.as_str(),
        other => {
            return Err(patch_error(format!(
                "{} is not of type 'string'",
                py_repr(other)
            )));
        }
    };
    if !valid_path(path) {
        return Err(patch_error(format!(
            "{} does not match {}",
            py_str(path),
            py_str(PATH_PATTERN)
        )));
    }
    match obj["op"].as_str() {
        Some("add") | Some("replace") => {
            if !obj.contains_key("value") {
                return Err(Error::invalid(format!(
                    "Couldn't apply patch '{}'. Reason: The operation does not contain a 'value' member",
                    shown_value(op, path)
                )));
            }
        }
        Some("remove") => {}
        _ => {
            return Err(patch_error(format!(
                "{} is not one of ['add', 'replace', 'remove']",
                py_repr(&obj["op"])
            )));
        }
    }
    serde_json::from_value::<PatchOperation>(op.clone())
        .map_err(|e| Error::invalid(format!("Invalid patch operation {op}: {e}")))
}

/// Ironic accepts only `^(/[\w-]+)+$`.
fn valid_path(path: &str) -> bool {
    path.starts_with('/')
        && path[1..].split('/').all(|seg| {
            !seg.is_empty()
                && seg
                    .chars()
                    .all(|c| c.is_alphanumeric() || c == '_' || c == '-')
        })
}

/// The path's operation and first segment, e.g. ("/extra/foo") -> "extra".
pub fn op_path(op: &PatchOperation) -> String {
    match op {
        PatchOperation::Add(o) => o.path.to_string(),
        PatchOperation::Remove(o) => o.path.to_string(),
        PatchOperation::Replace(o) => o.path.to_string(),
        PatchOperation::Move(o) => o.path.to_string(),
        PatchOperation::Copy(o) => o.path.to_string(),
        PatchOperation::Test(o) => o.path.to_string(),
    }
}

pub fn top_field(op: &PatchOperation) -> String {
    op_path(op)
        .trim_start_matches('/')
        .split('/')
        .next()
        .unwrap_or("")
        .to_string()
}

/// Rejects any operation whose first path segment is not in `allowed`.
pub fn check_allowed(ops: &[PatchOperation], allowed: &[&str]) -> Result<(), Error> {
    for op in ops {
        let field = top_field(op);
        if !allowed.contains(&field.as_str()) {
            return Err(Error::invalid(format!(
                "Cannot patch /{field}. Only the following can be updated: {}",
                allowed.join(", ")
            )));
        }
    }
    Ok(())
}

/// An operation as an error message shows it, as Python prints it: the value of a
/// secret-looking path (`/driver_info/redfish_password`, `/properties/auth_password`)
/// masked, since the message goes back to the client and into the logs.
fn shown(op: &PatchOperation) -> String {
    shown_value(&serde_json::to_value(op).unwrap_or_default(), &op_path(op))
}

fn shown_value(op: &Value, path: &str) -> String {
    let mut v = op.clone();
    let secret = path.split('/').any(crate::model::mask::is_secret_key);
    if let (true, Some(value)) = (secret, v.get_mut("value")) {
        *value = Value::String(crate::model::mask::MASK.into());
    }
    // In the order clients write an operation.
    let mut ordered = serde_json::Map::new();
    for key in ["op", "from", "path", "value"] {
        if let Some(x) = v.get(key) {
            ordered.insert(key.to_string(), x.clone());
        }
    }
    py_ordered(&ordered)
}

/// Python's repr of an object whose keys are given in order (serde_json's maps sort them).
fn py_ordered(o: &serde_json::Map<String, Value>) -> String {
    let keys = ["op", "from", "path", "value"];
    let items: Vec<String> = keys
        .iter()
        .filter_map(|k| o.get(*k).map(|v| format!("{}: {}", py_str(k), py_repr(v))))
        .collect();
    format!("{{{}}}", items.join(", "))
}

/// Why an operation could not be applied, in Ironic's words where it has some.
fn reason(op: &PatchOperation, e: &json_patch::PatchError) -> String {
    let last = op_path(op)
        .rsplit('/')
        .next()
        .unwrap_or_default()
        .to_string();
    match (op, &e.kind) {
        (PatchOperation::Remove(_), json_patch::PatchErrorKind::InvalidPointer) => {
            format!("can't remove a non-existent object '{last}'")
        }
        (PatchOperation::Replace(_), json_patch::PatchErrorKind::InvalidPointer) => {
            format!("can't replace a non-existent object '{last}'")
        }
        _ => e.to_string(),
    }
}

/// Applies operations one at a time to `doc`. `add` on an existing member replaces it, as
/// RFC 6902 says for objects; `replace` or `remove` of a missing member fails.
pub fn apply(doc: &JsonObject, ops: &[PatchOperation]) -> Result<JsonObject, Error> {
    let mut value = Value::Object(doc.clone());
    for op in ops {
        // A top-level `add` of a member the document lacks is how clients set a field
        // that is null, so null fields are present as keys in `doc`.
        json_patch::patch(&mut value, &Patch(vec![op.clone()])).map_err(|e| {
            Error::invalid(format!(
                "Couldn't apply patch '{}'. Reason: {}",
                shown(op),
                reason(op, &e)
            ))
        })?;
    }
    match value {
        Value::Object(obj) => Ok(obj),
        _ => Err(Error::invalid("The patch replaced the whole document.")),
    }
}

/// Applies `ops` to a resource's typed patch document: `adjust` sees the patched JSON
/// (to undo what Ironic silently undoes), which must then pass `schema` (Ironic's
/// messages, as for `patch`) before it is read back as the typed document.
pub fn apply_typed<F: Serialize + DeserializeOwned>(
    fields: &F,
    ops: &[PatchOperation],
    schema: &[Field],
    adjust: impl FnOnce(&mut JsonObject),
) -> Result<F, Error> {
    let Value::Object(doc) = serde_json::to_value(fields)
        .map_err(|e| Error::Internal(format!("a patch document does not serialise: {e}")))?
    else {
        return Err(Error::Internal("a patch document is not an object".into()));
    };
    let mut patched = apply(&doc, ops)?;
    adjust(&mut patched);
    check(&mut patched, schema, "patch")?;
    serde_json::from_value(Value::Object(patched)).map_err(|e| schema_error("patch", e))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn a_failed_patch_of_a_secret_does_not_echo_its_value() {
        let ops = parse(&json!([{"op": "replace", "path": "/driver_info/redfish_password", "value": "hunter2"}])).unwrap();
        let e = apply(&JsonObject::new(), &ops).unwrap_err().to_string();
        assert!(!e.contains("hunter2"), "{e}");
        assert!(
            e.contains("******") && e.contains("/driver_info/redfish_password"),
            "{e}"
        );
        let ops =
            parse(&json!([{"op": "replace", "path": "/extra/colour", "value": "blue"}])).unwrap();
        let e = apply(&JsonObject::new(), &ops).unwrap_err().to_string();
        assert!(e.contains("blue"), "{e}");
    }

    #[derive(Debug, PartialEq, serde::Serialize, serde::Deserialize)]
    struct Doc {
        name: String,
        size: i32,
    }

    const DOC_SCHEMA: [Field; 2] = [
        crate::schema::field("name", crate::schema::Kind::Str(8), true, false),
        crate::schema::field("size", crate::schema::Kind::Int, true, false),
    ];

    #[test]
    fn a_typed_document_is_patched_checked_and_read_back() {
        let doc = Doc {
            name: "a".into(),
            size: 1,
        };
        let ops = parse(&json!([{"op": "replace", "path": "/size", "value": 2}])).unwrap();
        let patched = apply_typed(&doc, &ops, &DOC_SCHEMA, |_| {}).unwrap();
        assert_eq!(
            patched,
            Doc {
                name: "a".into(),
                size: 2
            }
        );
        // The schema's words, not serde's, for a value of the wrong type.
        let ops = parse(&json!([{"op": "replace", "path": "/size", "value": "big"}])).unwrap();
        let e = apply_typed(&doc, &ops, &DOC_SCHEMA, |_| {}).unwrap_err();
        assert_eq!(
            e.to_string(),
            "Schema error for patch: 'big' is not of type 'integer'"
        );
        // What `adjust` puts back is there before the check.
        let ops = parse(&json!([{"op": "remove", "path": "/name"}])).unwrap();
        let undo = |d: &mut JsonObject| {
            d.entry("name").or_insert(Value::String("a".into()));
        };
        assert_eq!(apply_typed(&doc, &ops, &DOC_SCHEMA, undo).unwrap(), doc);
    }
}
