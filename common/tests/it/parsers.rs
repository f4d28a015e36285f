//! Property tests of the parsers sanlink owns in `common`: JSON Patch parsing and
//! application, and `properties.capabilities` strings. Whatever the input, they answer
//! a value or an `Invalid` error.

use proptest::prelude::*;
use serde_json::{Map, Value, json};

use common::Error;
use common::model::node::Node;
use common::patch;

/// Any JSON value, a few levels deep.
fn json_value() -> impl Strategy<Value = Value> {
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::Bool),
        any::<i64>().prop_map(|n| json!(n)),
        ".{0,8}".prop_map(Value::String),
    ];
    leaf.prop_recursive(4, 32, 4, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..4).prop_map(Value::Array),
            prop::collection::btree_map("[a-z/~0-9]{0,6}", inner, 0..4)
                .prop_map(|m| Value::Object(m.into_iter().collect())),
        ]
    })
}

/// A patch operation made of likely and unlikely parts.
fn operation() -> impl Strategy<Value = Value> {
    let op = prop_oneof![
        Just(json!("add")),
        Just(json!("replace")),
        Just(json!("remove")),
        Just(json!("move")),
        json_value()
    ];
    let path = prop_oneof![
        "(/[a-z~0-9_]{0,6}){0,4}".prop_map(Value::String),
        json_value()
    ];
    (op, path, json_value(), any::<bool>()).prop_map(|(op, path, value, with_value)| {
        let mut o = json!({"op": op, "path": path});
        if with_value {
            o["value"] = value;
        }
        o
    })
}

fn invalid(e: &Error) -> bool {
    matches!(e, Error::Invalid(_))
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 512, ..ProptestConfig::default() })]

    #[test]
    fn any_patch_body_parses_or_is_invalid(body in json_value()) {
        if let Err(e) = patch::parse(&body) {
            prop_assert!(invalid(&e), "{e:?}");
        }
    }

    #[test]
    fn parsed_patches_apply_to_an_object_or_are_invalid(
        ops in prop::collection::vec(operation(), 0..5),
        doc in prop::collection::btree_map("[a-z]{1,5}", json_value(), 0..5),
    ) {
        let doc: Map<String, Value> = doc.into_iter().collect();
        if let Ok(parsed) = patch::parse(&Value::Array(ops)) {
            match patch::apply(&doc, &parsed) {
                Ok(_) => {}
                Err(e) => prop_assert!(invalid(&e), "{e:?}"),
            }
        }
    }

    #[test]
    fn add_then_remove_of_a_new_member_restores_the_document(
        doc in prop::collection::btree_map("[a-m]{1,5}", json_value(), 0..5),
        key in "[n-z]{1,5}",
        value in json_value(),
    ) {
        let doc: Map<String, Value> = doc.into_iter().collect();
        let add = patch::parse(&json!([{"op": "add", "path": format!("/{key}"), "value": value}])).unwrap();
        let added = patch::apply(&doc, &add).unwrap();
        prop_assert_eq!(added.get(&key), Some(&value));
        let remove = patch::parse(&json!([{"op": "remove", "path": format!("/{key}")}])).unwrap();
        prop_assert_eq!(patch::apply(&added, &remove).unwrap(), doc);
    }

    #[test]
    fn capabilities_find_each_well_formed_entry(
        entries in prop::collection::btree_map("[a-z_]{1,8}", "[a-zA-Z0-9_.-]{0,8}", 0..6),
        noise in "[^,]{0,10}",
    ) {
        // Entries, with a malformed one (no colon, or anything) in the middle.
        let mut parts: Vec<String> = entries.iter().map(|(k, v)| format!("{k}:{v}")).collect();
        parts.insert(parts.len() / 2, noise.replace(':', ""));
        let node = Node {
            properties: [("capabilities".to_string(), json!(parts.join(",")))].into_iter().collect(),
            ..Node::default()
        };
        for (k, v) in &entries {
            prop_assert_eq!(node.capability(k), Some(v.clone()));
        }
        prop_assert_eq!(node.capability("no-such-capability"), None);
    }

    #[test]
    fn a_capability_is_the_value_of_the_first_entry_with_its_key(
        caps in prop_oneof!["[ab ,:x]{0,30}", ".{0,40}"],
        key in "[ab ]{0,2}",
    ) {
        let node = Node {
            properties: [("capabilities".to_string(), json!(caps))].into_iter().collect(),
            ..Node::default()
        };
        // Entries are separated by commas; an entry without a colon has no key.
        let first = caps
            .split(',')
            .filter_map(|entry| entry.split_once(':'))
            .find(|(k, _)| k.trim() == key);
        match node.capability(&key) {
            Some(value) => {
                let (_, expected) = first.expect("a value without an entry");
                prop_assert_eq!(value.as_str(), expected.trim());
                prop_assert!(!value.contains(','), "{value:?} spans entries");
            }
            None => prop_assert!(first.is_none(), "{key:?} not found in {caps:?}"),
        }
    }
}
