//! Chassis (`/v1/chassis`): reads come from the database, every change is a conductor
//! RPC. A chassis's nodes are the node list with the chassis as its filter.
//!
//! Every field has been there since 1.1; `fields` needs 1.8 and `detail` 1.43, as in the
//! other lists. Ironic writes a chassis's `nodes` link as a list holding the list of
//! links, and clients have always read it so: it is kept.

use crate::wire::Json;
use axum::extract::{Path, State};
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde::Serialize;
use serde_json::Value;
use utoipa::ToSchema;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use common::db::{Page, chassis as db};
use common::model::chassis::{self as model, Chassis, ChassisFields, NewChassis};
use common::model::{JsonObject, canonical_uuid, new_uuid};
use common::rpc::{Call, Reply};

use crate::app::{AppState, Ctx};
use crate::error::{ApiError, ApiResult};
use crate::extract::{JsonBody, Query, uuid_param};
use crate::listing::{Collection, QueryWording, parse_bool, parse_fields_as};
use crate::version::Version;
use crate::wire::{Link, Links, Only, Timestamp};

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(
            list_chassis,
            create_chassis,
            delete_chassis_collection
        ))
        .routes(routes!(list_chassis_detail))
        .routes(routes!(
            show_chassis,
            update_chassis,
            delete_chassis,
            post_to_chassis
        ))
        .routes(routes!(list_chassis_nodes))
        .routes(routes!(list_chassis_nodes_detail))
        .routes(routes!(show_chassis_node))
}

/// A chassis; a list or `?fields=` shows some of the fields only.
#[derive(Serialize, ToSchema)]
#[schema(as = Chassis)]
pub struct ChassisView<'a> {
    #[schema(value_type = String)]
    created_at: Timestamp,
    description: Option<&'a str>,
    #[schema(value_type = Object)]
    extra: &'a JsonObject,
    #[schema(value_type = Vec<Link>)]
    links: Links<'a>,
    /// The links to the chassis's nodes, inside a list of one.
    #[schema(value_type = Vec<Vec<Link>>)]
    nodes: [Links<'a>; 1],
    #[schema(value_type = Option<String>)]
    updated_at: Option<Timestamp>,
    uuid: &'a str,
}

fn view<'a>(c: &'a Chassis, base_url: &'a str) -> ChassisView<'a> {
    ChassisView {
        created_at: Timestamp(c.created_at),
        description: c.description.as_deref(),
        extra: &c.extra,
        nodes: [Links {
            base_url,
            path: ["chassis/", &c.uuid, "/nodes"],
        }],
        links: Links {
            base_url,
            path: ["chassis/", &c.uuid, ""],
        },
        updated_at: c.updated_at.map(Timestamp),
        uuid: &c.uuid,
    }
}

/// Which fields an item shows: those `fields` names (every one when None), and `links`.
fn keeper(fields: &Option<Vec<String>>) -> impl Fn(&str) -> bool + '_ {
    move |k: &str| k == "links" || fields.as_ref().is_none_or(|f| f.iter().any(|x| x == k))
}

/// A chassis with the fields `keep` accepts.
fn shown<'a>(
    c: &'a Chassis,
    base_url: &'a str,
    keep: &'a dyn Fn(&str) -> bool,
) -> Only<'a, ChassisView<'a>> {
    Only {
        value: view(c, base_url),
        keep,
    }
}

/// The list query of chassis, for the OpenAPI document's parameter constraints.
pub const CHASSIS: Collection = Collection {
    path: "chassis",
    key: "chassis",
    fields: &model::FIELDS,
    default_fields: &model::DEFAULT_FIELDS,
    wording: QueryWording::Schema,
    sort_keys: &model::SORT_KEYS,
};

/// `?fields=`: known names (400 in Ironic's schema words), from 1.8 (406).
fn parse_fields(q: &Query, version: Version) -> ApiResult<Option<Vec<String>>> {
    let Some(raw) = q.get("fields") else {
        return Ok(None);
    };
    let fields = parse_fields_as(raw, &model::FIELDS, QueryWording::Schema)?;
    if version.0 < 8 {
        return Err(common::Error::NotAcceptable("Request not acceptable.".into()).into());
    }
    Ok(Some(fields))
}

