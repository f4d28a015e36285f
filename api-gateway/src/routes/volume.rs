//! The volume API: connectors and targets (spec: volume-api.md). Reads come from the
//! database; every write is a conductor RPC.

use std::sync::Arc;

use axum::Json;
use axum::extract::{Path, State};
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde_json::{Map, Value, json};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use common::db::{self, nodes, volume_connectors, volume_targets};
use common::error::Found;
use common::model::mask::mask_secrets;
use common::model::node::is_valid_ident;
use common::model::volume::{self as limits, VolumeConnector, VolumeTarget};
use common::model::{isoformat, new_uuid, now};
use common::schema;

use crate::app::{AppState, Ctx};
use crate::error::{ApiError, ApiResult};
use crate::extract::{JsonBody, Query, uuid_param};
use crate::listing::{Collection, ListParams, QueryWording};
use crate::version;

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
    missing_uuid(ctx, "connector_uuid").await
}

#[utoipa::path(
    method(delete, patch),
    path = "/v1/volume/targets",
    tag = "volume",
    summary = "Refused: DELETE and PATCH need a target's UUID",
    responses((status = 400, description = "Missing mandatory parameter", body = crate::openapi::Error))
)]
async fn targets_without_uuid(ctx: Ctx) -> ApiResult<()> {
    missing_uuid(ctx, "target_uuid").await
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
    missing_uuid(ctx, "connector_uuid").await
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
    missing_uuid(ctx, "target_uuid").await
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
    post_to_item(ctx, "connector", uuid).await
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
    post_to_item(ctx, "target", uuid).await
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

pub const CONNECTORS: Collection = Collection {
    wording: QueryWording::Schema,
    path: "volume/connectors",
    key: "connectors",
    fields: &[
        "uuid",
        "node_uuid",
        "type",
        "connector_id",
        "extra",
        "created_at",
        "updated_at",
    ],
    default_fields: &["uuid", "node_uuid", "type", "connector_id"],
    sort_keys: &volume_connectors::SORT_KEYS,
};

pub const TARGETS: Collection = Collection {
    wording: QueryWording::Schema,
    path: "volume/targets",
    key: "targets",
    fields: &[
        "uuid",
        "node_uuid",
        "volume_type",
        "properties",
        "boot_index",
        "volume_id",
        "extra",
        "created_at",
        "updated_at",
    ],
    default_fields: &[
        "uuid",
        "node_uuid",
        "volume_type",
        "boot_index",
        "volume_id",
    ],
    sort_keys: &volume_targets::SORT_KEYS,
};

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

/// An item's UUID from its URL. One that is UUID-like but not in its canonical
/// lower-case form names nothing (Ironic looks it up as written): 404.
fn item_uuid(value: &str, name: &str, what: &str) -> ApiResult<String> {
    let uuid = uuid_param(value, name)?;
    if uuid != value {
        return Err(common::Error::not_found(format!("{what} {value} could not be found.")).into());
    }
    Ok(uuid)
}

fn ts(t: &Option<chrono::NaiveDateTime>) -> Value {
    t.as_ref()
        .map(|t| Value::String(isoformat(t)))
        .unwrap_or(Value::Null)
}

pub fn connector_json(ctx: &Ctx, c: &VolumeConnector) -> Map<String, Value> {
    let Value::Object(obj) = json!({
        "uuid": c.uuid,
        "node_uuid": c.node_uuid,
        "type": c.connector_type,
        "connector_id": c.connector_id,
        "extra": c.extra,
        "created_at": isoformat(&c.created_at),
        "updated_at": ts(&c.updated_at),
        "links": ctx.links(&format!("volume/connectors/{}", c.uuid)),
    }) else {
        unreachable!()
    };
    obj
}

/// A target as clients see it: secret-looking properties masked.
pub fn target_json(ctx: &Ctx, t: &VolumeTarget) -> Map<String, Value> {
    let Value::Object(obj) = json!({
        "uuid": t.uuid,
        "node_uuid": t.node_uuid,
        "volume_type": t.volume_type,
        "properties": mask_secrets(&t.properties),
        "boot_index": t.boot_index,
        "volume_id": t.volume_id,
        "extra": t.extra,
        "created_at": isoformat(&t.created_at),
        "updated_at": ts(&t.updated_at),
        "links": ctx.links(&format!("volume/targets/{}", t.uuid)),
    }) else {
        unreachable!()
    };
    obj
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
fn check_parent(ident: &str) -> ApiResult<()> {
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

/// Resolves a `node` filter or parent ident to its internal id (404 if unknown).
/// One list request for either resource.
struct ListRequest {
    params: ListParams,
    node_filter: Option<String>,
    is_connectors: bool,
}

/// Checks a list request's parameters; the node and the marker it names are looked up
/// with the list itself, in one trip to the database.
fn list_request(
    state: &AppState,
    ctx: &Ctx,
    q: &Query,
    c: &Collection,
    parent: Option<String>,
) -> ApiResult<ListRequest> {
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
    let params = ListParams::parse(q, c, state.settings.max_limit)?;
    if let Some(ident) = &parent {
        check_parent(ident)?;
    }
    let node_filter = parent.or_else(|| q.get("node").map(str::to_string));
    if let Some(ident) = &node_filter {
        check_ident(ident)?;
    }
    Ok(ListRequest {
        params,
        node_filter,
        is_connectors: c.key == "connectors",
    })
}

/// What a list reads by: the node's id and the page (with the marker's row id).
struct ListScope {
    node_id: Option<i64>,
    page: db::Page,
}

impl ListRequest {
    /// Resolves the node filter and the marker, in that order (an unknown node is the
    /// error even when the marker is unknown too).
    fn scope(&self, conn: &mut db::AnyConnection) -> Result<ListScope, common::Error> {
        let node_id = match &self.node_filter {
            Some(ident) => Some(nodes::id_of(conn, ident)?),
            None => None,
        };
        let marker_id = match &self.params.marker {
            None => None,
            Some(m) if self.is_connectors => Some(volume_connectors::id_of(conn, m)?),
            Some(m) => Some(volume_targets::id_of(conn, m)?),
        };
        Ok(ListScope {
            node_id,
            page: self.params.page(marker_id),
        })
    }
}

impl ListRequest {
    fn respond(
        &self,
        ctx: &Ctx,
        c: &Collection,
        items: Vec<(String, Map<String, Value>)>,
    ) -> Json<Value> {
        let last = items.last().map(|(uuid, _)| uuid.clone());
        let node = self.node_filter.clone();
        let extra: Vec<(&str, &str)> = node
            .as_deref()
            .map(|n| vec![("node", n)])
            .unwrap_or_default();
        let next = self
            .params
            .next_link(c, &ctx.base_url, items.len(), last.as_deref(), &extra);
        let list: Vec<Value> = items
            .into_iter()
            .map(|(_, item)| Value::Object(self.params.select(c, item)))
            .collect();
        let mut body = json!({ c.key: list });
        if let Some(next) = next {
            body["next"] = Value::String(next);
        }
        Json(body)
    }
}

async fn connectors(
    state: AppState,
    ctx: Ctx,
    q: Query,
    parent: Option<String>,
) -> ApiResult<Json<Value>> {
    let req = Arc::new(list_request(&state, &ctx, &q, &CONNECTORS, parent)?);
    let scoped = req.clone();
    let found = state
        .db
        .run(move |conn| {
            let scope = scoped.scope(conn)?;
            volume_connectors::list(conn, scope.node_id, &scope.page)
        })
        .await?;
    let items = found
        .iter()
        .map(|c| (c.uuid.clone(), connector_json(&ctx, c)))
        .collect();
    Ok(req.respond(&ctx, &CONNECTORS, items))
}

async fn targets(
    state: AppState,
    ctx: Ctx,
    q: Query,
    parent: Option<String>,
) -> ApiResult<Json<Value>> {
    let req = Arc::new(list_request(&state, &ctx, &q, &TARGETS, parent)?);
    let scoped = req.clone();
    let found = state
        .db
        .run(move |conn| {
            let scope = scoped.scope(conn)?;
            volume_targets::list(conn, scope.node_id, &scope.page)
        })
        .await?;
    let items = found
        .iter()
        .map(|t| (t.uuid.clone(), target_json(&ctx, t)))
        .collect();
    Ok(req.respond(&ctx, &TARGETS, items))
}

#[utoipa::path(
    get,
    path = "/v1/volume/connectors",
    tag = "volume",
    summary = "List volume connectors",
    params(crate::openapi::ListQuery, crate::openapi::NodeFilter),
    responses((status = 200, description = "OK", body = crate::openapi::ConnectorList))
)]
async fn list_connectors(
    State(state): State<AppState>,
    ctx: Ctx,
    q: Query,
) -> ApiResult<Json<Value>> {
    connectors(state, ctx, q, None).await
}

#[utoipa::path(
    get,
    path = "/v1/volume/targets",
    tag = "volume",
    summary = "List volume targets",
    params(crate::openapi::ListQuery, crate::openapi::NodeFilter),
    responses((status = 200, description = "OK", body = crate::openapi::TargetList))
)]
async fn list_targets(State(state): State<AppState>, ctx: Ctx, q: Query) -> ApiResult<Json<Value>> {
    targets(state, ctx, q, None).await
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
) -> ApiResult<Json<Value>> {
    connectors(state, ctx, q, Some(ident)).await
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
) -> ApiResult<Json<Value>> {
    targets(state, ctx, q, Some(ident)).await
}

