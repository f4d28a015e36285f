//! Node endpoints that reach the BIOS, RAID and vendor interfaces: BIOS settings
//! (1.40), the target RAID configuration (1.12) and vendor passthru. Reads come from
//! the database; RAID and passthru calls go to the conductor under the node's lock.

use crate::wire::Json;
use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::{Method, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::any;
use serde_json::{Value, json};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::load_node;
use crate::app::{AppState, Ctx};
use crate::error::{ApiError, ApiResult};
use crate::extract::{JsonBody, Query};

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(list_bios))
        .routes(routes!(show_bios))
        .routes(routes!(set_raid))
        .routes(routes!(node_vendor_methods))
        .routes(routes!(node_vendor_passthru))
        // The method named in the path, as python-ironicclient sends it. Not in the
        // OpenAPI document: beside `vendor_passthru/methods` the template would be
        // ambiguous to clients that resolve URLs against the document.
        .route(
            "/v1/nodes/{ident}/vendor_passthru/{method}",
            any(vendor_passthru_at),
        )
}

/// BIOS settings came with 1.40, RAID with 1.12.
const BIOS: u32 = 40;
const RAID: u32 = 12;

fn require_bios(ctx: &Ctx, q: &Query) -> ApiResult<()> {
    if ctx.version.0 < BIOS {
        return Err(ApiError::not_found_path());
    }
    // `detail` and `fields` came with 1.74.
    if let Some((key, _)) = q.0.first() {
        return Err(ApiError::bad_request(format!(
            "Schema error: Additional properties are not allowed ('{key}' was unexpected)"
        )));
    }
    Ok(())
}

#[utoipa::path(
    get,
    path = "/v1/nodes/{ident}/bios",
    tag = "nodes",
    summary = "A node's cached BIOS settings (1.40)",
    params(("ident" = String, Path, description = "node name or UUID")),
    responses((status = 200, description = "OK", body = Object))
)]
pub async fn list_bios(
    State(state): State<AppState>,
    ctx: Ctx,
    Path(ident): Path<String>,
    q: Query,
) -> ApiResult<Json<Value>> {
    require_bios(&ctx, &q)?;
    load_node(&state, &ctx, &ident).await?;
    // Settings are cached by a BIOS interface that reads them from the BMC during
    // cleaning or verification; neither `fake` nor `no-bios` reads any, and sanlink's
    // `redfish` does not cache them, so every node has none.
    Ok(Json(json!({ "bios": [] })))
}

#[utoipa::path(
    get,
    path = "/v1/nodes/{ident}/bios/{setting}",
    tag = "nodes",
    summary = "One cached BIOS setting of a node (1.40)",
    params(
        ("ident" = String, Path, description = "node name or UUID"),
        ("setting" = String, Path, description = "setting name"),
    ),
    responses((status = 404, description = "No such setting", body = crate::openapi::Error))
)]
pub async fn show_bios(
    State(state): State<AppState>,
    ctx: Ctx,
    Path((ident, setting)): Path<(String, String)>,
    q: Query,
) -> ApiResult<Json<Value>> {
    require_bios(&ctx, &q)?;
    let node = load_node(&state, &ctx, &ident).await?;
    Err(ApiError::from(common::Error::not_found(format!(
        "Node {} doesn't have a BIOS setting '{setting}'",
        node.uuid
    ))))
}

/// Python's `str` of a value, as Ironic's argument checks print it.
fn py_str(v: &Value) -> String {
    match v {
        Value::String(s) => s.clone(),
        other => common::schema::py_repr(other),
    }
}

#[utoipa::path(
    put,
    path = "/v1/nodes/{ident}/states/raid",
    tag = "nodes",
    summary = "Set a node's target RAID configuration (1.12)",
    params(("ident" = String, Path, description = "node name or UUID")),
    request_body = Object,
    responses((status = 204, description = "Stored"))
)]
pub async fn set_raid(
    State(state): State<AppState>,
    ctx: Ctx,
    Path(ident): Path<String>,
    body: JsonBody,
) -> ApiResult<StatusCode> {
    if !body.0.is_object() {
        return Err(ApiError::bad_request(format!(
            "Expected types <class 'dict'> for target_raid_config: {}",
            py_str(&body.0)
        )));
    }
    if ctx.version.0 < RAID {
        return Err(ApiError::from(common::Error::NotAcceptable(
            "Request not acceptable.".into(),
        )));
    }
    let node = load_node(&state, &ctx, &ident).await?;
    state
        .conductor
        .set_target_raid_config(&ctx.request, node.uuid, body.0)
        .await?;
    Ok(StatusCode::NO_CONTENT)
}

