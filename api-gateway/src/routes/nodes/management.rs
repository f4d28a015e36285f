//! A node's management and console: its boot device (`/management/boot_device`, and
//! `/supported`), NMI injection (`/management/inject_nmi`, from 1.29) and serial
//! console (`/states/console`). Each is a conductor RPC; the answers are Ironic's.
//!
//! Ironic takes these arguments as named parameters, from the query string and the
//! body's keys alike: a body that is not a JSON object adds none, an unknown one is
//! "Unexpected arguments", and a value is converted as its validators convert it.

use crate::wire::Json;
use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde_json::{Map, Value, json};
use utoipa::ToSchema;
use utoipa::openapi::schema::{ObjectBuilder, OneOfBuilder, Schema, Type};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use common::schema::py_repr;

use super::load_node;
use crate::app::{AppState, Ctx};
use crate::error::{ApiError, ApiResult};
use crate::extract::Query;
use crate::listing::parse_bool;

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(get_boot_device, set_boot_device))
        .routes(routes!(supported_boot_devices))
        .routes(routes!(inject_nmi))
        .routes(routes!(get_console, set_console))
}

/// NMI injection came with 1.29.
const INJECT_NMI: u32 = 29;

/// The named arguments of a request: the query's, then the body's keys (when the
/// body is a JSON object), each checked against `allowed`.
fn arguments(q: &Query, raw: &Bytes, allowed: &[&str]) -> ApiResult<Map<String, Value>> {
    let mut args: Map<String, Value> =
        q.0.iter()
            .map(|(k, v)| (k.clone(), Value::String(v.clone())))
            .collect();
    let mut names: Vec<String> = q.0.iter().map(|(k, _)| k.clone()).collect();
    if let Ok(Value::Object(body)) = serde_json::from_slice::<Value>(raw) {
        for (k, v) in body {
            if !names.contains(&k) {
                names.push(k.clone());
            }
            args.insert(k, v);
        }
    }
    let unexpected: Vec<&str> = names
        .iter()
        .map(String::as_str)
        .filter(|k| !allowed.contains(k))
        .collect();
    if !unexpected.is_empty() {
        return Err(ApiError::bad_request(format!(
            "Unexpected arguments: {}",
            unexpected.join(", ")
        )));
    }
    Ok(args)
}

/// A boolean argument as Ironic's validator reads it: JSON booleans, and the words
/// (or numbers) it accepts, written as Python would print them. Absent or null is
/// `None`.
fn boolean(args: &Map<String, Value>, name: &str) -> ApiResult<Option<bool>> {
    match args.get(name) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::Bool(b)) => Ok(Some(*b)),
        Some(Value::String(s)) => parse_bool(name, s).map(Some),
        Some(Value::Number(n)) => parse_bool(name, &n.to_string()).map(Some),
        Some(other) => parse_bool(name, &py_repr(other)).map(Some),
    }
}

/// The boolean words [`parse_bool`] accepts, in any case.
const BOOL_WORD_PATTERN: &str = "^([Tt]([Rr][Uu][Ee])?|[Ff]([Aa][Ll][Ss][Ee])?|[Yy]([Ee][Ss])?|[Nn][Oo]?|[Oo][Nn]|[Oo][Ff][Ff]|0|1)$";

/// What [`boolean`] accepts: a boolean, null (the default), a word, or 0 and 1.
fn boolean_argument() -> Schema {
    OneOfBuilder::new()
        .item(ObjectBuilder::new().schema_type(Type::Boolean))
        .item(ObjectBuilder::new().schema_type(Type::Null))
        .item(
            ObjectBuilder::new()
                .schema_type(Type::String)
                .pattern(Some(BOOL_WORD_PATTERN)),
        )
        .item(
            ObjectBuilder::new()
                .schema_type(Type::Integer)
                .minimum(Some(0))
                .maximum(Some(1)),
        )
        .into()
}

/// `PUT .../management/boot_device`.
#[derive(ToSchema)]
#[allow(dead_code)]
pub struct BootDeviceBody {
    /// One of the node's supported boot devices (`.../boot_device/supported`).
    #[schema(pattern = "^[^\\u0000]*$", max_length = 255)]
    boot_device: String,
    /// Whether the device is kept for every boot (default: the next boot only).
    #[schema(schema_with = boolean_argument)]
    persistent: Option<bool>,
}

