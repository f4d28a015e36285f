//! Collection listing shared by every resource: `limit`, `marker`, `sort_key`,
//! `sort_dir`, `detail`, `fields` and the `next` link (spec: volume-api.md §6).

use serde_json::{Map, Value};

use common::model::node::truthy;

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

/// Ironic's strict boolean words.
pub fn parse_bool(name: &str, value: &str) -> ApiResult<bool> {
    match value.to_ascii_lowercase().as_str() {
        "1" | "t" | "true" | "on" | "y" | "yes" => Ok(true),
        "0" | "f" | "false" | "off" | "n" | "no" => Ok(false),
        _ => Err(ApiError::bad_request(format!(
            "Invalid value for {name}: '{value}'. It must be a boolean (true or false)."
        ))),
    }
}

/// Parses `fields=a,b`: trimmed, lower-cased, de-duplicated, each one known.
pub fn parse_fields(value: &str, known: &[&str]) -> ApiResult<Vec<String>> {
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
    let bad: Vec<&str> = fields
        .iter()
        .map(String::as_str)
        .filter(|f| *f != "links" && !known.contains(f))
        .collect();
    if !bad.is_empty() {
        return Err(ApiError::bad_request(format!(
            "Field(s) \"{}\" are not valid",
            bad.join(", ")
        )));
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
            .map(|v| parse_fields(v, c.fields))
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
                        "Invalid input for field/attribute limit. Value: '{v}'. Wrong type. Expected 'int'"
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
            return Err(ApiError::bad_request(format!(
                "The sort_key value \"{sort_key}\" is an invalid field for sorting"
            )));
        }
        let descending = match q.get("sort_dir").unwrap_or("asc") {
            "asc" => false,
            "desc" => true,
            other => {
                return Err(ApiError::bad_request(format!(
                    "Invalid sort direction: {other}. Acceptable values are 'asc' or 'desc'"
                )));
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

/// Whether a query flag is set, for the loose flags of node lists.
pub fn flag(value: &str) -> bool {
    truthy(value)
}