fn chassis_reply(reply: Reply) -> ApiResult<Chassis> {
    match reply {
        Reply::Chassis(c) => Ok(c),
        other => {
            Err(common::Error::Internal(format!("unexpected conductor reply: {other:?}")).into())
        }
    }
}

/// A list query of `/v1/chassis` or `/v1/chassis/detail`, checked in Ironic's order.
struct ListQuery {
    /// The fields each item shows; None for every one.
    fields: Option<Vec<String>>,
    /// `detail` as given, which the `next` link repeats.
    detail: Option<bool>,
    marker: Option<String>,
    page: Page,
}

/// `limit` as an integer: not one (or beyond an i64, as every list of sanlink reads
/// it) is 400.
fn limit_value(v: &str) -> ApiResult<i64> {
    v.trim()
        .parse::<i64>()
        .map_err(|_| ApiError::bad_request(format!("Expected an integer for limit: {v}")))
}

/// `limit`: positive, at most the configured maximum.
fn parse_limit(raw: Option<&str>, max: i64) -> ApiResult<i64> {
    match raw.map(limit_value).transpose()? {
        None => Ok(max),
        Some(n) if n <= 0 => Err(ApiError::bad_request("Limit must be positive")),
        Some(n) => Ok(n.min(max)),
    }
}

fn parse_list(q: &Query, version: Version, detail_path: bool, max: i64) -> ApiResult<ListQuery> {
    let allowed: &[&str] = if detail_path {
        &["limit", "marker", "sort_key", "sort_dir"]
    } else {
        &[
            "limit", "marker", "sort_key", "sort_dir", "fields", "detail",
        ]
    };
    q.only(allowed)?;
    let marker = q
        .get("marker")
        .map(|m| uuid_param(m, "marker"))
        .transpose()?;
    // Checked for its type before the query's schema, applied once the rest is valid.
    let limit = q.get("limit");
    limit.map(limit_value).transpose()?;
    let detail = q
        .get("detail")
        .map(|v| parse_bool("detail", v))
        .transpose()?;
    let fields = parse_fields(q, version)?;
    let descending = match q.get("sort_dir").unwrap_or("asc") {
        "asc" => false,
        "desc" => true,
        other => {
            return Err(ApiError::bad_request(format!(
                "Schema error: '{other}' is not one of ['asc', 'desc']"
            )));
        }
    };
    if let Some(d) = detail
        && version.0 < 43
    {
        return Err(ApiError::bad_request(format!(
            "Invalid query parameter ?detail={} received.",
            py_bool(d)
        )));
    }
    if fields.is_some() && detail == Some(true) {
        return Err(ApiError::bad_request(
            "Can not specify ?detail=True and fields in the same request.",
        ));
    }
    let limit = parse_limit(limit, max)?;
    let sort_key = q.get("sort_key").unwrap_or("id").to_string();
    let fields = match (fields, detail_path || detail == Some(true)) {
        (_, true) => None,
        (Some(f), false) => Some(f),
        (None, false) => Some(model::DEFAULT_FIELDS.map(str::to_string).to_vec()),
    };
    Ok(ListQuery {
        fields,
        detail,
        marker,
        page: Page {
            sort_key,
            descending,
            limit,
            marker: None,
        },
    })
}

fn py_bool(b: bool) -> &'static str {
    if b { "True" } else { "False" }
}

/// The sort key must be a column other than `extra`, in Ironic's two wordings.
fn check_sort_key(key: &str) -> Result<(), common::Error> {
    if model::SORT_KEYS.contains(&key) {
        return Ok(());
    }
    let shown = if key == "extra" {
        key.to_string()
    } else {
        format!("\"{key}\"")
    };
    Err(common::Error::invalid(format!(
        "The sort_key value {shown} is an invalid field for sorting"
    )))
}

