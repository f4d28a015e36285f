//! The volume API: connectors and targets (spec: volume-api.md). Reads come from the
//! database; every write is a conductor RPC.

use crate::wire::Json;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::Response;
use serde_json::{Value, json};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use common::db::{nodes, volume_connectors, volume_targets};
use common::error::Found;
use common::model::JsonObject;
use common::model::node::is_valid_ident;
use common::model::volume::{VolumeConnector, VolumeTarget};
use common::policy::Rule;
use common::schema;

use super::children::{self, collection};
use crate::app::{AppState, Ctx};
use crate::error::{ApiError, ApiResult};
use crate::extract::{JsonBody, Query, uuid_param};
use crate::listing::{Collection, ListParams};
use crate::version;
use crate::views::Shown;

pub fn router() -> OpenApiRouter<AppState> {
    // The refusals Ironic answers with a 400 are operations of their own, so that the
    // document declares every method that is not the router's 405.
    OpenApiRouter::new()
        .routes(routes!(volume_root))
        .routes(routes!(
            list_connectors,
            create_connector,
            connectors_without_uuid
        ))
        .routes(routes!(
            show_connector,
            update_connector,
            delete_connector,
            post_to_connector
        ))
        .routes(routes!(list_targets, create_target, targets_without_uuid))
        .routes(routes!(
            show_target,
            update_target,
            delete_target,
            post_to_target
        ))
        .routes(routes!(node_volume_root))
        .routes(routes!(
            node_connectors,
            nested_create_connector,
            nested_connectors_without_uuid
        ))
        .routes(routes!(nested_show_connector, nested_connector_write))
        .routes(routes!(
            node_targets,
            nested_create_target,
            nested_targets_without_uuid
        ))
        .routes(routes!(nested_show_target, nested_target_write))
}

/// DELETE and PATCH of a collection lack the item's UUID, as Ironic words it.
#[utoipa::path(
    method(delete, patch),
    path = "/v1/volume/connectors",
    tag = "volume",
    summary = "Refused: DELETE and PATCH need a connector's UUID",
    responses((status = 400, description = "Missing mandatory parameter", body = crate::openapi::Error))
)]
async fn connectors_without_uuid(ctx: Ctx) -> ApiResult<()> {
    missing_uuid::<VolumeConnector>(ctx).await
}

#[utoipa::path(
    method(delete, patch),
    path = "/v1/volume/targets",
    tag = "volume",
    summary = "Refused: DELETE and PATCH need a target's UUID",
    responses((status = 400, description = "Missing mandatory parameter", body = crate::openapi::Error))
)]
async fn targets_without_uuid(ctx: Ctx) -> ApiResult<()> {
    missing_uuid::<VolumeTarget>(ctx).await
}

#[utoipa::path(
    method(delete, patch),
    path = "/v1/nodes/{ident}/volume/connectors",
    tag = "volume",
    summary = "Refused: DELETE and PATCH need a connector's UUID",
    params(("ident" = String, Path, description = "node name or UUID")),
    responses((status = 400, description = "Missing mandatory parameter", body = crate::openapi::Error))
)]
async fn nested_connectors_without_uuid(ctx: Ctx) -> ApiResult<()> {
    missing_uuid::<VolumeConnector>(ctx).await
}

#[utoipa::path(
    method(delete, patch),
    path = "/v1/nodes/{ident}/volume/targets",
    tag = "volume",
    summary = "Refused: DELETE and PATCH need a target's UUID",
    params(("ident" = String, Path, description = "node name or UUID")),
    responses((status = 400, description = "Missing mandatory parameter", body = crate::openapi::Error))
)]
async fn nested_targets_without_uuid(ctx: Ctx) -> ApiResult<()> {
    missing_uuid::<VolumeTarget>(ctx).await
}

/// POST to an item takes its UUID for the body, as Ironic does.
#[utoipa::path(
    post,
    path = "/v1/volume/connectors/{uuid}",
    tag = "volume",
    summary = "Refused: create connectors at /v1/volume/connectors",
    params(("uuid" = String, Path, description = "UUID")),
    responses((status = 400, description = "Schema error", body = crate::openapi::Error))
)]
async fn post_to_connector(ctx: Ctx, Path(uuid): Path<String>) -> ApiResult<()> {
    post_to_item::<VolumeConnector>(ctx, uuid).await
}