/// `?fields=` is the only parameter of a single-item GET.
fn show_fields(q: &Query, c: &Collection) -> ApiResult<Option<Vec<String>>> {
    q.only(&["fields"])?;
    q.get("fields")
        .map(|f| crate::listing::parse_fields_as(f, c.fields, c.wording))
        .transpose()
}

fn subset(mut item: Map<String, Value>, fields: Option<Vec<String>>) -> Map<String, Value> {
    if let Some(fields) = fields {
        item.retain(|k, _| k == "links" || fields.iter().any(|f| f == k));
    }
    item
}

#[utoipa::path(
    get,
    path = "/v1/volume/connectors/{uuid}",
    tag = "volume",
    summary = "Show a volume connector",
    params(("uuid" = String, Path, description = "UUID"), crate::openapi::FieldsQuery),
    responses((status = 200, description = "OK", body = crate::openapi::Connector))
)]
async fn show_connector(
    State(state): State<AppState>,
    ctx: Ctx,
    Path(uuid): Path<String>,
    q: Query,
) -> ApiResult<Json<Value>> {
    require_volume(&ctx)?;
    let uuid = item_uuid(&uuid, "connector_uuid", "Volume connector")?;
    let fields = show_fields(&q, &CONNECTORS)?;
    let c = state
        .db
        .run(move |conn| volume_connectors::get_by_uuid(conn, &uuid))
        .await?;
    Ok(Json(Value::Object(subset(
        connector_json(&ctx, &c),
        fields,
    ))))
}

