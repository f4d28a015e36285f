//! RAID interfaces: a node's target RAID configuration is checked against Ironic's RAID
//! configuration schema before it is stored. sanlink builds no RAID itself (no clean
//! or deploy step applies it), so the interfaces differ only in whether they accept a
//! configuration at all: `no-raid` refuses, every other one checks the schema.
//!
//! The schema is checked by hand rather than by a JSON Schema library so that each
//! refusal carries the message Ironic's (jsonschema's) best match gives: among all
//! violations, the one nearest the top of the document, and of those the first in the
//! schema's keyword order.

use serde_json::{Map, Value};

use common::Error;
use common::model::node::Node;
use common::schema::py_repr;

const RAID_LEVELS: [&str; 9] = ["JBOD", "0", "1", "2", "5", "6", "1+0", "5+0", "6+0"];
const DISK_TYPES: [&str; 2] = ["hdd", "ssd"];
const INTERFACE_TYPES: [&str; 3] = ["sata", "scsi", "sas"];
/// The logical disk keys, in the schema's order.
const DISK_KEYS: [&str; 10] = [
    "raid_level",
    "size_gb",
    "volume_name",
    "is_root_volume",
    "share_physical_disks",
    "disk_type",
    "interface_type",
    "number_of_physical_disks",
    "controller",
    "physical_disks",
];

/// Checks `config` for the node's RAID interface: Ironic's UnsupportedDriverExtension
/// (answered 404) for `no-raid`, else the schema and the single root volume.
pub fn validate_raid_config(node: &Node, config: &Map<String, Value>) -> Result<(), Error> {
    if node.interfaces.raid.as_deref().unwrap_or("no-raid") == "no-raid" {
        return Err(Error::not_found(format!(
            "Driver {} does not support raid (disabled or not implemented).",
            node.driver
        )));
    }
    if let Some(problem) = best_violation(config) {
        return Err(Error::invalid(format!(
            "RAID config validation error: {problem}"
        )));
    }
    let roots = config["logical_disks"]
        .as_array()
        .map(|disks| {
            disks
                .iter()
                .filter(|d| d.get("is_root_volume") == Some(&Value::Bool(true)))
                .count()
        })
        .unwrap_or(0);
    if roots > 1 {
        return Err(Error::invalid(format!(
            "Raid config cannot have more than one root volume. {roots} root volumes were specified"
        )));
    }
    Ok(())
}

/// A violation and how deep in the document it is.
struct Violation {
    depth: usize,
    message: String,
}

/// The violation jsonschema's `best_match` would report, if any.
fn best_violation(config: &Map<String, Value>) -> Option<String> {
    let mut found = Vec::new();
    check_document(config, &mut found);
    // The shallowest; among equals the first found, as `max` keeps the first.
    let best = found.iter().map(|v| v.depth).min()?;
    found
        .into_iter()
        .find(|v| v.depth == best)
        .map(|v| v.message)
}

fn push(found: &mut Vec<Violation>, depth: usize, message: String) {
    found.push(Violation { depth, message });
}

fn additional(found: &mut Vec<Violation>, depth: usize, obj: &Map<String, Value>, known: &[&str]) {
    let extra: Vec<String> = obj
        .keys()
        .filter(|k| !known.contains(&k.as_str()))
        .map(|k| common::schema::py_str(k))
        .collect();
    if !extra.is_empty() {
        let verb = if extra.len() == 1 { "was" } else { "were" };
        push(
            found,
            depth,
            format!(
                "Additional properties are not allowed ({} {verb} unexpected)",
                extra.join(", ")
            ),
        );
    }
}

fn check_document(config: &Map<String, Value>, found: &mut Vec<Violation>) {
    if let Some(disks) = config.get("logical_disks") {
        check_disks(disks, found);
    } else {
        push(found, 0, "'logical_disks' is a required property".into());
    }
    additional(found, 0, config, &["logical_disks"]);
}

fn check_disks(disks: &Value, found: &mut Vec<Violation>) {
    let Some(items) = disks.as_array() else {
        push(found, 1, not_of_type(disks, "array"));
        return;
    };
    for disk in items {
        check_disk(disk, found);
    }
    if items.is_empty() {
        push(found, 1, "[] should be non-empty".into());
    }
}

fn not_of_type(v: &Value, kind: &str) -> String {
    format!("{} is not of type '{kind}'", py_repr(v))
}

fn not_one_of(v: &Value, allowed: &[&str]) -> String {
    let list: Vec<String> = allowed.iter().map(|a| format!("'{a}'")).collect();
    format!("{} is not one of [{}]", py_repr(v), list.join(", "))
}

fn check_disk(disk: &Value, found: &mut Vec<Violation>) {
    let Some(obj) = disk.as_object() else {
        push(found, 2, not_of_type(disk, "object"));
        return;
    };
    for key in DISK_KEYS {
        if let Some(value) = obj.get(key)
            && let Err(message) = check_disk_value(key, value)
        {
            push(found, 3, message);
        }
    }
    for key in ["raid_level", "size_gb"] {
        if !obj.contains_key(key) {
            push(found, 2, format!("'{key}' is a required property"));
        }
    }
    additional(found, 2, obj, &DISK_KEYS);
    if obj.contains_key("physical_disks") && !obj.contains_key("controller") {
        push(
            found,
            2,
            "'controller' is a dependency of 'physical_disks'".into(),
        );
    }
}

fn is_integer(v: &Value) -> bool {
    v.is_i64() || v.is_u64()
}