#[utoipa::path(
    post,
    path = "/v1/volume/targets/{uuid}",
    tag = "volume",
    summary = "Refused: create targets at /v1/volume/targets",
    params(("uuid" = String, Path, description = "UUID")),
    responses((status = 400, description = "Schema error", body = crate::openapi::Error))
)]
async fn post_to_target(ctx: Ctx, Path(uuid): Path<String>) -> ApiResult<()> {
    post_to_item::<VolumeTarget>(ctx, uuid).await
}

/// Writes to a nested item are "Malformed request URI", as in Ironic.
#[utoipa::path(
    method(post, delete, patch),
    path = "/v1/nodes/{ident}/volume/connectors/{uuid}",
    tag = "volume",
    summary = "Refused: change connectors at /v1/volume/connectors/{uuid}",
    params(("ident" = String, Path, description = "node name or UUID"), ("uuid" = String, Path, description = "UUID")),
    responses((status = 400, description = "Malformed request URI", body = crate::openapi::Error))
)]
async fn nested_connector_write(ctx: Ctx) -> ApiResult<()> {
    nested_malformed(ctx).await
}

#[utoipa::path(
    method(post, delete, patch),
    path = "/v1/nodes/{ident}/volume/targets/{uuid}",
    tag = "volume",
    summary = "Refused: change targets at /v1/volume/targets/{uuid}",
    params(("ident" = String, Path, description = "node name or UUID"), ("uuid" = String, Path, description = "UUID")),
    responses((status = 400, description = "Malformed request URI", body = crate::openapi::Error))
)]
async fn nested_target_write(ctx: Ctx) -> ApiResult<()> {
    nested_malformed(ctx).await
}

/// The list queries of the two collections, for what documents them.
pub const CONNECTORS: Collection = collection::<VolumeConnector>();
pub const TARGETS: Collection = collection::<VolumeTarget>();

/// Below 1.32 the volume API does not exist.
fn require_volume(ctx: &Ctx) -> ApiResult<()> {
    if ctx.version.at_least(version::VOLUME) {
        Ok(())
    } else {
        Err(ApiError::not_found_path())
    }
}

/// Below 1.32 the links documents answer with a fault rather than a routing error.
fn require_volume_links(ctx: &Ctx) -> ApiResult<()> {
    if ctx.version.at_least(version::VOLUME) {
        Ok(())
    } else {
        Err(ApiError::not_supported_at_version())
    }
}

/// A connector's or target's UUID from its URL. One that is UUID-like but not in its
/// canonical lower-case form names nothing (Ironic looks it up as written): 404.
fn item_uuid<R: Volume>(value: &str) -> ApiResult<String> {
    let uuid = uuid_param(value, R::UUID_PARAM)?;
    if uuid != value {
        return Err(R::not_found(value).into());
    }
    Ok(uuid)
}

/// Connectors and targets, as this API serves them.
pub trait Volume: Shown {
    /// The name of the item's UUID in Ironic's messages.
    const UUID_PARAM: &'static str;

    /// A page of the collection, of one node's items or of all.
    fn page(
        conn: &mut common::db::AnyConnection,
        node_id: Option<i64>,
        page: &common::db::Page,
    ) -> Result<Vec<Self>, common::Error>;

    /// Hides what a caller without `baremetal:volume:view_target_properties` may not see.
    fn redact(&mut self) {}
}

/// What shown items may show the caller.
fn redacted<R: Volume>(ctx: &Ctx, items: &mut [R]) {
    if !ctx.allows(Rule::VOLUME_VIEW_TARGET_PROPERTIES) {
        items.iter_mut().for_each(R::redact);
    }
}

impl Volume for VolumeConnector {
    const UUID_PARAM: &'static str = "connector_uuid";

    fn page(
        conn: &mut common::db::AnyConnection,
        node_id: Option<i64>,
        page: &common::db::Page,
    ) -> Result<Vec<Self>, common::Error> {
        volume_connectors::list(conn, node_id, page)
    }
}

impl Volume for VolumeTarget {
    const UUID_PARAM: &'static str = "target_uuid";