#[utoipa::path(
    get,
    path = "/v1/volume/targets/{uuid}",
    tag = "volume",
    summary = "Show a volume target",
    params(("uuid" = String, Path, description = "UUID"), crate::openapi::FieldsQuery),
    responses((status = 200, description = "OK", body = crate::openapi::Target))
)]
async fn show_target(
    State(state): State<AppState>,
    ctx: Ctx,
    Path(uuid): Path<String>,
    q: Query,
) -> ApiResult<Json<Value>> {
    require_volume(&ctx)?;
    let uuid = item_uuid(&uuid, "target_uuid", "Volume target")?;
    let fields = show_fields(&q, &TARGETS)?;
    let t = state
        .db
        .run(move |conn| volume_targets::get_by_uuid(conn, &uuid))
        .await?;
    Ok(Json(Value::Object(subset(target_json(&ctx, &t), fields))))
}

/// Nested single-item GET: 404 when the item is missing, else a malformed URI.
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
) -> ApiResult<Json<Value>> {
    require_volume(&ctx)?;
    check_parent(&ident)?;
    let uuid = item_uuid(&uuid, "connector_uuid", "Volume connector")?;
    state
        .db
        .run(move |conn| volume_connectors::id_of(conn, &uuid))
        .await?;
    Err(ApiError::malformed_uri())
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
) -> ApiResult<Json<Value>> {
    require_volume(&ctx)?;
    check_parent(&ident)?;
    let uuid = item_uuid(&uuid, "target_uuid", "Volume target")?;
    state
        .db
        .run(move |conn| volume_targets::id_of(conn, &uuid))
        .await?;
    Err(ApiError::malformed_uri())
}

