//! Port groups (1.23): `/v1/portgroups`, and the port group list below a node (1.24).

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::Response;
use json_patch::PatchOperation;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use common::child::NodeChild;
use common::db::portgroups::{self, Scope};
use common::model::port::normalize_mac;
use common::model::portgroup::{Portgroup, check_patch_paths, checked_ident, is_valid_name};

use super::children::{self, Selection, collection};
use crate::app::{AppState, Ctx};
use crate::error::{ApiError, ApiResult};
use crate::extract::{JsonBody, Query};
use crate::listing::{Collection, ListParams, QueryWording, parse_fields_as};
use crate::version::Version;
use crate::views::Shown;

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(list_portgroups, create_portgroup))
        .routes(routes!(list_portgroups_detail))
        .routes(routes!(
            show_portgroup,
            update_portgroup,
            delete_portgroup,
            post_to_portgroup
        ))
        .routes(routes!(list_node_portgroups, post_to_node_portgroups))
        .routes(routes!(list_node_portgroups_detail))
        .routes(routes!(nested_portgroup))
}

/// The microversion of port groups, and of the lists below a node or a port group.
const SINCE: u32 = 23;
const NESTED_SINCE: u32 = 24;

pub const PORTGROUPS: Collection = collection::<Portgroup>();

const PORTGROUPS_DETAIL: Collection = Collection {
    path: "portgroups/detail",
    ..collection::<Portgroup>()
};

/// The names `fields=` accepts, as Ironic's query schema lists them: its fields of later
/// microversions too, which are then refused as too new.
const QUERY_FIELDS: &[&str] = &[
    "address",
    "category",
    "created_at",
    "dynamic_portgroup",
    "extra",
    "internal_info",
    "links",
    "mode",
    "name",
    "node_uuid",
    "physical_network",
    "ports",
    "properties",
    "standalone_ports_supported",
    "updated_at",
    "uuid",
];

/// Fields of microversions after 1.46, which sanlink does not have.
const LATER_FIELDS: &[&str] = &["category", "dynamic_portgroup", "physical_network"];

/// The microversion that introduced a field or a sort key (u32::MAX: after 1.46).
fn since(field: &str) -> u32 {
    if LATER_FIELDS.contains(&field) {
        u32::MAX
    } else {
        Portgroup::since(field)
    }
}

fn not_acceptable() -> ApiError {
    common::Error::NotAcceptable("Request not acceptable.".into()).into()
}

/// 406 for fields newer than the request.
fn check_versions<'a>(
    fields: impl IntoIterator<Item = &'a str>,
    version: Version,
) -> ApiResult<()> {
    if fields.into_iter().any(|f| version.0 < since(f)) {
        return Err(not_acceptable());
    }
    Ok(())
}

fn check_version(ctx: &Ctx) -> ApiResult<()> {
    if ctx.version.0 < SINCE {
        return Err(ApiError::not_supported_at_version());
    }
    Ok(())
}

/// A port group named in a path: a UUID or a logical name, else a routing-level 400.
fn path_ident(ident: &str) -> ApiResult<String> {
    checked_ident(ident).map_err(|e| ApiError::routing(StatusCode::BAD_REQUEST, e.to_string()))
}

/// Below a port group, lists came with 1.24; the identifier is checked first.
pub fn check_nested_version(ctx: &Ctx, ident: &str) -> ApiResult<()> {
    path_ident(ident)?;
    if ctx.version.0 < NESTED_SINCE {
        return Err(ApiError::not_found_path());
    }
    Ok(())
}

/// A port group by UUID or name; unknown is 404.
pub async fn load(state: &AppState, ident: &str) -> ApiResult<Portgroup> {
    let ident = checked_ident(ident)?;
    Ok(state
        .db
        .run(move |conn| portgroups::get_by_ident(conn, &ident))
        .await?)
}

/// Parses `fields=` against Ironic's list, and refuses fields newer than the request.
fn fields_param(raw: &str, version: Version) -> ApiResult<Vec<String>> {
    let fields = parse_fields_as(raw, QUERY_FIELDS, QueryWording::Schema)?;
    check_versions(fields.iter().map(String::as_str), version)?;
    Ok(fields)
}