    fn page(
        conn: &mut common::db::AnyConnection,
        node_id: Option<i64>,
        page: &common::db::Page,
    ) -> Result<Vec<Self>, common::Error> {
        volume_targets::list(conn, node_id, page)
    }

    /// A target's properties may hold CHAP secrets and the paths to the volume.
    fn redact(&mut self) {
        let text = format!(
            "** Value redacted: Requires permission {} access. Permission denied. **",
            Rule::VOLUME_VIEW_TARGET_PROPERTIES
        );
        self.properties =
            JsonObject::from_iter([("redacted_contents".into(), Value::String(text))]);
    }
}

fn links_doc(ctx: &Ctx, prefix: &str) -> Value {
    json!({
        "links": ctx.links(&format!("{prefix}/")),
        "connectors": ctx.links(&format!("{prefix}/connectors")),
        "targets": ctx.links(&format!("{prefix}/targets")),
    })
}

#[utoipa::path(
    get,
    path = "/v1/volume",
    tag = "volume",
    summary = "Links to the volume resources (1.32)",
    responses((status = 200, description = "OK", body = Object))
)]
async fn volume_root(ctx: Ctx) -> ApiResult<Json<Value>> {
    require_volume_links(&ctx)?;
    Ok(Json(links_doc(&ctx, "volume")))
}

fn check_ident(ident: &str) -> ApiResult<()> {
    if is_valid_ident(ident) {
        Ok(())
    } else {
        Err(ApiError::bad_request(format!(
            "Expected UUID or name for node: {ident}"
        )))
    }
}

/// The node of a nested path: a malformed one is refused while routing, so the 400
/// has the routing-level shape.
pub(crate) fn check_parent(ident: &str) -> ApiResult<()> {
    check_ident(ident).map_err(|e| ApiError::routing(e.status, e.message))
}

#[utoipa::path(
    get,
    path = "/v1/nodes/{ident}/volume",
    tag = "volume",
    summary = "Links to a node's volume resources",
    params(("ident" = String, Path, description = "node name or UUID")),
    responses((status = 200, description = "OK", body = Object))
)]
async fn node_volume_root(ctx: Ctx, Path(ident): Path<String>) -> ApiResult<Json<Value>> {
    require_volume_links(&ctx)?;
    check_parent(&ident)?;
    Ok(Json(links_doc(&ctx, &format!("nodes/{ident}/volume"))))
}

/// A list of connectors or targets, of a node (`parent`) or of all. The node and the
/// marker are looked up with the list itself, in one trip to the database.
async fn list<R: Volume>(
    state: &AppState,
    ctx: &Ctx,
    q: &Query,
    parent: Option<String>,
) -> ApiResult<Response> {
    require_volume(ctx)?;
    // Ironic's query schema names `project`; other unknown parameters are refused later.
    if q.get("project").is_some() {
        return Err(ApiError::bad_request(
            "Schema error: Additional properties are not allowed ('project' was unexpected)",
        ));
    }
    q.only(&[
        "node", "marker", "limit", "sort_key", "sort_dir", "fields", "detail",
    ])?;
    let c = collection::<R>();
    let params = ListParams::parse(q, &c, state.settings.max_limit)?;
    if let Some(ident) = &parent {
        check_parent(ident)?;
    }
    let node_filter = parent.or_else(|| q.get("node").map(str::to_string));
    if let Some(ident) = &node_filter {
        check_ident(ident)?;
    }
    let node = node_filter.clone();
    let node_id = move |conn: &mut common::db::AnyConnection| {
        node.map(|ident| nodes::id_of(conn, &ident)).transpose()
    };
    let mut items = children::fetch(state, &params, node_id, R::page).await?;
    redacted(ctx, &mut items);
    let query: Vec<(&str, &str)> = node_filter.iter().map(|n| ("node", n.as_str())).collect();
    Ok(children::list(ctx, &c, &params, &items, &query))
}

async fn show<R: Volume>(
    state: &AppState,
    ctx: &Ctx,
    uuid: &str,
    q: &Query,
) -> ApiResult<Response> {
    require_volume(ctx)?;
    let uuid = item_uuid::<R>(uuid)?;
    let fields = children::show_fields::<R>(q)?;
    let mut found = [state.db.run(move |conn| R::get(conn, &uuid)).await?];
    redacted(ctx, &mut found);
    let selection = children::Selection::new(fields, ctx.version);
    Ok(children::item(ctx, &found[0], &selection))
}

