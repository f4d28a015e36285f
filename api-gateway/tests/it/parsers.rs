//! Property tests of the gateway's parsers: the version header, query strings and list
//! parameters. Whatever the input, they answer a value within bounds or a 4xx.

use proptest::prelude::*;

use api_gateway::extract::Query;
use api_gateway::listing::{Collection, ListParams, QueryWording, parse_bool, parse_fields};
use api_gateway::version::{MAX, MIN, negotiate};

const COLLECTION: Collection = Collection {
    wording: QueryWording::Schema,
    path: "volume/connectors",
    key: "connectors",
    fields: &["uuid", "type", "connector_id", "extra"],
    default_fields: &["uuid", "type"],
    sort_keys: &["id", "uuid", "type"],
};

proptest! {
    #![proptest_config(ProptestConfig { cases: 1024, ..ProptestConfig::default() })]

    #[test]
    fn any_version_header_is_a_supported_version_or_406(value in ".{0,12}") {
        match negotiate(Some(&value)) {
            Ok(v) => prop_assert!(v >= MIN && v <= MAX),
            Err(e) => prop_assert_eq!(e.status.as_u16(), 406),
        }
    }

    #[test]
    fn versions_one_dot_n_are_accepted_exactly_in_range(minor in 0u32..200) {
        let result = negotiate(Some(&format!("1.{minor}")));
        let supported = (MIN.0..=MAX.0).contains(&minor);
        prop_assert_eq!(result.is_ok(), supported);
        if supported {
            prop_assert_eq!(result.unwrap().0, minor);
        }
    }

    #[test]
    fn query_strings_round_trip_keeping_the_last_value(
        pairs in prop::collection::vec(("[a-c]{1,2}", ".{0,6}"), 0..6),
    ) {
        let mut s = form_urlencoded::Serializer::new(String::new());
        for (k, v) in &pairs {
            s.append_pair(k, v);
        }
        let q = Query::parse(Some(&s.finish()));
        for (k, _) in &pairs {
            let last = pairs.iter().rev().find(|(key, _)| key == k).map(|(_, v)| v.as_str());
            prop_assert_eq!(q.get(k), last);
        }
    }

    #[test]
    fn any_raw_query_keeps_each_keys_last_value_and_names_unexpected_ones(
        raw in "([a-c%&=+]|.){0,40}",
    ) {
        let q = Query::parse(Some(&raw));
        let pairs: Vec<(String, String)> = form_urlencoded::parse(raw.as_bytes()).into_owned().collect();
        for (k, _) in &pairs {
            let last = pairs.iter().rev().find(|(key, _)| key == k).map(|(_, v)| v.as_str());
            prop_assert_eq!(q.get(k), last);
        }
        match q.only(&[]) {
            Ok(()) => prop_assert!(pairs.is_empty(), "{pairs:?} accepted"),
            Err(e) => {
                prop_assert_eq!(e.status.as_u16(), 400);
                prop_assert!(e.message.starts_with("Unexpected arguments: "), "{}", e.message);
                for (k, _) in &pairs {
                    prop_assert!(e.message.contains(k.as_str()), "{k:?} not named: {}", e.message);
                }
            }
        }
    }

    #[test]
    fn list_parameters_are_in_bounds_or_400(
        limit in prop_oneof![".{0,6}", any::<i64>().prop_map(|n| n.to_string())],
        detail in prop_oneof!["true|false|yes|0", ".{0,4}"],
        fields in "[a-z_,]{0,20}",
        sort_dir in "asc|desc|.{0,4}",
        max in 1i64..2000,
        use_fields in any::<bool>(),
    ) {
        let mut s = form_urlencoded::Serializer::new(String::new());
        s.append_pair("limit", &limit).append_pair("sort_dir", &sort_dir);
        if use_fields {
            s.append_pair("fields", &fields);
        } else {
            s.append_pair("detail", &detail);
        }
        match ListParams::parse(&Query::parse(Some(&s.finish())), &COLLECTION, max) {
            Ok(p) => prop_assert!(p.limit >= 1 && p.limit <= max, "limit {}", p.limit),
            Err(e) => prop_assert_eq!(e.status.as_u16(), 400),
        }
    }

    #[test]
    fn booleans_and_field_lists_parse_or_are_400(value in ".{0,10}") {
        if let Err(e) = parse_bool("detail", &value) {
            prop_assert_eq!(e.status.as_u16(), 400);
        }
        match parse_fields(&value, COLLECTION.fields) {
            Ok(fields) => prop_assert!(fields.iter().all(|f| f == "links" || COLLECTION.fields.contains(&f.as_str()))),
            Err(e) => prop_assert_eq!(e.status.as_u16(), 400),
        }
    }
}
