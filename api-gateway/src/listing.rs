//! Collection listing shared by every resource: `limit`, `marker`, `sort_key`,
//! `sort_dir`, `detail`, `fields` and the `next` link (spec: volume-api.md §6).

use serde_json::{Map, Value};
use utoipa::openapi::RefOr;
use utoipa::openapi::schema::{
    ArrayBuilder, KnownFormat, ObjectBuilder, Schema, SchemaFormat, Type,
};

use common::model::node::truthy;
use common::schema::{self, FALSE_WORDS, TRUE_WORDS};

use crate::error::{ApiError, ApiResult};
use crate::extract::Query;

/// What a collection offers to its list query.
pub struct Collection {
    /// Path below `/v1`, e.g. `volume/connectors`.
    pub path: &'static str,
    /// The key of the list in the response body.
    pub key: &'static str,
    /// Every field an item has (for `fields=`).
    pub fields: &'static [&'static str],
    /// The fields of an item in a list without `detail` or `fields`.
    pub default_fields: &'static [&'static str],
    /// How bad query parameters are reported.
    pub wording: QueryWording,
    pub sort_keys: &'static [&'static str],
}

pub struct ListParams {
    pub detail: bool,
    pub fields: Option<Vec<String>>,
    pub limit: i64,
    pub marker: Option<String>,
    pub sort_key: String,
    pub descending: bool,
}

/// The values of `sort_dir`.
const SORT_DIRS: [&str; 2] = ["asc", "desc"];

/// Ironic's strict boolean words.
pub fn parse_bool(name: &str, value: &str) -> ApiResult<bool> {
    Ok(schema::bool_word(name, value)?)
}

/// Every word [`parse_bool`] accepts (in any case).
pub fn bool_words() -> Vec<&'static str> {
    TRUE_WORDS
        .iter()
        .chain(FALSE_WORDS.iter())
        .copied()
        .collect()
}

/// Parses `fields=a,b`: trimmed, lower-cased, de-duplicated, each one known (the
/// node API's wording of an unknown one).
pub fn parse_fields(value: &str, known: &[&str]) -> ApiResult<Vec<String>> {
    parse_fields_as(value, known, QueryWording::Node)
}

/// How bad query parameters are reported: each of Ironic's APIs has its own words; the
/// volume APIs give JSON-schema errors (listing the valid values).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum QueryWording {
    Node,
    Port,
    Schema,
}

/// Fields holding JSON documents: they exist, but no list sorts on them.
const JSON_FIELDS: [&str; 10] = [
    "extra",
    "properties",
    "driver_info",
    "driver_internal_info",
    "instance_info",
    "clean_step",
    "deploy_step",
    "internal_info",
    "local_link_connection",
    "raid_config",
];

pub fn parse_fields_as(
    value: &str,
    known: &[&str],
    wording: QueryWording,
) -> ApiResult<Vec<String>> {
    let mut fields: Vec<String> = Vec::new();
    for f in value
        .split(',')
        .map(|f| f.trim().to_ascii_lowercase())
        .filter(|f| !f.is_empty())
    {
        if !fields.contains(&f) {
            fields.push(f);
        }
    }
    let bad_list: Vec<&str> = fields
        .iter()
        .map(String::as_str)
        .filter(|f| *f != "links" && !known.contains(f))
        .collect();
    let bad = &bad_list;
    if let Some(bad) = bad.first() {
        return Err(ApiError::bad_request(match wording {
            QueryWording::Node => format!("Field {bad} is not a valid field."),
            QueryWording::Port => format!("Field(s) \"{}\" are not valid", bad_list.join(", ")),
            QueryWording::Schema => {
                let mut valid: Vec<&str> = known.iter().copied().chain(["links"]).collect();
                valid.sort();
                valid.dedup();
                let valid: Vec<String> = valid.iter().map(|f| format!("'{f}'")).collect();
                format!("Schema error: '{bad}' is not one of [{}]", valid.join(", "))
            }
        }));
    }
    Ok(fields)
}