async fn missing_uuid(ctx: Ctx, name: &str) -> ApiResult<()> {
    require_volume(&ctx)?;
    Err(ApiError::missing_parameter(name))
}

async fn post_to_item(ctx: Ctx, kind: &str, uuid: String) -> ApiResult<()> {
    require_volume(&ctx)?;
    Err(ApiError::bad_request(format!(
        "Schema error for {kind}: {} is not of type 'object'",
        schema::py_repr(&Value::String(uuid))
    )))
}

async fn nested_malformed(ctx: Ctx) -> ApiResult<()> {
    require_volume(&ctx)?;
    Err(ApiError::malformed_uri())
}

/// Checks a create body against the resource's schema. Whether its node exists is
/// checked once, by the conductor, in the transaction that stores the new row.
fn checked_body(
    body: JsonBody,
    fields: &[schema::Field],
    what: &str,
) -> ApiResult<Map<String, Value>> {
    let body = body.object_for(what)?;
    schema::check(&body, fields, what)?;
    Ok(body)
}

/// Checks a create body and its node, for the nested paths, which refuse the request
/// without calling the conductor.
async fn checked_create_body(
    state: &AppState,
    body: JsonBody,
    fields: &[schema::Field],
    what: &str,
) -> ApiResult<Map<String, Value>> {
    let body = checked_body(body, fields, what)?;
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
    Ok(body)
}

fn str_of(body: &Map<String, Value>, key: &str) -> String {
    body.get(key)
        .and_then(|v| v.as_str())
        .unwrap_or_default()
        .to_string()
}

fn uuid_of(body: &Map<String, Value>, key: &str) -> Option<String> {
    body.get(key)
        .and_then(|v| v.as_str())
        .and_then(common::model::canonical_uuid)
}

fn object_of(body: &Map<String, Value>, key: &str) -> Map<String, Value> {
    body.get(key)
        .and_then(|v| v.as_object())
        .cloned()
        .unwrap_or_default()
}

fn created(ctx: &Ctx, path: String, body: Map<String, Value>) -> Response {
    (
        StatusCode::CREATED,
        [(header::LOCATION, ctx.location(&path))],
        Json(Value::Object(body)),
    )
        .into_response()
}

#[utoipa::path(
    post,
    path = "/v1/volume/connectors",
    tag = "volume",
    summary = "Create a volume connector",
    request_body = crate::openapi::ConnectorCreate,
    responses((status = 201, description = "Created", body = crate::openapi::Connector))
)]
async fn create_connector(
    State(state): State<AppState>,
    ctx: Ctx,
    body: JsonBody,
) -> ApiResult<Response> {
    require_volume(&ctx)?;
    let body = checked_body(body, &limits::CONNECTOR_SCHEMA, "connector")?;
    let connector = VolumeConnector {
        id: 0,
        uuid: uuid_of(&body, "uuid").unwrap_or_else(new_uuid),
        node_id: 0,
        node_uuid: uuid_of(&body, "node_uuid").unwrap_or_default(),
        connector_type: str_of(&body, "type"),
        connector_id: str_of(&body, "connector_id"),
        extra: object_of(&body, "extra"),
        created_at: now(),
        updated_at: None,
    };
    let c = state
        .conductor
        .create_volume_connector(&ctx.request, connector)
        .await?;
    Ok(created(
        &ctx,
        format!("volume/connectors/{}", c.uuid),
        connector_json(&ctx, &c),
    ))
}