/// The link to the next page, as Ironic writes it: the sort, `detail` when given, the
/// fields a list without `detail` shows, the limit and the last item.
fn next_link(ctx: &Ctx, path: &str, q: &ListQuery, last: &str, detail_path: bool) -> String {
    let mut query = form_urlencoded::Serializer::new(String::new());
    query.append_pair("sort_key", &q.page.sort_key);
    query.append_pair("sort_dir", if q.page.descending { "desc" } else { "asc" });
    if let Some(d) = q.detail {
        query.append_pair("detail", py_bool(d));
    }
    if let (Some(f), false) = (&q.fields, detail_path) {
        query.append_pair("fields", &f.join(","));
    }
    query.append_pair("limit", &q.page.limit.to_string());
    query.append_pair("marker", last);
    format!(
        "{}/v1/{path}?{}",
        ctx.base_url,
        query.finish().replace("%2C", ",")
    )
}

async fn list(state: AppState, ctx: Ctx, q: Query, detail_path: bool) -> ApiResult<Response> {
    let mut parsed = parse_list(&q, ctx.version, detail_path, state.settings.max_limit)?;
    let (marker, mut page) = (parsed.marker.clone(), parsed.page.clone());
    let found = state
        .db
        .run(move |conn| {
            page.marker = marker.map(|m| db::id_of(conn, &m)).transpose()?;
            check_sort_key(&page.sort_key)?;
            db::list(conn, &page)
        })
        .await?;
    let path = if detail_path {
        "chassis/detail"
    } else {
        "chassis"
    };
    let full = found.len() as i64 == parsed.page.limit;
    let next = match found.last() {
        Some(last) if full => Some(next_link(&ctx, path, &parsed, &last.uuid, detail_path)),
        _ => None,
    };
    let fields = parsed.fields.take();
    let keep = keeper(&fields);
    let items: Vec<_> = found
        .iter()
        .map(|c| shown(c, &ctx.base_url, &keep))
        .collect();
    let mut body = serde_json::Map::new();
    body.insert(
        "chassis".into(),
        serde_json::to_value(&items).map_err(|e| common::Error::Internal(e.to_string()))?,
    );
    if let Some(next) = next {
        body.insert("next".into(), Value::String(next));
    }
    Ok(Json(Value::Object(body)).into_response())
}

#[utoipa::path(
    get,
    path = "/v1/chassis",
    tag = "chassis",
    summary = "List chassis",
    params(crate::openapi::ListQuery),
    responses((status = 200, description = "OK", body = ChassisList))
)]
async fn list_chassis(State(state): State<AppState>, ctx: Ctx, q: Query) -> ApiResult<Response> {
    list(state, ctx, q, false).await
}

#[utoipa::path(
    get,
    path = "/v1/chassis/detail",
    tag = "chassis",
    summary = "List chassis with every field",
    params(DetailQuery),
    responses((status = 200, description = "OK", body = ChassisList))
)]
async fn list_chassis_detail(
    State(state): State<AppState>,
    ctx: Ctx,
    q: Query,
) -> ApiResult<Response> {
    list(state, ctx, q, true).await
}

#[utoipa::path(
    get,
    path = "/v1/chassis/{uuid}",
    tag = "chassis",
    summary = "Show a chassis",
    params(("uuid" = String, Path, description = "UUID"), crate::openapi::FieldsQuery),
    responses((status = 200, description = "OK", body = ChassisView))
)]
async fn show_chassis(
    State(state): State<AppState>,
    ctx: Ctx,
    Path(uuid): Path<String>,
    q: Query,
) -> ApiResult<Response> {
    q.only(&["fields"])?;
    let uuid = uuid_param(&uuid, "chassis_uuid")?;
    let fields = parse_fields(&q, ctx.version)?;
    let found = state
        .db
        .run(move |conn| db::get_by_uuid(conn, &uuid))
        .await?;
    Ok(Json(shown(&found, &ctx.base_url, &keeper(&fields))).into_response())
}