impl ListParams {
    pub fn parse(q: &Query, c: &Collection, max_limit: i64) -> ApiResult<ListParams> {
        let detail = q
            .get("detail")
            .map(|v| parse_bool("detail", v))
            .transpose()?
            .unwrap_or(false);
        let fields = q
            .get("fields")
            .map(|v| parse_fields_as(v, c.fields, c.wording))
            .transpose()?;
        if detail && fields.is_some() {
            return Err(ApiError::bad_request(
                "Can't fetch a subset of fields with 'detail' set",
            ));
        }
        let limit = match q.get("limit") {
            None => max_limit,
            Some(v) => match v.trim().parse::<i64>() {
                Ok(n) if n <= 0 => return Err(ApiError::bad_request("Limit must be positive")),
                Ok(n) => n.min(max_limit),
                Err(_) => {
                    return Err(ApiError::bad_request(format!(
                        "Expected an integer for limit: {v}"
                    )));
                }
            },
        };
        let marker = q
            .get("marker")
            .map(|m| crate::extract::uuid_param(m, "marker"))
            .transpose()?;
        let sort_key = q.get("sort_key").unwrap_or("id").to_string();
        if !c.sort_keys.contains(&sort_key.as_str()) {
            // A JSON field, which cannot be sorted on, is named bare; anything else (not a
            // column at all) quoted, as Ironic's two checks word them.
            let shown = if JSON_FIELDS.contains(&sort_key.as_str()) {
                sort_key.clone()
            } else {
                format!("\"{sort_key}\"")
            };
            return Err(ApiError::bad_request(format!(
                "The sort_key value {shown} is an invalid field for sorting"
            )));
        }
        let descending = match q.get("sort_dir").unwrap_or(SORT_DIRS[0]) {
            "asc" => false,
            "desc" => true,
            other => {
                return Err(ApiError::bad_request(match c.wording {
                    QueryWording::Node | QueryWording::Port => format!(
                        "Invalid sort direction: {other}. Acceptable values are 'asc' or 'desc'"
                    ),
                    QueryWording::Schema => {
                        format!("Schema error: '{other}' is not one of ['asc', 'desc']")
                    }
                }));
            }
        };
        Ok(ListParams {
            detail,
            fields,
            limit,
            marker,
            sort_key,
            descending,
        })
    }

    /// The database page this list asks for, starting after the row `marker` names.
    pub fn page(&self, marker: Option<i64>) -> common::db::Page {
        common::db::Page {
            sort_key: self.sort_key.clone(),
            descending: self.descending,
            limit: self.limit,
            marker,
        }
    }

    /// Keeps the fields the request asked for (always with `links`).
    pub fn select(&self, c: &Collection, mut item: Map<String, Value>) -> Map<String, Value> {
        if self.detail {
            return item;
        }
        let wanted: Vec<&str> = match &self.fields {
            Some(f) => f.iter().map(String::as_str).collect(),
            None => c.default_fields.to_vec(),
        };
        item.retain(|k, _| k == "links" || wanted.contains(&k.as_str()));
        item
    }

    /// The `next` link, present when the page is full.
    pub fn next_link(
        &self,
        c: &Collection,
        base_url: &str,
        count: usize,
        last_uuid: Option<&str>,
        extra: &[(&str, &str)],
    ) -> Option<String> {
        if count as i64 != self.limit {
            return None;
        }
        let mut q = form_urlencoded::Serializer::new(String::new());
        q.append_pair("sort_key", &self.sort_key);
        q.append_pair("sort_dir", if self.descending { "desc" } else { "asc" });
        if self.detail {
            q.append_pair("detail", "True");
        }
        let fields = match &self.fields {
            Some(f) => f.join(","),
            None if self.detail => String::new(),
            None => c.default_fields.join(","),
        };
        if !fields.is_empty() {
            q.append_pair("fields", &fields);
        }
        q.append_pair("limit", &self.limit.to_string());
        q.append_pair("marker", last_uuid?);
        for (k, v) in extra {
            q.append_pair(k, v);
        }
        // Commas in the field list read better unescaped, as Ironic writes them.
        Some(format!(
            "{base_url}/v1/{}?{}",
            c.path,
            q.finish().replace("%2C", ",")
        ))
    }
}

/// The schema of a list query parameter as [`ListParams::parse`] reads it; `sort_key`
/// and `fields` name the fields of `c`. None for a parameter it does not read.
pub fn parameter_schema(name: &str, c: &Collection) -> Option<Schema> {
    let schema = match name {
        // Positive, and an i64: 0, negative or longer numbers are refused.
        "limit" => ObjectBuilder::new()
            .schema_type(Type::Integer)
            .format(Some(SchemaFormat::KnownFormat(KnownFormat::Int64)))
            .minimum(Some(1))
            .maximum(Some(i64::MAX))
            .into(),
        "marker" => crate::openapi::uuid_schema(),
        "sort_key" => enum_schema(c.sort_keys.iter().copied()),
        "sort_dir" => enum_schema(SORT_DIRS),
        "detail" => bool_schema(),
        // Comma-separated, as `parse_fields_as` splits it (`style: form, explode: false`).
        "fields" => ArrayBuilder::new()
            .items(RefOr::T(enum_schema(
                c.fields.iter().copied().chain(["links"]),
            )))
            .into(),
        _ => return None,
    };
    Some(schema)
}

/// A boolean word as [`parse_bool`] reads it.
pub fn bool_schema() -> Schema {
    enum_schema(bool_words())
}

/// A string that is one of `values`.
pub fn enum_schema<'a>(values: impl IntoIterator<Item = &'a str>) -> Schema {
    ObjectBuilder::new()
        .schema_type(Type::String)
        .enum_values(Some(values))
        .into()
}

/// Whether a query flag is set, for the loose flags of node lists.
pub fn flag(value: &str) -> bool {
    truthy(value)
}