fn mac_filter(value: &str) -> ApiResult<String> {
    normalize_mac(value).ok_or_else(|| {
        ApiError::bad_request(format!("Schema error: '{value}' is not a 'mac-address'"))
    })
}

/// The lists of port groups, below a node when `parent` names one.
async fn list(
    state: AppState,
    ctx: Ctx,
    q: Query,
    detail_path: bool,
    parent: Option<String>,
) -> ApiResult<Response> {
    let mut allowed = vec![
        "node", "address", "limit", "marker", "sort_key", "sort_dir", "detail",
    ];
    if !detail_path {
        allowed.push("fields");
    }
    q.only(&allowed)?;
    let address = q.get("address").map(mac_filter).transpose()?;
    // The parent must exist whatever else the query says, as in Ironic.
    if let Some(ident) = &parent {
        crate::routes::nodes::load_node(&state, &ctx, ident).await?;
    }
    if let Some(raw) = q.get("fields") {
        fields_param(raw, ctx.version)?;
    }
    if let Some(key) = q.get("sort_key") {
        check_versions([key], ctx.version)?;
    }
    let detail = q
        .get("detail")
        .map(|v| crate::listing::parse_bool("detail", v))
        .transpose()?;
    if detail == Some(true) && q.get("fields").is_some() {
        return Err(ApiError::bad_request(
            "Can not specify ?detail=True and fields in the same request.",
        ));
    }
    let c = if detail_path {
        &PORTGROUPS_DETAIL
    } else {
        &PORTGROUPS
    };
    let mut params = ListParams::parse(&q, c, state.settings.max_limit)?;
    params.detail |= detail_path;
    // The parent replaces a `node` filter; with an address, Ironic refuses either.
    let node = parent.as_deref().or(q.get("node"));
    if node.is_some() && address.is_some() {
        return Err(ApiError::bad_request(
            "Filtering by node, address, or shard simultaneously is not supported.",
        ));
    }
    let node_id = match node {
        Some(ident) => Some(
            crate::routes::nodes::load_node(&state, &ctx, ident)
                .await?
                .id,
        ),
        None => None,
    };
    let found = children::fetch(
        &state,
        &params,
        move |_| Ok(node_id),
        move |conn, node_id, page| {
            let scope = match (node_id, &address) {
                (Some(id), _) => Scope::Node(id),
                (None, Some(address)) => Scope::Address(address),
                (None, None) => Scope::All,
            };
            portgroups::list(conn, scope, page)
        },
    )
    .await?;
    let mut query: Vec<(&str, &str)> = ["node", "address"]
        .iter()
        .filter_map(|k| q.get(k).map(|v| (*k, v)))
        .collect();
    if let Some(ident) = &parent {
        query.retain(|(k, _)| *k != "node");
        query.push(("node", ident));
    }
    Ok(children::list(&ctx, c, &params, &found, &query))
}

#[utoipa::path(
    get,
    path = "/v1/portgroups",
    tag = "portgroups",
    summary = "List port groups (1.23)",
    params(crate::openapi::ListQuery, crate::openapi::NodeFilter, ("address" = Option<String>, Query, description = "MAC address")),
    responses((status = 200, description = "OK", body = crate::openapi::PortgroupList))
)]
async fn list_portgroups(State(state): State<AppState>, ctx: Ctx, q: Query) -> ApiResult<Response> {
    check_version(&ctx)?;
    list(state, ctx, q, false, None).await
}

#[utoipa::path(
    get,
    path = "/v1/portgroups/detail",
    tag = "portgroups",
    summary = "List port groups with every field (1.23)",
    params(crate::openapi::DetailListQuery, crate::openapi::NodeFilter, ("address" = Option<String>, Query, description = "MAC address")),
    responses((status = 200, description = "OK", body = crate::openapi::PortgroupList))
)]
async fn list_portgroups_detail(
    State(state): State<AppState>,
    ctx: Ctx,
    q: Query,
) -> ApiResult<Response> {
    check_version(&ctx)?;
    list(state, ctx, q, true, None).await
}