/// A node's boot device; null when the hardware does not say.
#[derive(ToSchema)]
#[allow(dead_code)]
pub struct BootDeviceInfo {
    boot_device: Option<String>,
    persistent: Option<bool>,
}

#[derive(ToSchema)]
#[allow(dead_code)]
pub struct SupportedBootDevices {
    supported_boot_devices: Vec<String>,
}

/// `PUT .../states/console`.
#[derive(ToSchema)]
#[allow(dead_code)]
pub struct ConsoleBody {
    /// null disables, as false does.
    #[schema(schema_with = boolean_argument)]
    enabled: bool,
}

#[derive(ToSchema)]
#[allow(dead_code)]
pub struct ConsoleInfo {
    console_enabled: bool,
    /// How to connect, while the console is enabled; its keys depend on the interface.
    console_info: Option<Object>,
}

/// A JSON object of any keys.
#[derive(ToSchema)]
#[allow(dead_code)]
pub struct Object {}

#[utoipa::path(
    get,
    path = "/v1/nodes/{ident}/management/boot_device",
    tag = "nodes",
    summary = "A node's boot device",
    params(("ident" = String, Path, description = "node name or UUID")),
    responses(
        (status = 200, description = "OK", body = BootDeviceInfo),
        (status = 400, description = "Bad arguments, or the node's management interface cannot reach its BMC", body = crate::openapi::Error),
        (status = 404, description = "No such node", body = crate::openapi::Error),
        (status = 409, description = "The node is locked", body = crate::openapi::Error),
    )
)]
pub async fn get_boot_device(
    State(state): State<AppState>,
    ctx: Ctx,
    Path(ident): Path<String>,
    q: Query,
) -> ApiResult<Json<Value>> {
    q.only(&[])?;
    let node = load_node(&state, &ctx, &ident).await?;
    let current = state
        .conductor
        .get_boot_device(&ctx.request, node.uuid)
        .await?;
    Ok(Json(json!({
        "boot_device": current.boot_device.map(|d| d.as_str()),
        "persistent": current.persistent,
    })))
}

#[utoipa::path(
    put,
    path = "/v1/nodes/{ident}/management/boot_device",
    tag = "nodes",
    summary = "Set a node's boot device",
    params(("ident" = String, Path, description = "node name or UUID")),
    request_body = BootDeviceBody,
    responses(
        (status = 204, description = "Set"),
        (status = 400, description = "Bad arguments, or a device the node does not support", body = crate::openapi::Error),
        (status = 404, description = "No such node", body = crate::openapi::Error),
        (status = 409, description = "The node is locked", body = crate::openapi::Error),
    )
)]
pub async fn set_boot_device(
    State(state): State<AppState>,
    ctx: Ctx,
    Path(ident): Path<String>,
    q: Query,
    raw: Bytes,
) -> ApiResult<StatusCode> {
    let args = arguments(&q, &raw, &["boot_device", "persistent"])?;
    let device = match args.get("boot_device") {
        None => return Err(ApiError::missing_parameter("boot_device")),
        Some(Value::String(s)) => s.clone(),
        // Ironic passes a null on, and its interfaces refuse it by its Python name.
        Some(Value::Null) => "None".to_string(),
        Some(other) => {
            return Err(ApiError::bad_request(format!(
                "Expected string for boot_device: {}",
                py_repr(other)
            )));
        }
    };
    let persistent = boolean(&args, "persistent")?.unwrap_or(false);
    let node = load_node(&state, &ctx, &ident).await?;
    state
        .conductor
        .set_boot_device(&ctx.request, node.uuid, device, persistent)
        .await?;
    Ok(StatusCode::NO_CONTENT)
}