#[utoipa::path(
    post,
    path = "/v1/volume/targets",
    tag = "volume",
    summary = "Create a volume target",
    request_body = crate::openapi::TargetCreate,
    responses((status = 201, description = "Created", body = crate::openapi::Target))
)]
async fn create_target(
    State(state): State<AppState>,
    ctx: Ctx,
    body: JsonBody,
) -> ApiResult<Response> {
    require_volume(&ctx)?;
    let body = checked_body(body, &limits::TARGET_SCHEMA, "target")?;
    let target = VolumeTarget {
        id: 0,
        uuid: uuid_of(&body, "uuid").unwrap_or_else(new_uuid),
        node_id: 0,
        node_uuid: uuid_of(&body, "node_uuid").unwrap_or_default(),
        volume_type: str_of(&body, "volume_type"),
        properties: object_of(&body, "properties"),
        boot_index: body
            .get("boot_index")
            .and_then(|v| v.as_i64())
            .unwrap_or_default() as i32,
        volume_id: str_of(&body, "volume_id"),
        extra: object_of(&body, "extra"),
        created_at: now(),
        updated_at: None,
    };
    let t = state
        .conductor
        .create_volume_target(&ctx.request, target)
        .await?;
    Ok(created(
        &ctx,
        format!("volume/targets/{}", t.uuid),
        target_json(&ctx, &t),
    ))
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
) -> ApiResult<()> {
    require_volume(&ctx)?;
    checked_create_body(&state, body, &limits::CONNECTOR_SCHEMA, "connector").await?;
    Err(ApiError::malformed_uri())
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
) -> ApiResult<()> {
    require_volume(&ctx)?;
    checked_create_body(&state, body, &limits::TARGET_SCHEMA, "target").await?;
    Err(ApiError::malformed_uri())
}

#[utoipa::path(
    patch,
    path = "/v1/volume/connectors/{uuid}",
    tag = "volume",
    summary = "Update a volume connector (JSON Patch)",
    params(("uuid" = String, Path, description = "UUID")),
    request_body = Vec<crate::openapi::PatchOperation>,
    responses((status = 200, description = "OK", body = crate::openapi::Connector))
)]
async fn update_connector(
    State(state): State<AppState>,
    ctx: Ctx,
    Path(uuid): Path<String>,
    body: JsonBody,
) -> ApiResult<Json<Value>> {
    require_volume(&ctx)?;
    let uuid = item_uuid(&uuid, "connector_uuid", "Volume connector")?;
    let patch = common::patch::parse(&body.0)?;
    let c = state
        .conductor
        .update_volume_connector(&ctx.request, uuid, patch)
        .await?;
    Ok(Json(Value::Object(connector_json(&ctx, &c))))
}

#[utoipa::path(
    patch,
    path = "/v1/volume/targets/{uuid}",
    tag = "volume",
    summary = "Update a volume target (JSON Patch)",
    params(("uuid" = String, Path, description = "UUID")),
    request_body = Vec<crate::openapi::PatchOperation>,
    responses((status = 200, description = "OK", body = crate::openapi::Target))
)]
async fn update_target(
    State(state): State<AppState>,
    ctx: Ctx,
    Path(uuid): Path<String>,
    body: JsonBody,
) -> ApiResult<Json<Value>> {
    require_volume(&ctx)?;
    let uuid = item_uuid(&uuid, "target_uuid", "Volume target")?;
    let patch = common::patch::parse(&body.0)?;
    let t = state
        .conductor
        .update_volume_target(&ctx.request, uuid, patch)
        .await?;
    Ok(Json(Value::Object(target_json(&ctx, &t))))
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
    require_volume(&ctx)?;
    let uuid = item_uuid(&uuid, "connector_uuid", "Volume connector")?;
    state
        .conductor
        .destroy_volume_connector(&ctx.request, uuid)
        .await?;
    Ok(StatusCode::NO_CONTENT)
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
    require_volume(&ctx)?;
    let uuid = item_uuid(&uuid, "target_uuid", "Volume target")?;
    state
        .conductor
        .destroy_volume_target(&ctx.request, uuid)
        .await?;
    Ok(StatusCode::NO_CONTENT)
}
