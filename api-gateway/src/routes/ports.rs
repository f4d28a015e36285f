//! Ports: `/v1/ports`, and the port lists below a node or a port group.

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::Response;
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
        .routes(routes!(list_node_ports))
        .routes(routes!(list_node_ports_detail))
        .routes(routes!(nested_port))
        .routes(routes!(list_portgroup_ports))
        .routes(routes!(list_portgroup_ports_detail))
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

/// The resource a port list is read below: `/v1/ports`, `/v1/nodes/{node}/ports` or
/// `/v1/portgroups/{portgroup}/ports`. The parent replaces the filter of its kind.
pub enum Parent {
    None,
    Node(String),
    Portgroup(String),
}

/// Which ports a list shows, as Ironic picks: a port group, else a node, else an
/// address; a node and a port group together are refused.
async fn scope_of(state: &AppState, ctx: &Ctx, q: &Query, parent: &Parent) -> ApiResult<PortScope> {
    let node = match parent {
        Parent::Node(ident) => Some(ident.as_str()),
        _ => q.get("node_uuid").or(q.get("node")),
    };
    let portgroup = match parent {
        Parent::Portgroup(ident) => Some(ident.as_str()),
        _ => q.get("portgroup"),
    };
    if node.is_some() && portgroup.is_some() {
        return Err(common::Error::Forbidden("Operation not permitted.".into()).into());
    }
    if let Some(ident) = portgroup {
        let pg = super::portgroups::load(state, ident).await?;
        return Ok(PortScope::Portgroup(pg.uuid));
    }
    if let Some(ident) = node {
        return Ok(PortScope::Node(node_filter(state, ctx, ident).await?));
    }
    match q.get("address") {
        Some(address) => Ok(PortScope::Address(mac_param(address)?)),
        None => Ok(PortScope::All),
    }
}

/// [`ports::Scope`], owned, to move into a database call.
enum PortScope {
    All,
    Node(i64),
    Portgroup(String),
    Address(String),
}

impl PortScope {
    fn as_scope(&self) -> ports::Scope<'_> {
        match self {
            PortScope::All => ports::Scope::All,
            PortScope::Node(id) => ports::Scope::Node(*id),
            PortScope::Portgroup(uuid) => ports::Scope::Portgroup(uuid),
            PortScope::Address(address) => ports::Scope::Address(address),
        }
    }
}

pub async fn list(
    state: AppState,
    ctx: Ctx,
    q: Query,
    detail_path: bool,
    parent: Parent,
) -> ApiResult<Response> {
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
    // The parent must exist whatever else the query says, as in Ironic.
    match &parent {
        Parent::None => {}
        Parent::Node(ident) => {
            node_filter(&state, &ctx, ident).await?;
        }
        Parent::Portgroup(ident) => {
            super::portgroups::load(&state, ident).await?;
        }
    }
    if detail_path && q.get("fields").is_some() {
        return Err(match parent {
            Parent::None => {
                ApiError::bad_request("Can't fetch a subset of fields with 'detail' set")
            }
            _ => ApiError::bad_request("Unexpected arguments: fields"),
        });
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
    if q.get("portgroup").is_some() && ctx.version.0 < 24 {
        return Err(common::Error::NotAcceptable("Request not acceptable.".into()).into());
    }
    if let Some(ident) = q.get("portgroup") {
        common::model::portgroup::checked_ident(ident)?;
    }
    // Checked even where the parent or another filter decides the list.
    if let Some(address) = q.get("address") {
        mac_param(address)?;
    }
    let c = if detail_path { &PORTS_DETAIL } else { &PORTS };
    let mut params = ListParams::parse(&q, c, state.settings.max_limit)?;
    params.detail |= detail_path;
    let scope = scope_of(&state, &ctx, &q, &parent).await?;
    let found = children::fetch(
        &state,
        &params,
        move |_| Ok(None),
        move |conn, _, page| ports::list(conn, scope.as_scope(), page),
    )
    .await?;
    let mut query: Vec<(&str, &str)> = ["node", "node_uuid", "address", "portgroup"]
        .iter()
        .filter_map(|k| q.get(k).map(|v| (*k, v)))
        .collect();
    match &parent {
        Parent::None => {}
        Parent::Node(ident) => query.push(("node", ident)),
        Parent::Portgroup(ident) => query.push(("portgroup", ident)),
    }
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
    list(state, ctx, q, false, Parent::None).await
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
    list(state, ctx, q, true, Parent::None).await
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
    let explicit_pxe = body.get("pxe_enabled") == Some(&serde_json::Value::Bool(true));
    let mut new = children::new_from_body::<Port>(body)?;
    new.fields.address = mac_param(&new.fields.address)?;
    if explicit_pxe && let Some(pg) = new.fields.portgroup_uuid.clone() {
        check_standalone(&state, &pg, &new.fields.node_uuid).await?;
    }
    children::create::<Port>(&state, &ctx, new).await
}

/// A port created with `pxe_enabled: true` cannot join a port group of its node that
/// does not support standalone ports (Ironic's API checks this whatever the network
/// interface). Anything else wrong with the port group is the conductor's to say.
async fn check_standalone(state: &AppState, pg: &str, node_uuid: &str) -> ApiResult<()> {
    let Some(uuid) = common::model::canonical_uuid(pg) else {
        return Ok(());
    };
    let node_uuid = common::model::canonical_uuid(node_uuid).unwrap_or_default();
    let found = state
        .db
        .run(move |conn| {
            use common::error::Found;
            common::db::portgroups::get_by_uuid(conn, &uuid).found()
        })
        .await?;
    match found {
        Some(pg) if pg.node_uuid == node_uuid && !pg.standalone_ports_supported => {
            Err(common::Error::conflict(format!(
                "Port group {} doesn't support standalone ports. This port cannot be created as a member of that portgroup as the port's 'pxe_enabled' field was set to True.",
                pg.uuid
            ))
            .into())
        }
        _ => Ok(()),
    }
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

/// A node's ports (served by Ironic since 1.0).
#[utoipa::path(
    get,
    path = "/v1/nodes/{ident}/ports",
    tag = "ports",
    summary = "List a node's ports",
    params(("ident" = String, Path, description = "node name or UUID"), crate::openapi::ListQuery, ("address" = Option<String>, Query, description = "MAC address")),
    responses((status = 200, description = "OK", body = crate::openapi::PortList))
)]
async fn list_node_ports(
    State(state): State<AppState>,
    ctx: Ctx,
    Path(ident): Path<String>,
    q: Query,
) -> ApiResult<Response> {
    list(state, ctx, q, false, Parent::Node(ident)).await
}

