//! Ports and portgroups, as far as Nova reads them. Ports are stored; portgroups do not
//! exist in sanlink, so their lists are always empty.

use axum::Json;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde_json::{Value, json};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use common::child::NodeChild;
use common::db::ports;
use common::model::port::{Port, normalize_mac};

use super::children::{self, collection};
use crate::app::{AppState, Ctx};
use crate::error::{ApiError, ApiResult};
use crate::extract::{JsonBody, Query, uuid_param};
use crate::listing::{Collection, ListParams, QueryWording, parse_fields_as};
use crate::version::Version;
use crate::views::Shown;

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(
            list_ports,
            create_port,
            delete_port_collection,
            patch_port_collection
        ))
        .routes(routes!(list_ports_detail))
        .routes(routes!(show_port, update_port, delete_port, post_to_port))
        .routes(routes!(list_portgroups))
        .routes(routes!(list_portgroups_detail))
}

pub const PORTS: Collection = collection::<Port>();

const PORTS_DETAIL: Collection = Collection {
    path: "ports/detail",
    ..collection::<Port>()
};

/// 406 for port fields newer than the request.
fn check_versions<'a>(
    fields: impl IntoIterator<Item = &'a str>,
    version: Version,
) -> ApiResult<()> {
    let too_new: Vec<&str> = fields
        .into_iter()
        .filter(|f| version.0 < Port::since(f))
        .collect();
    if too_new.is_empty() {
        return Ok(());
    }
    // Ironic names neither the fields nor the version.
    tracing::debug!(fields = ?too_new, %version, "fields newer than the request's version");
    Err(common::Error::NotAcceptable("Request not acceptable.".into()).into())
}

fn mac_param(value: &str) -> ApiResult<String> {
    normalize_mac(value).ok_or_else(|| {
        ApiError::bad_request(format!("Expected valid MAC address for address: {value}"))
    })
}

/// Resolves a `node` filter (UUID or name) to the node's internal id; unknown is 404.
async fn node_filter(state: &AppState, ctx: &Ctx, ident: &str) -> ApiResult<i64> {
    let node = crate::routes::nodes::load_node(state, ctx, ident).await?;
    Ok(node.id)
}

async fn list(state: AppState, ctx: Ctx, q: Query, detail_path: bool) -> ApiResult<Response> {
    q.only(&[
        "node",
        "node_uuid",
        "address",
        "portgroup",
        "limit",
        "marker",
        "sort_key",
        "sort_dir",
        "detail",
        "fields",
    ])?;
    if detail_path && q.get("fields").is_some() {
        return Err(ApiError::bad_request(
            "Can't fetch a subset of fields with 'detail' set",
        ));
    }
    if let Some(raw) = q.get("fields") {
        let fields = parse_fields_as(raw, Port::FIELDS, QueryWording::Port)?;
        check_versions(fields.iter().map(String::as_str), ctx.version)?;
    }
    if q.get("node").is_some() && q.get("node_uuid").is_some() {
        return Err(ApiError::bad_request(
            "Only one of node or node_uuid may be given.",
        ));
    }
    if q.get("portgroup").is_some() {
        // No portgroup exists, so no port belongs to one.
        return Ok(Json(json!({ "ports": [] })).into_response());
    }
    let node_id = match q.get("node").or(q.get("node_uuid")) {
        Some(ident) => Some(node_filter(&state, &ctx, ident).await?),
        None => None,
    };
    let address = q.get("address").map(mac_param).transpose()?;
    let c = if detail_path { &PORTS_DETAIL } else { &PORTS };
    let mut params = ListParams::parse(&q, c, state.settings.max_limit)?;
    params.detail |= detail_path;
    let found = children::fetch(
        &state,
        &params,
        move |_| Ok(node_id),
        move |conn, node_id, page| ports::list(conn, node_id, address.as_deref(), page),
    )
    .await?;
    let query: Vec<(&str, &str)> = ["node", "node_uuid", "address"]
        .iter()
        .filter_map(|k| q.get(k).map(|v| (*k, v)))
        .collect();
    Ok(children::list(&ctx, c, &params, &found, &query))
}

#[utoipa::path(
    get,
    path = "/v1/ports",
    tag = "ports",
    summary = "List ports",
    params(crate::openapi::ListQuery, crate::openapi::NodeFilter, ("address" = Option<String>, Query, description = "MAC address")),
    responses((status = 200, description = "OK", body = crate::openapi::PortList))
)]
async fn list_ports(State(state): State<AppState>, ctx: Ctx, q: Query) -> ApiResult<Response> {
    list(state, ctx, q, false).await
}

#[utoipa::path(
    get,
    path = "/v1/ports/detail",
    tag = "ports",
    summary = "List ports with every field",
    params(crate::openapi::DetailListQuery, crate::openapi::NodeFilter),
    responses((status = 200, description = "OK", body = crate::openapi::PortList))
)]
async fn list_ports_detail(
    State(state): State<AppState>,
    ctx: Ctx,
    q: Query,
) -> ApiResult<Response> {
    list(state, ctx, q, true).await
}

#[utoipa::path(
    get,
    path = "/v1/ports/{uuid}",
    tag = "ports",
    summary = "Show a port",
    params(("uuid" = String, Path, description = "UUID"), crate::openapi::FieldsQuery),
    responses((status = 200, description = "OK", body = crate::views::PortView))
)]
async fn show_port(
    State(state): State<AppState>,
    ctx: Ctx,
    Path(uuid): Path<String>,
    q: Query,
) -> ApiResult<Response> {
    q.only(&["fields"])?;
    let uuid = uuid_param(&uuid, "port_uuid")?;
    let fields = children::show_fields::<Port>(&q)?;
    if let Some(f) = &fields {
        check_versions(f.iter().map(String::as_str), ctx.version)?;
    }
    children::show::<Port>(&state, &ctx, uuid, fields).await
}