#[utoipa::path(
    get,
    path = "/v1/nodes/{ident}/portgroups",
    tag = "portgroups",
    summary = "List a node's port groups (1.24)",
    params(("ident" = String, Path, description = "node name or UUID"), crate::openapi::ListQuery),
    responses((status = 200, description = "OK", body = crate::openapi::PortgroupList))
)]
async fn list_node_portgroups(
    State(state): State<AppState>,
    ctx: Ctx,
    Path(ident): Path<String>,
    q: Query,
) -> ApiResult<Response> {
    if ctx.version.0 < NESTED_SINCE {
        return Err(ApiError::not_found_path());
    }
    list(state, ctx, q, false, Some(ident)).await
}

#[utoipa::path(
    get,
    path = "/v1/nodes/{ident}/portgroups/detail",
    tag = "portgroups",
    summary = "List a node's port groups with every field (1.24)",
    params(("ident" = String, Path, description = "node name or UUID"), crate::openapi::DetailListQuery),
    responses((status = 200, description = "OK", body = crate::openapi::PortgroupList))
)]
async fn list_node_portgroups_detail(
    State(state): State<AppState>,
    ctx: Ctx,
    Path(ident): Path<String>,
    q: Query,
) -> ApiResult<Response> {
    if ctx.version.0 < NESTED_SINCE {
        return Err(ApiError::not_found_path());
    }
    list(state, ctx, q, true, Some(ident)).await
}

/// Port groups are created at `/v1/portgroups`; below a node, Ironic refuses.
#[utoipa::path(
    post,
    path = "/v1/nodes/{ident}/portgroups",
    tag = "portgroups",
    summary = "Refused: create port groups at /v1/portgroups",
    params(("ident" = String, Path, description = "node name or UUID")),
    responses((status = 400, description = "Malformed request URI", body = crate::openapi::Error))
)]
async fn post_to_node_portgroups(ctx: Ctx) -> ApiResult<()> {
    if ctx.version.0 < NESTED_SINCE {
        return Err(ApiError::not_found_path());
    }
    Err(ApiError::malformed_uri())
}

#[utoipa::path(
    get,
    path = "/v1/nodes/{ident}/portgroups/{portgroup}",
    tag = "portgroups",
    summary = "Refused: show port groups at /v1/portgroups/{portgroup}",
    params(("ident" = String, Path, description = "node name or UUID"), ("portgroup" = String, Path, description = "port group name or UUID")),
    responses((status = 400, description = "Malformed request URI", body = crate::openapi::Error))
)]
async fn nested_portgroup(ctx: Ctx) -> ApiResult<()> {
    if ctx.version.0 < NESTED_SINCE {
        return Err(ApiError::not_found_path());
    }
    Err(ApiError::malformed_uri())
}

#[utoipa::path(
    get,
    path = "/v1/portgroups/{ident}",
    tag = "portgroups",
    summary = "Show a port group (1.23)",
    params(("ident" = String, Path, description = "port group name or UUID"), crate::openapi::FieldsQuery),
    responses((status = 200, description = "OK", body = crate::views::PortgroupView))
)]
async fn show_portgroup(
    State(state): State<AppState>,
    ctx: Ctx,
    Path(ident): Path<String>,
    q: Query,
) -> ApiResult<Response> {
    check_version(&ctx)?;
    let ident = path_ident(&ident)?;
    q.only(&["fields"])?;
    let fields = q
        .get("fields")
        .map(|raw| fields_param(raw, ctx.version))
        .transpose()?;
    let found = load(&state, &ident).await?;
    Ok(children::item(
        &ctx,
        &found,
        &Selection::new(fields, ctx.version),
    ))
}