#[utoipa::path(
    get,
    path = "/v1/nodes/{ident}/ports/detail",
    tag = "ports",
    summary = "List a node's ports with every field",
    params(("ident" = String, Path, description = "node name or UUID"), crate::openapi::DetailListQuery),
    responses((status = 200, description = "OK", body = crate::openapi::PortList))
)]
async fn list_node_ports_detail(
    State(state): State<AppState>,
    ctx: Ctx,
    Path(ident): Path<String>,
    q: Query,
) -> ApiResult<Response> {
    list(state, ctx, q, true, Parent::Node(ident)).await
}

/// A port group's ports (1.24).
#[utoipa::path(
    get,
    path = "/v1/portgroups/{ident}/ports",
    tag = "ports",
    summary = "List a port group's ports (1.24)",
    params(("ident" = String, Path, description = "port group name or UUID"), crate::openapi::ListQuery, ("address" = Option<String>, Query, description = "MAC address")),
    responses((status = 200, description = "OK", body = crate::openapi::PortList))
)]
async fn list_portgroup_ports(
    State(state): State<AppState>,
    ctx: Ctx,
    Path(ident): Path<String>,
    q: Query,
) -> ApiResult<Response> {
    super::portgroups::check_nested_version(&ctx, &ident)?;
    list(state, ctx, q, false, Parent::Portgroup(ident)).await
}

#[utoipa::path(
    get,
    path = "/v1/portgroups/{ident}/ports/detail",
    tag = "ports",
    summary = "List a port group's ports with every field (1.24)",
    params(("ident" = String, Path, description = "port group name or UUID"), crate::openapi::DetailListQuery),
    responses((status = 200, description = "OK", body = crate::openapi::PortList))
)]
async fn list_portgroup_ports_detail(
    State(state): State<AppState>,
    ctx: Ctx,
    Path(ident): Path<String>,
    q: Query,
) -> ApiResult<Response> {
    super::portgroups::check_nested_version(&ctx, &ident)?;
    list(state, ctx, q, true, Parent::Portgroup(ident)).await
}

/// A port is read, created and changed at `/v1/ports`; below a node, Ironic refuses.
#[utoipa::path(
    get,
    path = "/v1/nodes/{ident}/ports/{uuid}",
    tag = "ports",
    summary = "Refused: show ports at /v1/ports/{uuid}",
    params(("ident" = String, Path, description = "node name or UUID"), ("uuid" = String, Path, description = "UUID")),
    responses((status = 400, description = "Malformed request URI", body = crate::openapi::Error))
)]
async fn nested_port() -> ApiResult<()> {
    Err(ApiError::malformed_uri())
}
