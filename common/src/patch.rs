//! JSON Patch (RFC 6902) with Ironic's restrictions: only `add`, `replace` and `remove`,
//! plain `/word/word` paths, and only the fields a resource allows.

use json_patch::{Patch, PatchOperation};
use serde_json::Value;

use crate::error::Error;
use crate::model::JsonObject;

/// Parses a PATCH body into operations, with Ironic's checks on each one.
pub fn parse(body: &Value) -> Result<Vec<PatchOperation>, Error> {
    let ops = body
        .as_array()
        .ok_or_else(|| Error::invalid("Invalid input for field/attribute patch. The patch must be a JSON array of operations."))?;
    let mut parsed = Vec::with_capacity(ops.len());
    for op in ops {
        parsed.push(parse_op(op)?);
    }
    Ok(parsed)
}

fn parse_op(op: &Value) -> Result<PatchOperation, Error> {
    let obj = op.as_object().ok_or_else(|| {
        Error::invalid(format!("Invalid patch operation {op}: expected an object."))
    })?;
    if let Some(key) = obj
        .keys()
        .find(|k| !matches!(k.as_str(), "op" | "path" | "value"))
    {
        return Err(Error::invalid(format!(
            "Invalid patch operation {op}: Additional properties are not allowed ('{key}' was unexpected)"
        )));
    }
    let path = match obj.get("path") {
        Some(Value::String(p)) => p.as_str(),
        Some(other) => {
            return Err(Error::invalid(format!(
                "Invalid patch path {other}: expected a string."
            )));
        }
        None => {
            return Err(Error::invalid(format!(
                "Invalid patch operation {op}: 'path' is a required property"
            )));
        }
    };
    if !valid_path(path) {
        return Err(Error::invalid(format!(
            "Invalid patch path '{path}': it must be like '/field' or '/field/key', made of letters, digits, '_' and '-'."
        )));
    }
    match obj.get("op").and_then(|o| o.as_str()) {
        Some("add") | Some("replace") => {
            if !obj.contains_key("value") {
                return Err(Error::invalid(format!(
                    "Invalid patch operation {op}: 'value' is required for '{}'.",
                    obj["op"].as_str().unwrap_or("")
                )));
            }
        }
        Some("remove") => {}
        Some(other) => {
            return Err(Error::invalid(format!(
                "Invalid patch operation '{other}': only 'add', 'replace' and 'remove' are supported."
            )));
        }
        None => {
            return Err(Error::invalid(format!(
                "Invalid patch operation {op}: 'op' is a required property"
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

/// An operation as an error message shows it: the value of a secret-looking path
/// (`/driver_info/redfish_password`, `/properties/auth_password`) masked, since the
/// message goes back to the client and into the logs.
fn shown(op: &PatchOperation) -> String {
    let mut v = serde_json::to_value(op).unwrap_or_default();
    let secret = op_path(op)
        .split('/')
        .any(crate::model::mask::is_secret_key);
    if let (true, Some(value)) = (secret, v.get_mut("value")) {
        *value = Value::String(crate::model::mask::MASK.into());
    }
    v.to_string()
}

/// Applies operations one at a time to `doc`. `add` on an existing member replaces it, as
/// RFC 6902 says for objects; `replace` or `remove` of a missing member fails.
pub fn apply(doc: &JsonObject, ops: &[PatchOperation]) -> Result<JsonObject, Error> {
    let mut value = Value::Object(doc.clone());
    for op in ops {
        // A top-level `add` of a member the document lacks is how clients set a field
        // that is null, so null fields are present as keys in `doc`.
        json_patch::patch(&mut value, &Patch(vec![op.clone()])).map_err(|e| {
            Error::invalid(format!("Couldn't apply patch '{}'. Reason: {e}", shown(op)))
        })?;
    }
    match value {
        Value::Object(obj) => Ok(obj),
        _ => Err(Error::invalid("The patch replaced the whole document.")),
    }
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
}