#[utoipa::path(
    post,
    path = "/v1/portgroups",
    tag = "portgroups",
    summary = "Create a port group (1.23)",
    request_body = crate::openapi::PortgroupCreate,
    responses((status = 201, description = "Created", body = crate::views::PortgroupView))
)]
async fn create_portgroup(
    State(state): State<AppState>,
    ctx: Ctx,
    body: JsonBody,
) -> ApiResult<Response> {
    check_version(&ctx)?;
    let body = body.object_for(Portgroup::SCHEMA_NAME)?;
    let mut new = children::new_from_body::<Portgroup>(body.clone())?;
    if let Some(address) = &new.fields.address {
        new.fields.address = Some(normalize_mac(address).ok_or_else(|| {
            ApiError::bad_request(format!("Expected valid MAC address for address: {address}"))
        })?);
    }
    // The node is looked up before the version and name checks, as Ironic does.
    let node_uuid = new.fields.node_uuid.clone();
    let known = state
        .db
        .run(move |conn| {
            use common::error::Found;
            common::db::nodes::id_of(conn, &node_uuid).found()
        })
        .await?;
    if known.is_none() {
        return Err(ApiError::bad_request(format!(
            "Node {} could not be found.",
            new.fields.node_uuid
        )));
    }
    let set = |k: &str| {
        body.get(k).is_some_and(|v| match v {
            serde_json::Value::Null => false,
            serde_json::Value::String(s) => !s.is_empty(),
            serde_json::Value::Object(o) => !o.is_empty(),
            _ => true,
        })
    };
    if ctx.version.0 < 26 && (set("mode") || set("properties")) {
        return Err(not_acceptable());
    }
    // An empty name is no name to Ironic's check, and is stored as given.
    if let Some(name) = &new.fields.name
        && !name.is_empty()
        && !is_valid_name(name)
    {
        return Err(ApiError::bad_request(format!(
            "Cannot create portgroup with invalid name '{name}'"
        )));
    }
    children::create::<Portgroup>(&state, &ctx, new).await
}

/// Refuses what Ironic's API refuses before asking the conductor: fields newer than the
/// request, paths that cannot be patched, invalid names (worded with `ident` as given).
fn check_patch(ops: &[PatchOperation], ident: &str, version: Version) -> ApiResult<()> {
    let touches = |field: &str| ops.iter().any(|op| common::patch::top_field(op) == field);
    if version.0 < 26 && (touches("mode") || touches("properties")) {
        return Err(not_acceptable());
    }
    check_patch_paths(ops)?;
    for op in ops {
        let (path, value) = match op {
            PatchOperation::Add(o) => (o.path.to_string(), &o.value),
            PatchOperation::Replace(o) => (o.path.to_string(), &o.value),
            _ => continue,
        };
        if path != "/name" {
            continue;
        }
        if let Some(name) = value.as_str()
            && !name.is_empty()
            && !is_valid_name(name)
        {
            return Err(ApiError::bad_request(format!(
                "Portgroup {ident}: Cannot change name to invalid name '{name}'"
            )));
        }
    }
    Ok(())
}

#[utoipa::path(
    patch,
    path = "/v1/portgroups/{ident}",
    tag = "portgroups",
    summary = "Update a port group (JSON Patch; 1.23)",
    params(("ident" = String, Path, description = "port group name or UUID")),
    request_body = Vec<crate::openapi::PatchOperation>,
    responses((status = 200, description = "OK", body = crate::views::PortgroupView))
)]
async fn update_portgroup(
    State(state): State<AppState>,
    ctx: Ctx,
    Path(ident): Path<String>,
    body: JsonBody,
) -> ApiResult<Response> {
    check_version(&ctx)?;
    let ident = path_ident(&ident)?;
    let ops = common::patch::parse(&body.0)?;
    let found = load(&state, &ident).await?;
    check_patch(&ops, &ident, ctx.version)?;
    children::update_with::<Portgroup>(&state, &ctx, found.uuid, ops).await
}

#[utoipa::path(
    delete,
    path = "/v1/portgroups/{ident}",
    tag = "portgroups",
    summary = "Delete a port group (1.23)",
    params(("ident" = String, Path, description = "port group name or UUID")),
    responses((status = 204, description = "Deleted"))
)]
async fn delete_portgroup(
    State(state): State<AppState>,
    ctx: Ctx,
    Path(ident): Path<String>,
) -> ApiResult<StatusCode> {
    check_version(&ctx)?;
    let ident = path_ident(&ident)?;
    let found = load(&state, &ident).await?;
    children::destroy::<Portgroup>(&state, &ctx, found.uuid).await
}

/// POST to a port group takes its identifier for the body, as Ironic does.
#[utoipa::path(
    post,
    path = "/v1/portgroups/{ident}",
    tag = "portgroups",
    summary = "Refused: create port groups at /v1/portgroups",
    params(("ident" = String, Path, description = "port group name or UUID")),
    responses((status = 400, description = "Schema error", body = crate::openapi::Error))
)]
async fn post_to_portgroup(ctx: Ctx, Path(ident): Path<String>) -> ApiResult<()> {
    check_version(&ctx)?;
    Err(crate::routes::nodes::not_an_object("portgroup", ident))
}