fn check_enum(v: &Value, allowed: &[&str]) -> Result<(), String> {
    match v.as_str() {
        None => Err(not_of_type(v, "string")),
        Some(s) if allowed.contains(&s) => Ok(()),
        Some(_) => Err(not_one_of(v, allowed)),
    }
}

fn check_disk_value(key: &str, v: &Value) -> Result<(), String> {
    let of_type = |ok: bool, kind: &str| {
        if ok {
            Ok(())
        } else {
            Err(not_of_type(v, kind))
        }
    };
    match key {
        "raid_level" => check_enum(v, &RAID_LEVELS),
        "size_gb" => check_size(v),
        "volume_name" | "controller" => of_type(v.is_string(), "string"),
        "is_root_volume" | "share_physical_disks" => of_type(v.is_boolean(), "boolean"),
        "disk_type" => check_enum(v, &DISK_TYPES),
        "interface_type" => check_enum(v, &INTERFACE_TYPES),
        "number_of_physical_disks" => {
            of_type(is_integer(v), "integer")?;
            if v.as_i64().is_some_and(|n| n <= 0) {
                return Err(format!("{v} is less than or equal to the minimum of 0"));
            }
            Ok(())
        }
        "physical_disks" => check_physical_disks(v),
        _ => Ok(()),
    }
}

/// `size_gb` is a non-negative integer or "MAX". Of an `anyOf`, jsonschema reports the
/// branch whose type matched, or the `anyOf` itself when none did.
fn check_size(v: &Value) -> Result<(), String> {
    if is_integer(v) {
        return match v.as_i64() {
            Some(n) if n < 0 => Err(format!("{n} is less than the minimum of 0")),
            _ => Ok(()),
        };
    }
    if v.is_string() {
        return check_enum(v, &["MAX"]);
    }
    Err(format!(
        "{} is not valid under any of the given schemas",
        py_repr(v)
    ))
}

/// A list of names, or of at least two objects.
fn check_physical_disks(v: &Value) -> Result<(), String> {
    let any_of = || {
        Err(format!(
            "{} is not valid under any of the given schemas",
            py_repr(v)
        ))
    };
    let Some(items) = v.as_array() else {
        return any_of();
    };
    if items.iter().all(Value::is_string) {
        return Ok(());
    }
    if items.iter().all(Value::is_object) {
        if items.len() >= 2 {
            return Ok(());
        }
        return Err(format!("{} is too short", py_repr(v)));
    }
    any_of()
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn node(raid: &str) -> Node {
        let mut node = Node {
            driver: "fake-hardware".into(),
            ..Node::default()
        };
        node.interfaces.raid = Some(raid.into());
        node
    }

    fn refusal(config: Value) -> String {
        match validate_raid_config(&node("fake"), config.as_object().unwrap()) {
            Err(Error::Invalid(m)) => m,
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn a_valid_configuration_passes() {
        let config = json!({"logical_disks": [
            {"size_gb": "MAX", "raid_level": "1+0", "is_root_volume": true},
            {"size_gb": 10, "raid_level": "5", "controller": "c", "physical_disks": ["a", "b"]},
        ]});
        validate_raid_config(&node("fake"), config.as_object().unwrap()).unwrap();
    }

    #[test]
    fn no_raid_refuses_as_not_found() {
        let config = json!({"logical_disks": []});
        let e = validate_raid_config(&node("no-raid"), config.as_object().unwrap()).unwrap_err();
        assert!(
            matches!(e, Error::NotFound(m) if m == "Driver fake-hardware does not support raid (disabled or not implemented).")
        );
    }

    #[test]
    fn refusals_name_the_best_match_as_ironic_does() {
        let cases = [
            (json!({"foo": 1}), "'logical_disks' is a required property"),
            (json!({"logical_disks": []}), "[] should be non-empty"),
            (json!({"logical_disks": "x"}), "'x' is not of type 'array'"),
            (
                json!({"logical_disks": [{"foo": 1}]}),
                "'raid_level' is a required property",
            ),
            (
                json!({"logical_disks": [{"raid_level": "1"}]}),
                "'size_gb' is a required property",
            ),
            (
                json!({"logical_disks": [{"size_gb": -1, "raid_level": "1"}]}),
                "-1 is less than the minimum of 0",
            ),
            (
                json!({"logical_disks": [{"size_gb": 1.5, "raid_level": "1"}]}),
                "1.5 is not valid under any of the given schemas",
            ),
            (
                json!({"logical_disks": [{"size_gb": "abc", "raid_level": "1"}]}),
                "'abc' is not one of ['MAX']",
            ),
            (
                json!({"logical_disks": [{"size_gb": 1, "raid_level": 1}]}),
                "1 is not of type 'string'",
            ),
            (
                json!({"logical_disks": [{"size_gb": 1, "raid_level": "1", "physical_disks": ["a"]}]}),
                "'controller' is a dependency of 'physical_disks'",
            ),
            (
                json!({"logical_disks": [{"size_gb": 1, "raid_level": "1", "number_of_physical_disks": 0}]}),
                "0 is less than or equal to the minimum of 0",
            ),
            (
                json!({"logical_disks": [{"size_gb": 1, "raid_level": "1"}], "x": 1}),
                "Additional properties are not allowed ('x' was unexpected)",
            ),
        ];
        for (config, message) in cases {
            assert_eq!(
                refusal(config),
                format!("RAID config validation error: {message}")
            );
        }
        let two_roots = json!({"logical_disks": [
            {"size_gb": 1, "raid_level": "1", "is_root_volume": true},
            {"size_gb": 1, "raid_level": "1", "is_root_volume": true},
        ]});
        assert_eq!(
            refusal(two_roots),
            "Raid config cannot have more than one root volume. 2 root volumes were specified"
        );
    }
}