#[utoipa::path(
    get,
    path = "/v1/nodes/{ident}/management/boot_device/supported",
    tag = "nodes",
    summary = "The boot devices a node supports",
    params(("ident" = String, Path, description = "node name or UUID")),
    responses(
        (status = 200, description = "OK", body = SupportedBootDevices),
        (status = 400, description = "Bad arguments", body = crate::openapi::Error),
        (status = 404, description = "No such node", body = crate::openapi::Error),
    )
)]
pub async fn supported_boot_devices(
    State(state): State<AppState>,
    ctx: Ctx,
    Path(ident): Path<String>,
    q: Query,
) -> ApiResult<Json<Value>> {
    q.only(&[])?;
    let node = load_node(&state, &ctx, &ident).await?;
    let devices = state
        .conductor
        .get_supported_boot_devices(&ctx.request, node.uuid)
        .await?;
    let names: Vec<&str> = devices.iter().map(|d| d.as_str()).collect();
    Ok(Json(json!({ "supported_boot_devices": names })))
}

#[utoipa::path(
    put,
    path = "/v1/nodes/{ident}/management/inject_nmi",
    tag = "nodes",
    summary = "Inject a non-maskable interrupt (1.29)",
    params(("ident" = String, Path, description = "node name or UUID")),
    request_body(content = Option<Object>, description = "empty, or an object without keys"),
    responses(
        (status = 204, description = "Injected"),
        (status = 400, description = "The node's management interface cannot inject NMIs", body = crate::openapi::Error),
        (status = 404, description = "No such node, or a version below 1.29", body = crate::openapi::Error),
        (status = 409, description = "The node is locked", body = crate::openapi::Error),
    )
)]
pub async fn inject_nmi(
    State(state): State<AppState>,
    ctx: Ctx,
    Path(ident): Path<String>,
    q: Query,
    raw: Bytes,
) -> ApiResult<StatusCode> {
    if ctx.version.0 < INJECT_NMI {
        return Err(ApiError::new(
            StatusCode::NOT_FOUND,
            "Resource could not be found.",
        ));
    }
    arguments(&q, &raw, &[])?;
    let node = load_node(&state, &ctx, &ident).await?;
    state.conductor.inject_nmi(&ctx.request, node.uuid).await?;
    Ok(StatusCode::NO_CONTENT)
}

#[utoipa::path(
    get,
    path = "/v1/nodes/{ident}/states/console",
    tag = "nodes",
    summary = "A node's serial console",
    params(("ident" = String, Path, description = "node name or UUID")),
    responses(
        (status = 200, description = "OK", body = ConsoleInfo),
        (status = 400, description = "Bad arguments, or the node has no console interface", body = crate::openapi::Error),
        (status = 404, description = "No such node", body = crate::openapi::Error),
    )
)]
pub async fn get_console(
    State(state): State<AppState>,
    ctx: Ctx,
    Path(ident): Path<String>,
    q: Query,
) -> ApiResult<Json<Value>> {
    q.only(&[])?;
    let node = load_node(&state, &ctx, &ident).await?;
    let console = state
        .conductor
        .get_console_information(&ctx.request, node.uuid)
        .await?;
    Ok(Json(json!({
        "console_enabled": console.enabled,
        "console_info": console.info,
    })))
}

#[utoipa::path(
    put,
    path = "/v1/nodes/{ident}/states/console",
    tag = "nodes",
    summary = "Enable or disable a node's serial console",
    params(("ident" = String, Path, description = "node name or UUID")),
    request_body = ConsoleBody,
    responses(
        (status = 202, description = "Accepted"),
        (status = 400, description = "Bad arguments, or the node has no console interface", body = crate::openapi::Error),
        (status = 404, description = "No such node", body = crate::openapi::Error),
        (status = 409, description = "The node is locked", body = crate::openapi::Error),
    )
)]
pub async fn set_console(
    State(state): State<AppState>,
    ctx: Ctx,
    Path(ident): Path<String>,
    q: Query,
    raw: Bytes,
) -> ApiResult<Response> {
    let args = arguments(&q, &raw, &["enabled"])?;
    if !args.contains_key("enabled") {
        return Err(ApiError::missing_parameter("enabled"));
    }
    let enabled = boolean(&args, "enabled")?.unwrap_or(false);
    let node = load_node(&state, &ctx, &ident).await?;
    state
        .conductor
        .set_console_mode(&ctx.request, node.uuid, enabled)
        .await?;
    // The node as the client named it, as Ironic's Location does.
    let location = ctx.location(&format!("nodes/{ident}/states/console"));
    Ok((StatusCode::ACCEPTED, [(header::LOCATION, location)]).into_response())
}