#[utoipa::path(
    post,
    path = "/v1/chassis",
    tag = "chassis",
    summary = "Create a chassis",
    request_body = ChassisCreate,
    responses((status = 201, description = "Created", body = ChassisView))
)]
async fn create_chassis(
    State(state): State<AppState>,
    ctx: Ctx,
    body: JsonBody,
) -> ApiResult<Response> {
    let mut body = body.object_for("chassis")?;
    model::check(&mut body, "chassis")?;
    let uuid = body
        .get("uuid")
        .and_then(Value::as_str)
        .and_then(canonical_uuid)
        .unwrap_or_else(new_uuid);
    let fields: ChassisFields = serde_json::from_value(Value::Object(body))
        .map_err(|e| common::schema::schema_error("chassis", e))?;
    let call = Call::CreateChassis {
        chassis: NewChassis { uuid, fields },
    };
    let created = chassis_reply(state.conductor.call(&ctx.request, call).await?)?;
    let location = ctx.location(&format!("chassis/{}", created.uuid));
    let body = Json(shown(&created, &ctx.base_url, &keeper(&None))).into_response();
    Ok((StatusCode::CREATED, [(header::LOCATION, location)], body).into_response())
}

#[utoipa::path(
    patch,
    path = "/v1/chassis/{uuid}",
    tag = "chassis",
    summary = "Update a chassis (JSON Patch)",
    params(("uuid" = String, Path, description = "UUID")),
    request_body = Vec<crate::openapi::PatchOperation>,
    responses((status = 200, description = "OK", body = ChassisView))
)]
async fn update_chassis(
    State(state): State<AppState>,
    ctx: Ctx,
    Path(uuid): Path<String>,
    body: JsonBody,
) -> ApiResult<Response> {
    let uuid = canonical_uuid(&uuid)
        .ok_or_else(|| ApiError::bad_request(format!("Schema error: '{uuid}' is not a 'uuid'")))?;
    let patch = common::patch::parse(&body.0)?;
    let call = Call::UpdateChassis { uuid, patch };
    let updated = chassis_reply(state.conductor.call(&ctx.request, call).await?)?;
    Ok(Json(shown(&updated, &ctx.base_url, &keeper(&None))).into_response())
}

#[utoipa::path(
    delete,
    path = "/v1/chassis/{uuid}",
    tag = "chassis",
    summary = "Delete a chassis that holds no node",
    params(("uuid" = String, Path, description = "UUID")),
    responses((status = 204, description = "Deleted"))
)]
async fn delete_chassis(
    State(state): State<AppState>,
    ctx: Ctx,
    Path(uuid): Path<String>,
) -> ApiResult<StatusCode> {
    let uuid = uuid_param(&uuid, "chassis_uuid")?;
    state
        .conductor
        .call(&ctx.request, Call::DestroyChassis { uuid })
        .await?;
    Ok(StatusCode::NO_CONTENT)
}

#[utoipa::path(
    method(delete, patch),
    path = "/v1/chassis",
    tag = "chassis",
    summary = "Refused: DELETE and PATCH need a chassis's UUID",
    responses((status = 400, description = "Missing mandatory parameter", body = crate::openapi::Error))
)]
async fn delete_chassis_collection() -> ApiResult<()> {
    Err(ApiError::missing_parameter("chassis_uuid"))
}

/// POST to a chassis takes its UUID for the body, as Ironic does.
#[utoipa::path(
    post,
    path = "/v1/chassis/{uuid}",
    tag = "chassis",
    summary = "Refused: create chassis at /v1/chassis",
    params(("uuid" = String, Path, description = "UUID")),
    responses((status = 400, description = "Schema error", body = crate::openapi::Error))
)]
async fn post_to_chassis(Path(uuid): Path<String>) -> ApiResult<()> {
    Err(crate::routes::nodes::not_an_object("chassis", uuid))
}

/// The chassis of a nested node list must exist (404), named by a UUID (400).
async fn chassis_filter(state: &AppState, uuid: &str) -> ApiResult<String> {
    let uuid = uuid_param(uuid, "chassis_uuid")?;
    let found = uuid.clone();
    state.db.run(move |conn| db::id_of(conn, &found)).await?;
    Ok(uuid)
}