/// Nested single-item GET: 404 when the item is missing, else a malformed URI.
async fn nested_show<R: Volume>(
    state: &AppState,
    ctx: &Ctx,
    ident: &str,
    uuid: &str,
) -> ApiResult<Response> {
    require_volume(ctx)?;
    check_parent(ident)?;
    let uuid = item_uuid::<R>(uuid)?;
    state.db.run(move |conn| R::id_of(conn, &uuid)).await?;
    Err(ApiError::malformed_uri())
}

async fn create<R: Volume>(state: &AppState, ctx: &Ctx, body: JsonBody) -> ApiResult<Response> {
    require_volume(ctx)?;
    let new = children::new_from_body::<R>(body.object_for(R::SCHEMA_NAME)?)?;
    children::create::<R>(state, ctx, new).await
}

/// POST under a node: the body is checked first, and its node (an unknown node is still
/// the body's 400), then the nested path itself is refused without calling the
/// conductor.
async fn nested_create<R: Volume>(
    state: &AppState,
    ctx: &Ctx,
    body: JsonBody,
) -> ApiResult<Response> {
    require_volume(ctx)?;
    let mut body = body.object_for(R::SCHEMA_NAME)?;
    schema::check(&mut body, R::CREATE_SCHEMA, R::SCHEMA_NAME)?;
    let node_uuid = body["node_uuid"].as_str().unwrap_or_default().to_string();
    let canonical = common::model::canonical_uuid(&node_uuid).unwrap_or_default();
    let known = state
        .db
        .run(move |conn| Ok(nodes::id_of(conn, &canonical).found()?.is_some()))
        .await?;
    if !known {
        return Err(ApiError::bad_request(format!(
            "Invalid input for field/attribute node_uuid. Value: '{node_uuid}'. "
        )));
    }
    Err(ApiError::malformed_uri())
}

async fn update<R: Volume>(
    state: &AppState,
    ctx: &Ctx,
    uuid: &str,
    body: JsonBody,
) -> ApiResult<Response> {
    require_volume(ctx)?;
    let uuid = item_uuid::<R>(uuid)?;
    let patch = common::patch::parse(&body.0)?;
    let mut updated: [R; 1] = [state.conductor.update(&ctx.request, uuid, patch).await?];
    redacted(ctx, &mut updated);
    let selection = children::Selection::new(None, ctx.version);
    Ok(children::item(ctx, &updated[0], &selection))
}

async fn delete<R: Volume>(state: &AppState, ctx: &Ctx, uuid: &str) -> ApiResult<StatusCode> {
    require_volume(ctx)?;
    let uuid = item_uuid::<R>(uuid)?;
    children::destroy::<R>(state, ctx, uuid).await
}

async fn missing_uuid<R: Volume>(ctx: Ctx) -> ApiResult<()> {
    require_volume(&ctx)?;
    Err(ApiError::missing_parameter(R::UUID_PARAM))
}

async fn post_to_item<R: Volume>(ctx: Ctx, uuid: String) -> ApiResult<()> {
    require_volume(&ctx)?;
    Err(ApiError::bad_request(format!(
        "Schema error for {}: {} is not of type 'object'",
        R::SCHEMA_NAME,
        schema::py_repr(&Value::String(uuid))
    )))
}

async fn nested_malformed(ctx: Ctx) -> ApiResult<()> {
    require_volume(&ctx)?;
    Err(ApiError::malformed_uri())
}

// The documented operations: each names its resource and hands over to the functions
// above.

#[utoipa::path(
    get,
    path = "/v1/volume/connectors",
    tag = "volume",
    summary = "List volume connectors",
    params(crate::openapi::ListQuery, crate::openapi::NodeFilter),
    responses((status = 200, description = "OK", body = crate::openapi::ConnectorList))
)]
async fn list_connectors(State(state): State<AppState>, ctx: Ctx, q: Query) -> ApiResult<Response> {
    list::<VolumeConnector>(&state, &ctx, &q, None).await
}