#[utoipa::path(
    get,
    path = "/v1/nodes/{ident}/vendor_passthru/methods",
    tag = "nodes",
    summary = "The vendor methods of a node's vendor interface",
    params(("ident" = String, Path, description = "node name or UUID")),
    responses((status = 200, description = "OK", body = Object))
)]
pub async fn node_vendor_methods(
    State(state): State<AppState>,
    ctx: Ctx,
    Path(ident): Path<String>,
    q: Query,
) -> ApiResult<Json<Value>> {
    q.only(&[])?;
    let node = load_node(&state, &ctx, &ident).await?;
    let iface = node.interfaces.vendor.as_deref().unwrap_or_default();
    let methods = common::hardware::vendor_methods(iface);
    Ok(Json(serde_json::to_value(methods).unwrap_or_default()))
}

/// The arguments of a vendor method: the JSON object in the body, or none.
fn passthru_args(raw: &Bytes) -> ApiResult<Value> {
    if raw.iter().all(u8::is_ascii_whitespace) {
        return Ok(json!({}));
    }
    let value: Value = serde_json::from_slice(raw)
        .map_err(|e| ApiError::bad_request(format!("The request body is not valid JSON: {e}")))?;
    match value {
        Value::Object(_) => Ok(value),
        Value::Null => Ok(json!({})),
        other => Err(ApiError::bad_request(format!(
            "Invalid input for vendor passthru: {} is not of type 'object'",
            common::schema::py_repr(&other)
        ))),
    }
}

#[utoipa::path(
    method(get, post, put, patch, delete),
    path = "/v1/nodes/{ident}/vendor_passthru",
    tag = "nodes",
    summary = "Call a vendor method of a node; asynchronous ones answer 202",
    params(
        ("ident" = String, Path, description = "node name or UUID"),
        ("method" = String, Query, description = "vendor method"),
    ),
    request_body = Option<Object>,
    responses(
        (status = 200, description = "The method's result", body = Object),
        (status = 202, description = "Accepted"),
    )
)]
pub async fn node_vendor_passthru(
    State(state): State<AppState>,
    ctx: Ctx,
    method: Method,
    Path(ident): Path<String>,
    q: Query,
    raw: Bytes,
) -> ApiResult<Response> {
    q.only(&["method"])?;
    let name = q
        .get("method")
        .filter(|m| !m.is_empty())
        .ok_or_else(|| ApiError::missing_parameter("method"))?
        .to_string();
    call_vendor_method(&state, &ctx, method, &ident, name, &raw).await
}

/// `/v1/nodes/{ident}/vendor_passthru/{method}`: as [`node_vendor_passthru`], the method
/// named in the path.
pub async fn vendor_passthru_at(
    State(state): State<AppState>,
    ctx: Ctx,
    method: Method,
    Path((ident, name)): Path<(String, String)>,
    q: Query,
    raw: Bytes,
) -> ApiResult<Response> {
    q.only(&[])?;
    call_vendor_method(&state, &ctx, method, &ident, name, &raw).await
}

async fn call_vendor_method(
    state: &AppState,
    ctx: &Ctx,
    method: Method,
    ident: &str,
    name: String,
    raw: &Bytes,
) -> ApiResult<Response> {
    let args = passthru_args(raw)?;
    let node = load_node(state, ctx, ident).await?;
    let result = state
        .conductor
        .vendor_passthru(&ctx.request, node.uuid, name, method.to_string(), args)
        .await?;
    if result.is_async {
        return Ok(StatusCode::ACCEPTED.into_response());
    }
    Ok((StatusCode::OK, Json(result.value)).into_response())
}