#[utoipa::path(
    get,
    path = "/v1/chassis/{uuid}/nodes",
    tag = "chassis",
    summary = "List the nodes of a chassis",
    params(("uuid" = String, Path, description = "UUID"), crate::openapi::ListQuery, crate::openapi::NodeListFilter),
    responses((status = 200, description = "OK", body = crate::openapi::NodeList))
)]
async fn list_chassis_nodes(
    State(state): State<AppState>,
    ctx: Ctx,
    Path(uuid): Path<String>,
    q: Query,
) -> ApiResult<Json<Value>> {
    let uuid = chassis_filter(&state, &uuid).await?;
    crate::routes::nodes::list(state, ctx, q, false, Some(uuid)).await
}

#[utoipa::path(
    get,
    path = "/v1/chassis/{uuid}/nodes/detail",
    tag = "chassis",
    summary = "List the nodes of a chassis with every field",
    params(("uuid" = String, Path, description = "UUID"), crate::openapi::DetailListQuery, crate::openapi::NodeListFilter),
    responses((status = 200, description = "OK", body = crate::openapi::NodeList))
)]
async fn list_chassis_nodes_detail(
    State(state): State<AppState>,
    ctx: Ctx,
    Path(uuid): Path<String>,
    q: Query,
) -> ApiResult<Json<Value>> {
    let uuid = chassis_filter(&state, &uuid).await?;
    crate::routes::nodes::list(state, ctx, q, true, Some(uuid)).await
}

/// A node is read at `/v1/nodes/{ident}`; below a chassis the path is malformed.
#[utoipa::path(
    get,
    path = "/v1/chassis/{uuid}/nodes/{ident}",
    tag = "chassis",
    summary = "Refused: read nodes at /v1/nodes/{ident}",
    params(("uuid" = String, Path, description = "UUID"), ("ident" = String, Path, description = "node name or UUID")),
    responses((status = 400, description = "Malformed request URI", body = crate::openapi::Error))
)]
async fn show_chassis_node(Path((_, _)): Path<(String, String)>) -> ApiResult<()> {
    Err(ApiError::malformed_uri())
}

/// A page of chassis.
#[derive(ToSchema)]
#[allow(dead_code)]
pub struct ChassisList {
    chassis: Vec<ChassisView<'static>>,
    /// Link to the next page, present when this one is full.
    next: Option<String>,
}

/// A chassis's create body, as [`model::check`] checks it: nothing else is accepted.
pub struct ChassisCreate;

impl utoipa::PartialSchema for ChassisCreate {
    fn schema() -> utoipa::openapi::RefOr<utoipa::openapi::schema::Schema> {
        use crate::openapi::{document_schema, nullable, text_schema, uuid_schema};
        use utoipa::openapi::schema::{AdditionalProperties, ObjectBuilder, Schema};
        let body = ObjectBuilder::new()
            .additional_properties(Some(AdditionalProperties::FreeForm(false)))
            .property("uuid", nullable(uuid_schema(), true))
            .property(
                "description",
                nullable(text_schema(Some(model::DESCRIPTION_MAX)), true),
            )
            .property("extra", nullable(document_schema(), true));
        Schema::Object(body.build()).into()
    }
}

impl ToSchema for ChassisCreate {}

/// Parameters of `/v1/chassis/detail`, which takes neither `fields` nor `detail`.
#[derive(utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
#[allow(dead_code)]
pub struct DetailQuery {
    /// Page size, at most `SANLINK_MAX_LIMIT`.
    limit: Option<i64>,
    /// UUID of the last item of the previous page.
    marker: Option<String>,
    sort_key: Option<String>,
    /// `asc` or `desc`.
    sort_dir: Option<String>,
}

/// The `chassis_uuid` filter of node lists.
#[derive(utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
#[allow(dead_code)]
pub struct ChassisFilter {
    /// UUID of a chassis: only its nodes.
    chassis_uuid: Option<String>,
}