#[utoipa::path(
    get,
    path = "/v1/volume/targets",
    tag = "volume",
    summary = "List volume targets",
    params(crate::openapi::ListQuery, crate::openapi::NodeFilter),
    responses((status = 200, description = "OK", body = crate::openapi::TargetList))
)]
async fn list_targets(State(state): State<AppState>, ctx: Ctx, q: Query) -> ApiResult<Response> {
    list::<VolumeTarget>(&state, &ctx, &q, None).await
}

#[utoipa::path(
    get,
    path = "/v1/nodes/{ident}/volume/connectors",
    tag = "volume",
    summary = "List a node's volume connectors",
    params(("ident" = String, Path, description = "node name or UUID"), crate::openapi::ListQuery),
    responses((status = 200, description = "OK", body = crate::openapi::ConnectorList))
)]
async fn node_connectors(
    State(state): State<AppState>,
    ctx: Ctx,
    Path(ident): Path<String>,
    q: Query,
) -> ApiResult<Response> {
    list::<VolumeConnector>(&state, &ctx, &q, Some(ident)).await
}

#[utoipa::path(
    get,
    path = "/v1/nodes/{ident}/volume/targets",
    tag = "volume",
    summary = "List a node's volume targets",
    params(("ident" = String, Path, description = "node name or UUID"), crate::openapi::ListQuery),
    responses((status = 200, description = "OK", body = crate::openapi::TargetList))
)]
async fn node_targets(
    State(state): State<AppState>,
    ctx: Ctx,
    Path(ident): Path<String>,
    q: Query,
) -> ApiResult<Response> {
    list::<VolumeTarget>(&state, &ctx, &q, Some(ident)).await
}

#[utoipa::path(
    get,
    path = "/v1/volume/connectors/{uuid}",
    tag = "volume",
    summary = "Show a volume connector",
    params(("uuid" = String, Path, description = "UUID"), crate::openapi::FieldsQuery),
    responses((status = 200, description = "OK", body = crate::views::ConnectorView))
)]
async fn show_connector(
    State(state): State<AppState>,
    ctx: Ctx,
    Path(uuid): Path<String>,
    q: Query,
) -> ApiResult<Response> {
    show::<VolumeConnector>(&state, &ctx, &uuid, &q).await
}

#[utoipa::path(
    get,
    path = "/v1/volume/targets/{uuid}",
    tag = "volume",
    summary = "Show a volume target",
    params(("uuid" = String, Path, description = "UUID"), crate::openapi::FieldsQuery),
    responses((status = 200, description = "OK", body = crate::views::TargetView))
)]
async fn show_target(
    State(state): State<AppState>,
    ctx: Ctx,
    Path(uuid): Path<String>,
    q: Query,
) -> ApiResult<Response> {
    show::<VolumeTarget>(&state, &ctx, &uuid, &q).await
}

#[utoipa::path(
    get,
    path = "/v1/nodes/{ident}/volume/connectors/{uuid}",
    tag = "volume",
    summary = "Refused: show connectors at /v1/volume/connectors/{uuid}",
    params(("ident" = String, Path, description = "node name or UUID"), ("uuid" = String, Path, description = "UUID")),
    responses((status = 400, description = "Malformed request URI", body = crate::openapi::Error))
)]
async fn nested_show_connector(
    State(state): State<AppState>,
    ctx: Ctx,
    Path((ident, uuid)): Path<(String, String)>,
) -> ApiResult<Response> {
    nested_show::<VolumeConnector>(&state, &ctx, &ident, &uuid).await
}

#[utoipa::path(
    get,
    path = "/v1/nodes/{ident}/volume/targets/{uuid}",
    tag = "volume",
    summary = "Refused: show targets at /v1/volume/targets/{uuid}",
    params(("ident" = String, Path, description = "node name or UUID"), ("uuid" = String, Path, description = "UUID")),
    responses((status = 400, description = "Malformed request URI", body = crate::openapi::Error))
)]
async fn nested_show_target(
    State(state): State<AppState>,
    ctx: Ctx,
    Path((ident, uuid)): Path<(String, String)>,
) -> ApiResult<Response> {
    nested_show::<VolumeTarget>(&state, &ctx, &ident, &uuid).await
}

