//! Ports and portgroups, as far as Nova reads them. Ports are stored; portgroups do not
//! exist in sanlink, so their lists are always empty.

use axum::Json;
use axum::extract::{Path, State};
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde_json::{Map, Value, json};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use common::db::ports;
use common::model::port::{ADDRESS_MAX, Port, normalize_mac};
use common::model::{canonical_uuid, isoformat, new_uuid, now};
use common::schema::{self, Kind, field};

use crate::app::{AppState, Ctx};
use crate::error::{ApiError, ApiResult};
use crate::extract::{JsonBody, Query, uuid_param};
use crate::listing::{Collection, ListParams, QueryWording, parse_fields_as};
use crate::version::Version;

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

const FIELDS: [&str; 11] = [
    "uuid",
    "address",
    "node_uuid",
    "extra",
    "internal_info",
    "local_link_connection",
    "pxe_enabled",
    "physical_network",
    "portgroup_uuid",
    "created_at",
    "updated_at",
];

/// The minor version that introduced a port field.
fn since(field: &str) -> u32 {
    match field {
        "internal_info" => 18,
        "local_link_connection" | "pxe_enabled" => 19,
        "portgroup_uuid" => 24,
        "physical_network" => 34,
        _ => 1,
    }
}

pub const PORTS: Collection = Collection {
    wording: QueryWording::Port,
    path: "ports",
    key: "ports",
    fields: &FIELDS,
    default_fields: &["uuid", "address"],
    sort_keys: &ports::SORT_KEYS,
};

const PORTS_DETAIL: Collection = Collection {
    path: "ports/detail",
    ..PORTS
};

const CREATE_FIELDS: [schema::Field; 8] = [
    field("uuid", Kind::Uuid, false, true),
    field("address", Kind::Str(ADDRESS_MAX), true, false),
    field("node_uuid", Kind::Uuid, true, false),
    field("extra", Kind::Object, false, true),
    field("local_link_connection", Kind::Object, false, true),
    field("pxe_enabled", Kind::Bool, false, true),
    field("physical_network", Kind::Str(64), false, true),
    field("portgroup_uuid", Kind::Uuid, false, true),
];

/// 406 for port fields newer than the request.
fn check_versions<'a>(
    fields: impl IntoIterator<Item = &'a str>,
    version: Version,
) -> ApiResult<()> {
    let too_new: Vec<&str> = fields
        .into_iter()
        .filter(|f| version.0 < since(f))
        .collect();
    if too_new.is_empty() {
        return Ok(());
    }
    // Ironic names neither the fields nor the version.
    tracing::debug!(fields = ?too_new, %version, "fields newer than the request's version");
    Err(common::Error::NotAcceptable("Request not acceptable.".into()).into())
}

fn ts(t: &Option<chrono::NaiveDateTime>) -> Value {
    t.as_ref()
        .map(|t| Value::String(isoformat(t)))
        .unwrap_or(Value::Null)
}

pub fn port_json(ctx: &Ctx, p: &Port) -> Map<String, Value> {
    let Value::Object(mut obj) = json!({
        "uuid": p.uuid,
        "address": p.address,
        "node_uuid": p.node_uuid,
        "extra": p.extra,
        "internal_info": p.internal_info,
        "local_link_connection": p.local_link_connection,
        "pxe_enabled": p.pxe_enabled,
        "physical_network": p.physical_network,
        "portgroup_uuid": null,
        "created_at": isoformat(&p.created_at),
        "updated_at": ts(&p.updated_at),
    }) else {
        unreachable!()
    };
    obj.retain(|k, _| ctx.version.0 >= since(k));
    obj.insert("links".into(), ctx.links(&format!("ports/{}", p.uuid)));
    obj
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

async fn list(state: AppState, ctx: Ctx, q: Query, detail_path: bool) -> ApiResult<Json<Value>> {
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
        let fields = parse_fields_as(raw, &FIELDS, QueryWording::Port)?;
        check_versions(fields.iter().map(String::as_str), ctx.version)?;
    }
    if q.get("node").is_some() && q.get("node_uuid").is_some() {
        return Err(ApiError::bad_request(
            "Only one of node or node_uuid may be given.",
        ));
    }
    if q.get("portgroup").is_some() {
        // No portgroup exists, so no port belongs to one.
        return Ok(Json(json!({ "ports": [] })));
    }
    let node_id = match q.get("node").or(q.get("node_uuid")) {
        Some(ident) => Some(node_filter(&state, &ctx, ident).await?),
        None => None,
    };
    let address = q.get("address").map(mac_param).transpose()?;
    let c = if detail_path { &PORTS_DETAIL } else { &PORTS };
    let mut params = ListParams::parse(&q, c, state.settings.max_limit)?;
    params.detail |= detail_path;
    let marker = match params.marker.clone() {
        Some(m) => Some(state.db.run(move |conn| ports::id_of(conn, &m)).await?),
        None => None,
    };
    let page = params.page(marker);
    let found = state
        .db
        .run(move |conn| ports::list(conn, node_id, address.as_deref(), &page))
        .await?;
    let extra: Vec<(&str, &str)> = ["node", "node_uuid", "address"]
        .iter()
        .filter_map(|k| q.get(k).map(|v| (*k, v)))
        .collect();
    let last = found.last().map(|p| p.uuid.clone());
    let next = params.next_link(c, &ctx.base_url, found.len(), last.as_deref(), &extra);
    let items: Vec<Value> = found
        .iter()
        .map(|p| Value::Object(params.select(c, port_json(&ctx, p))))
        .collect();
    let mut body = json!({ "ports": items });
    if let Some(next) = next {
        body["next"] = Value::String(next);
    }
    Ok(Json(body))
}

