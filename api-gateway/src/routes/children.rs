//! What the routes of a node's connectors, targets and ports share: items shown with the
//! fields a request selected, pages of lists, and create, update and delete through a
//! conductor.

use crate::wire::Json;
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde::ser::{Serialize, SerializeMap, Serializer};
use serde_json::Value;

use common::child::New;
use common::db::{AnyConnection, Page};
use common::model::{JsonObject, canonical_uuid, new_uuid};
use common::schema::{self, schema_error};

use crate::app::{AppState, Ctx};
use crate::error::ApiResult;
use crate::extract::Query;
use crate::listing::{Collection, ListParams, parse_fields_as};
use crate::version::Version;
use crate::views::Shown;
use crate::wire::Only;

/// The list query of a resource's collection.
pub const fn collection<R: Shown>() -> Collection {
    Collection {
        wording: R::WORDING,
        path: R::PATH,
        key: R::KEY,
        fields: R::FIELDS,
        default_fields: R::DEFAULT_FIELDS,
        sort_keys: R::SORT_KEYS,
    }
}

/// Which fields of an item a response shows: always `links`, never a field newer than
/// the request's microversion.
pub struct Selection {
    /// None: every field.
    fields: Option<Vec<String>>,
    version: Version,
}

impl Selection {
    pub fn new(fields: Option<Vec<String>>, version: Version) -> Selection {
        Selection { fields, version }
    }

    /// What a list shows: every field with `detail`, else those asked for or the defaults.
    pub fn of_list<R: Shown>(params: &ListParams, version: Version) -> Selection {
        let fields = match (&params.fields, params.detail) {
            (_, true) => None,
            (Some(f), false) => Some(f.clone()),
            (None, false) => Some(R::DEFAULT_FIELDS.iter().map(|f| f.to_string()).collect()),
        };
        Selection::new(fields, version)
    }

    fn keeps<R: Shown>(&self, field: &str) -> bool {
        field == "links"
            || (self.version.0 >= R::since(field)
                && self
                    .fields
                    .as_ref()
                    .is_none_or(|f| f.iter().any(|x| x == field)))
    }
}

/// `?fields=` of a single-item GET, which takes no other parameter.
pub fn show_fields<R: Shown>(q: &Query) -> ApiResult<Option<Vec<String>>> {
    q.only(&["fields"])?;
    q.get("fields")
        .map(|f| parse_fields_as(f, R::FIELDS, R::WORDING))
        .transpose()
}

/// One item as a response body.
pub fn item<R: Shown>(ctx: &Ctx, item: &R, selection: &Selection) -> Response {
    let keep = |f: &str| selection.keeps::<R>(f);
    Json(Only {
        value: item.view(&ctx.base_url),
        keep: &keep,
    })
    .into_response()
}

/// A new item: 201 with its location.
pub fn created<R: Shown>(ctx: &Ctx, new: &R) -> Response {
    let location = ctx.location(&format!("{}/{}", R::PATH, new.uuid()));
    let body = item(ctx, new, &Selection::new(None, ctx.version));
    (StatusCode::CREATED, [(header::LOCATION, location)], body).into_response()
}

/// Shows one item, read from the database.
pub async fn show<R: Shown>(
    state: &AppState,
    ctx: &Ctx,
    uuid: String,
    fields: Option<Vec<String>>,
) -> ApiResult<Response> {
    let found = state.db.run(move |conn| R::get(conn, &uuid)).await?;
    Ok(item(ctx, &found, &Selection::new(fields, ctx.version)))
}

/// Reads one page in one trip to the database: the node filter first (an unknown node
/// is the error even when the marker is unknown too), then the marker, then the items.
pub async fn fetch<R, N, L>(
    state: &AppState,
    params: &ListParams,
    node: N,
    list: L,
) -> ApiResult<Vec<R>>
where
    R: Shown,
    N: FnOnce(&mut AnyConnection) -> Result<Option<i64>, common::Error> + Send + 'static,
    L: FnOnce(&mut AnyConnection, Option<i64>, &Page) -> Result<Vec<R>, common::Error>
        + Send
        + 'static,
{
    let marker = params.marker.clone();
    let mut page = params.page(None);
    let found = state
        .db
        .run(move |conn| {
            let node_id = node(conn)?;
            page.marker = marker.map(|m| R::id_of(conn, &m)).transpose()?;
            list(conn, node_id, &page)
        })
        .await?;
    Ok(found)
}

/// A page of a list as a response body, with the link to the next page when it is full.
pub fn list<R: Shown>(
    ctx: &Ctx,
    c: &Collection,
    params: &ListParams,
    items: &[R],
    query: &[(&str, &str)],
) -> Response {
    let last = items.last().map(|i| i.uuid());
    let next = params.next_link(c, &ctx.base_url, items.len(), last, query);
    let selection = Selection::of_list::<R>(params, ctx.version);
    let keep = |f: &str| selection.keeps::<R>(f);
    let shown: Vec<_> = items
        .iter()
        .map(|i| Only {
            value: i.view(&ctx.base_url),
            keep: &keep,
        })
        .collect();
    Json(ListBody {
        key: c.key,
        items: shown,
        next,
    })
    .into_response()
}

/// `{"<key>": [...], "next": "..."}`, `next` only when there is a next page.
struct ListBody<T> {
    key: &'static str,
    items: Vec<T>,
    next: Option<String>,
}

impl<T: Serialize> Serialize for ListBody<T> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mut map = s.serialize_map(None)?;
        map.serialize_entry(self.key, &self.items)?;
        if let Some(next) = &self.next {
            map.serialize_entry("next", next)?;
        }
        map.end()
    }
}

/// A create body, checked against the resource's schema, as the conductor takes it: the
/// UUID given or a new one, and the node's UUID in canonical form.
pub fn new_from_body<R: Shown>(mut body: JsonObject) -> ApiResult<New<R::Fields>> {
    schema::check(&mut body, R::CREATE_SCHEMA, R::SCHEMA_NAME)?;
    let uuid = body
        .get("uuid")
        .and_then(Value::as_str)
        .and_then(canonical_uuid)
        .unwrap_or_else(new_uuid);
    let mut fields: R::Fields =
        serde_json::from_value(Value::Object(body)).map_err(|e| schema_error(R::SCHEMA_NAME, e))?;
    if let Some(node) = canonical_uuid(R::node_uuid(&fields)) {
        R::set_node_uuid(&mut fields, node);
    }
    Ok(New { uuid, fields })
}

pub async fn create<R: Shown>(
    state: &AppState,
    ctx: &Ctx,
    new: New<R::Fields>,
) -> ApiResult<Response> {
    let stored: R = state.conductor.create(&ctx.request, new).await?;
    Ok(created(ctx, &stored))
}

/// Sends a parsed patch to the conductor and shows the result.
pub async fn update_with<R: Shown>(
    state: &AppState,
    ctx: &Ctx,
    uuid: String,
    patch: Vec<json_patch::PatchOperation>,
) -> ApiResult<Response> {
    let updated: R = state.conductor.update(&ctx.request, uuid, patch).await?;
    Ok(item(ctx, &updated, &Selection::new(None, ctx.version)))
}

pub async fn destroy<R: Shown>(state: &AppState, ctx: &Ctx, uuid: String) -> ApiResult<StatusCode> {
    state.conductor.destroy::<R>(&ctx.request, uuid).await?;
    Ok(StatusCode::NO_CONTENT)
}