#[utoipa::path(
    post,
    path = "/v1/volume/connectors",
    tag = "volume",
    summary = "Create a volume connector",
    request_body = crate::openapi::ConnectorCreate,
    responses((status = 201, description = "Created", body = crate::views::ConnectorView))
)]
async fn create_connector(
    State(state): State<AppState>,
    ctx: Ctx,
    body: JsonBody,
) -> ApiResult<Response> {
    create::<VolumeConnector>(&state, &ctx, body).await
}

#[utoipa::path(
    post,
    path = "/v1/volume/targets",
    tag = "volume",
    summary = "Create a volume target",
    request_body = crate::openapi::TargetCreate,
    responses((status = 201, description = "Created", body = crate::views::TargetView))
)]
async fn create_target(
    State(state): State<AppState>,
    ctx: Ctx,
    body: JsonBody,
) -> ApiResult<Response> {
    create::<VolumeTarget>(&state, &ctx, body).await
}

/// POST under a node: the body is checked first (an unknown node is still the body's
/// 400), then the nested path itself is refused.
#[utoipa::path(
    post,
    path = "/v1/nodes/{ident}/volume/connectors",
    tag = "volume",
    summary = "Refused: create connectors at /v1/volume/connectors",
    params(("ident" = String, Path, description = "node name or UUID")),
    request_body = Object,
    responses((status = 400, description = "Malformed request URI", body = crate::openapi::Error))
)]
async fn nested_create_connector(
    State(state): State<AppState>,
    ctx: Ctx,
    body: JsonBody,
) -> ApiResult<Response> {
    nested_create::<VolumeConnector>(&state, &ctx, body).await
}

#[utoipa::path(
    post,
    path = "/v1/nodes/{ident}/volume/targets",
    tag = "volume",
    summary = "Refused: create targets at /v1/volume/targets",
    params(("ident" = String, Path, description = "node name or UUID")),
    request_body = Object,
    responses((status = 400, description = "Malformed request URI", body = crate::openapi::Error))
)]
async fn nested_create_target(
    State(state): State<AppState>,
    ctx: Ctx,
    body: JsonBody,
) -> ApiResult<Response> {
    nested_create::<VolumeTarget>(&state, &ctx, body).await
}

#[utoipa::path(
    patch,
    path = "/v1/volume/connectors/{uuid}",
    tag = "volume",
    summary = "Update a volume connector (JSON Patch)",
    params(("uuid" = String, Path, description = "UUID")),
    request_body = Vec<crate::openapi::PatchOperation>,
    responses((status = 200, description = "OK", body = crate::views::ConnectorView))
)]
async fn update_connector(
    State(state): State<AppState>,
    ctx: Ctx,
    Path(uuid): Path<String>,
    body: JsonBody,
) -> ApiResult<Response> {
    update::<VolumeConnector>(&state, &ctx, &uuid, body).await
}

#[utoipa::path(
    patch,
    path = "/v1/volume/targets/{uuid}",
    tag = "volume",
    summary = "Update a volume target (JSON Patch)",
    params(("uuid" = String, Path, description = "UUID")),
    request_body = Vec<crate::openapi::PatchOperation>,
    responses((status = 200, description = "OK", body = crate::views::TargetView))
)]
async fn update_target(
    State(state): State<AppState>,
    ctx: Ctx,
    Path(uuid): Path<String>,
    body: JsonBody,
) -> ApiResult<Response> {
    update::<VolumeTarget>(&state, &ctx, &uuid, body).await
}

#[utoipa::path(
    delete,
    path = "/v1/volume/connectors/{uuid}",
    tag = "volume",
    summary = "Delete a volume connector",
    params(("uuid" = String, Path, description = "UUID")),
    responses((status = 204, description = "Deleted"))
)]
async fn delete_connector(
    State(state): State<AppState>,
    ctx: Ctx,
    Path(uuid): Path<String>,
) -> ApiResult<StatusCode> {
    delete::<VolumeConnector>(&state, &ctx, &uuid).await
}

#[utoipa::path(
    delete,
    path = "/v1/volume/targets/{uuid}",
    tag = "volume",
    summary = "Delete a volume target",
    params(("uuid" = String, Path, description = "UUID")),
    responses((status = 204, description = "Deleted"))
)]
async fn delete_target(
    State(state): State<AppState>,
    ctx: Ctx,
    Path(uuid): Path<String>,
) -> ApiResult<StatusCode> {
    delete::<VolumeTarget>(&state, &ctx, &uuid).await
}