#[utoipa::path(
    get,
    path = "/v1/ports",
    tag = "ports",
    summary = "List ports",
    params(crate::openapi::ListQuery, crate::openapi::NodeFilter, ("address" = Option<String>, Query, description = "MAC address")),
    responses((status = 200, description = "OK", body = crate::openapi::PortList))
)]
async fn list_ports(State(state): State<AppState>, ctx: Ctx, q: Query) -> ApiResult<Json<Value>> {
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
) -> ApiResult<Json<Value>> {
    list(state, ctx, q, true).await
}

#[utoipa::path(
    get,
    path = "/v1/ports/{uuid}",
    tag = "ports",
    summary = "Show a port",
    params(("uuid" = String, Path, description = "UUID"), crate::openapi::FieldsQuery),
    responses((status = 200, description = "OK", body = crate::openapi::Port))
)]
async fn show_port(
    State(state): State<AppState>,
    ctx: Ctx,
    Path(uuid): Path<String>,
    q: Query,
) -> ApiResult<Json<Value>> {
    q.only(&["fields"])?;
    let uuid = uuid_param(&uuid, "port_uuid")?;
    let fields = q
        .get("fields")
        .map(|f| parse_fields_as(f, &FIELDS, QueryWording::Port))
        .transpose()?;
    if let Some(f) = &fields {
        check_versions(f.iter().map(String::as_str), ctx.version)?;
    }
    let port = state
        .db
        .run(move |conn| ports::get_by_uuid(conn, &uuid))
        .await?;
    let mut item = port_json(&ctx, &port);
    if let Some(f) = fields {
        item.retain(|k, _| k == "links" || f.iter().any(|x| x == k));
    }
    Ok(Json(Value::Object(item)))
}

fn object_of(body: &Map<String, Value>, key: &str) -> Map<String, Value> {
    body.get(key)
        .and_then(|v| v.as_object())
        .cloned()
        .unwrap_or_default()
}

fn uuid_of(body: &Map<String, Value>, key: &str) -> Option<String> {
    body.get(key)
        .and_then(|v| v.as_str())
        .and_then(canonical_uuid)
}

#[utoipa::path(
    post,
    path = "/v1/ports",
    tag = "ports",
    summary = "Create a port",
    request_body = crate::openapi::PortCreate,
    responses((status = 201, description = "Created", body = crate::openapi::Port))
)]
async fn create_port(
    State(state): State<AppState>,
    ctx: Ctx,
    body: JsonBody,
) -> ApiResult<Response> {
    let body = body.object_for("port")?;
    check_versions(body.keys().map(String::as_str), ctx.version)?;
    schema::check(&body, &CREATE_FIELDS, "port")?;
    let address = mac_param(body["address"].as_str().unwrap_or_default())?;
    if let Some(pg) = body.get("portgroup_uuid").and_then(|v| v.as_str()) {
        return Err(ApiError::bad_request(format!(
            "Portgroup {pg} could not be found."
        )));
    }
    let port = Port {
        id: 0,
        uuid: uuid_of(&body, "uuid").unwrap_or_else(new_uuid),
        address,
        node_id: 0,
        node_uuid: uuid_of(&body, "node_uuid").unwrap_or_default(),
        extra: object_of(&body, "extra"),
        internal_info: Map::new(),
        local_link_connection: object_of(&body, "local_link_connection"),
        pxe_enabled: body
            .get("pxe_enabled")
            .and_then(|v| v.as_bool())
            .unwrap_or(true),
        physical_network: body
            .get("physical_network")
            .and_then(|v| v.as_str())
            .map(str::to_string),
        created_at: now(),
        updated_at: None,
    };
    let port = state.conductor.create_port(&ctx.request, port).await?;
    Ok((
        StatusCode::CREATED,
        [(
            header::LOCATION,
            ctx.location(&format!("ports/{}", port.uuid)),
        )],
        Json(Value::Object(port_json(&ctx, &port))),
    )
        .into_response())
}

#[utoipa::path(
    patch,
    path = "/v1/ports/{uuid}",
    tag = "ports",
    summary = "Update a port (JSON Patch)",
    params(("uuid" = String, Path, description = "UUID")),
    request_body = Vec<crate::openapi::PatchOperation>,
    responses((status = 200, description = "OK", body = crate::openapi::Port))
)]
async fn update_port(
    State(state): State<AppState>,
    ctx: Ctx,
    Path(uuid): Path<String>,
    body: JsonBody,
) -> ApiResult<Json<Value>> {
    let uuid = uuid_param(&uuid, "port_uuid")?;
    let ops = common::patch::parse(&body.0)?;
    let fields: Vec<String> = ops.iter().map(common::patch::top_field).collect();
    check_versions(fields.iter().map(String::as_str), ctx.version)?;
    let port = state.conductor.update_port(&ctx.request, uuid, ops).await?;
    Ok(Json(Value::Object(port_json(&ctx, &port))))
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
    state.conductor.destroy_port(&ctx.request, uuid).await?;
    Ok(StatusCode::NO_CONTENT)
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