#[utoipa::path(
    post,
    path = "/v1/ports",
    tag = "ports",
    summary = "Create a port",
    request_body = crate::openapi::PortCreate,
    responses((status = 201, description = "Created", body = crate::views::PortView))
)]
async fn create_port(
    State(state): State<AppState>,
    ctx: Ctx,
    body: JsonBody,
) -> ApiResult<Response> {
    let body = body.object_for(Port::SCHEMA_NAME)?;
    check_versions(body.keys().map(String::as_str), ctx.version)?;
    let mut new = children::new_from_body::<Port>(body)?;
    new.fields.address = mac_param(&new.fields.address)?;
    if let Some(pg) = &new.fields.portgroup_uuid {
        return Err(ApiError::bad_request(format!(
            "Portgroup {pg} could not be found."
        )));
    }
    children::create::<Port>(&state, &ctx, new).await
}

#[utoipa::path(
    patch,
    path = "/v1/ports/{uuid}",
    tag = "ports",
    summary = "Update a port (JSON Patch)",
    params(("uuid" = String, Path, description = "UUID")),
    request_body = Vec<crate::openapi::PatchOperation>,
    responses((status = 200, description = "OK", body = crate::views::PortView))
)]
async fn update_port(
    State(state): State<AppState>,
    ctx: Ctx,
    Path(uuid): Path<String>,
    body: JsonBody,
) -> ApiResult<Response> {
    let uuid = uuid_param(&uuid, "port_uuid")?;
    let ops = common::patch::parse(&body.0)?;
    let fields: Vec<String> = ops.iter().map(common::patch::top_field).collect();
    check_versions(fields.iter().map(String::as_str), ctx.version)?;
    children::update_with::<Port>(&state, &ctx, uuid, ops).await
}

/// DELETE and PATCH of the collection miss the port, each named as Ironic names it.
#[utoipa::path(
    delete,
    path = "/v1/ports",
    tag = "ports",
    summary = "Refused: DELETE needs a port's UUID",
    responses((status = 400, description = "Missing mandatory parameter", body = crate::openapi::Error))
)]
async fn delete_port_collection() -> ApiResult<()> {
    Err(ApiError::missing_parameter("port_uuid"))
}

#[utoipa::path(
    patch,
    path = "/v1/ports",
    tag = "ports",
    summary = "Refused: PATCH needs a port's UUID",
    responses((status = 400, description = "Missing mandatory parameter", body = crate::openapi::Error))
)]
async fn patch_port_collection() -> ApiResult<()> {
    Err(ApiError::missing_parameter("port_ident"))
}

/// POST to a port takes its UUID for the body, as Ironic does.
#[utoipa::path(
    post,
    path = "/v1/ports/{uuid}",
    tag = "ports",
    summary = "Refused: create ports at /v1/ports",
    params(("uuid" = String, Path, description = "UUID")),
    responses((status = 400, description = "Schema error", body = crate::openapi::Error))
)]
async fn post_to_port(Path(uuid): Path<String>) -> ApiResult<()> {
    Err(crate::routes::nodes::not_an_object("port", uuid))
}

#[utoipa::path(
    delete,
    path = "/v1/ports/{uuid}",
    tag = "ports",
    summary = "Delete a port",
    params(("uuid" = String, Path, description = "UUID")),
    responses((status = 204, description = "Deleted"))
)]
async fn delete_port(
    State(state): State<AppState>,
    ctx: Ctx,
    Path(uuid): Path<String>,
) -> ApiResult<StatusCode> {
    let uuid = uuid_param(&uuid, "port_uuid")?;
    children::destroy::<Port>(&state, &ctx, uuid).await
}

/// Portgroups came with 1.23; the filters are checked as Ironic checks them.
#[utoipa::path(
    get,
    path = "/v1/portgroups",
    tag = "ports",
    summary = "List port groups (always empty; 1.23)",
    params(crate::openapi::ListQuery, crate::openapi::NodeFilter),
    responses((status = 200, description = "OK", body = crate::openapi::PortgroupList))
)]
async fn list_portgroups(
    State(state): State<AppState>,
    ctx: Ctx,
    q: Query,
) -> ApiResult<Json<Value>> {
    if ctx.version.0 < 23 {
        return Err(ApiError::not_found_path());
    }
    q.only(&[
        "node", "address", "limit", "marker", "sort_key", "sort_dir", "detail", "fields",
    ])?;
    if let Some(ident) = q.get("node") {
        node_filter(&state, &ctx, ident).await?;
    }
    if let Some(address) = q.get("address") {
        mac_param(address)?;
    }
    if let Some(marker) = q.get("marker") {
        uuid_param(marker, "marker")?;
    }
    Ok(Json(json!({ "portgroups": [] })))
}

/// `/v1/portgroups/detail`: the same empty list.
#[utoipa::path(
    get,
    path = "/v1/portgroups/detail",
    tag = "ports",
    summary = "List port groups with every field",
    params(crate::openapi::ListQuery, crate::openapi::NodeFilter),
    responses((status = 200, description = "OK", body = crate::openapi::PortgroupList))
)]
async fn list_portgroups_detail(
    state: State<AppState>,
    ctx: Ctx,
    q: Query,
) -> ApiResult<Json<Value>> {
    list_portgroups(state, ctx, q).await
}
