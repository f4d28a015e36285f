//! The drivers API: the hardware types the live conductors offer, their interfaces,
//! properties, RAID logical disk properties and vendor methods. Everything is read from
//! [`common::hardware`], the table node creation and validation use, and from the
//! `conductors` table; nothing goes to a conductor.

use crate::wire::Json;
use axum::extract::{Path, State};
use serde_json::{Map, Value, json};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use common::db::conductors;
use common::hardware::{self, INTERFACES};
use common::model::now;

use crate::app::{AppState, Ctx};
use crate::error::{ApiError, ApiResult};
use crate::extract::Query;
use crate::listing::parse_bool;

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(list_drivers))
        .routes(routes!(show_driver))
        .routes(routes!(driver_properties))
        .routes(routes!(logical_disk_properties))
        .routes(routes!(driver_vendor_methods))
        .routes(routes!(driver_passthru))
        // The method named in the path, as python-ironicclient sends it; undocumented for
        // the reason given at the node's vendor passthru routes.
        .route(
            "/v1/drivers/{name}/vendor_passthru/{method}",
            axum::routing::post(driver_passthru_at),
        )
}

/// `type` and `detail` came with dynamic drivers (1.30); the `properties` links with
/// 1.14; RAID with 1.12.
const DYNAMIC_DRIVERS: u32 = 30;
const PROPERTIES_LINKS: u32 = 14;
const RAID: u32 = 12;

/// The interface types newer than the dynamic drivers, and the version each appears at.
fn interface_since(kind: &str) -> u32 {
    match kind {
        "storage" => 33,
        "rescue" => 38,
        "bios" => 40,
        _ => DYNAMIC_DRIVERS,
    }
}

fn not_acceptable_before(minor: u32) -> ApiError {
    ApiError::from(common::Error::NotAcceptable(format!(
        "Request not acceptable. The minimal required API version should be 1.{minor}"
    )))
}

/// `fields` on drivers came with 1.77, which sanlink does not serve.
fn refuse_fields(q: &Query) -> ApiResult<()> {
    if q.get("fields").is_some() {
        return Err(ApiError::from(common::Error::NotAcceptable(
            "Request not acceptable.".into(),
        )));
    }
    Ok(())
}

/// Hardware type name → hostnames of the live conductors that offer it (Ironic's
/// `get_active_hardware_type_dict`): online, heartbeat within the timeout.
async fn active_hardware_types(state: &AppState) -> ApiResult<Vec<(String, Vec<String>)>> {
    let timeout = chrono::Duration::from_std(state.settings.heartbeat_timeout)
        .unwrap_or(chrono::Duration::seconds(60));
    let rows = state.db.run(conductors::list).await?;
    let since = now() - timeout;
    let live: Vec<(String, Vec<String>)> = rows
        .into_iter()
        .filter(|c| c.online && c.updated_at >= since)
        .map(|c| {
            let drivers = c
                .drivers
                .as_deref()
                .and_then(|d| serde_json::from_str::<Vec<String>>(d).ok())
                .unwrap_or_default();
            (c.hostname, drivers)
        })
        .collect();
    Ok(hardware::HARDWARE_TYPES
        .iter()
        .map(|name| {
            let hosts: Vec<String> = live
                .iter()
                .filter(|(_, drivers)| drivers.iter().any(|d| d == name))
                .map(|(host, _)| host.clone())
                .collect();
            (name.to_string(), hosts)
        })
        .filter(|(_, hosts)| !hosts.is_empty())
        .collect())
}

/// The hosts of a hardware type a live conductor offers, or None.
async fn hosts_of(state: &AppState, name: &str) -> ApiResult<Option<Vec<String>>> {
    Ok(active_hardware_types(state)
        .await?
        .into_iter()
        .find(|(n, _)| n == name)
        .map(|(_, hosts)| hosts))
}

/// 404 for a hardware type no live conductor offers (DriverNotFound).
async fn require_driver(state: &AppState, name: &str) -> ApiResult<Vec<String>> {
    hosts_of(state, name).await?.ok_or_else(|| {
        ApiError::from(common::Error::not_found(format!(
            "The driver '{name}' is unknown."
        )))
    })
}

fn driver_json(ctx: &Ctx, name: &str, hosts: Vec<String>, detail: bool) -> Map<String, Value> {
    let mut doc = Map::new();
    doc.insert("name".into(), json!(name));
    doc.insert("hosts".into(), json!(hosts));
    doc.insert("links".into(), ctx.links(&format!("drivers/{name}")));
    let version = ctx.version.0;
    if version >= PROPERTIES_LINKS {
        let path = format!("drivers/{name}/properties");
        doc.insert("properties".into(), ctx.links(&path));
    }
    if version < DYNAMIC_DRIVERS {
        return doc;
    }
    doc.insert("type".into(), json!("dynamic"));
    if detail {
        for kind in INTERFACES.iter().filter(|k| version >= interface_since(k)) {
            let default = hardware::default_interface(name, kind);
            let enabled = hardware::supported(name, kind).unwrap_or_default();
            doc.insert(format!("default_{kind}_interface"), json!(default));
            doc.insert(format!("enabled_{kind}_interfaces"), json!(enabled));
        }
    }
    doc
}

#[utoipa::path(
    get,
    path = "/v1/drivers",
    tag = "drivers",
    summary = "List the hardware types the live conductors offer",
    params(
        ("type" = Option<String>, Query, description = "`classic` or `dynamic` (1.30)"),
        ("detail" = Option<bool>, Query, description = "show the interfaces (1.30)"),
    ),
    responses((status = 200, description = "OK", body = DriverList))
)]
pub async fn list_drivers(
    State(state): State<AppState>,
    ctx: Ctx,
    q: Query,
) -> ApiResult<Json<Value>> {
    q.only(&["type", "detail", "fields"])?;
    refuse_fields(&q)?;
    let detail = q
        .get("detail")
        .map(|d| parse_bool("detail", d))
        .transpose()?;
    let kind = q.get("type");
    if (detail.is_some() || kind.is_some()) && ctx.version.0 < DYNAMIC_DRIVERS {
        return Err(not_acceptable_before(DYNAMIC_DRIVERS));
    }
    let drivers: Vec<Value> = match kind {
        None | Some("dynamic") => active_hardware_types(&state)
            .await?
            .into_iter()
            .map(|(name, hosts)| {
                Value::Object(driver_json(&ctx, &name, hosts, detail.unwrap_or(false)))
            })
            .collect(),
        // Ironic 39 has no classic drivers left: the filter always answers empty.
        Some("classic") => Vec::new(),
        Some(_) => {
            return Err(ApiError::bad_request(
                "\"type\" filter must be one of \"classic\" or \"dynamic\", if specified.",
            ));
        }
    };
    Ok(Json(json!({ "drivers": drivers })))
}

#[utoipa::path(
    get,
    path = "/v1/drivers/{name}",
    tag = "drivers",
    summary = "Show a hardware type with its interfaces (1.30)",
    params(("name" = String, Path, description = "hardware type")),
    responses((status = 200, description = "OK", body = Driver))
)]
pub async fn show_driver(
    State(state): State<AppState>,
    ctx: Ctx,
    Path(name): Path<String>,
    q: Query,
) -> ApiResult<Json<Value>> {
    q.only(&["fields"])?;
    refuse_fields(&q)?;
    let hosts = hosts_of(&state, &name).await?.ok_or_else(|| {
        ApiError::from(common::Error::not_found(format!(
            "Could not find the following driver(s) or hardware type(s): {name}."
        )))
    })?;
    Ok(Json(Value::Object(driver_json(&ctx, &name, hosts, true))))
}

#[utoipa::path(
    get,
    path = "/v1/drivers/{name}/properties",
    tag = "drivers",
    summary = "The driver_info properties of a hardware type's default interfaces",
    params(("name" = String, Path, description = "hardware type")),
    responses((status = 200, description = "OK", body = Object))
)]
pub async fn driver_properties(
    State(state): State<AppState>,
    Path(name): Path<String>,
    q: Query,
) -> ApiResult<Json<Value>> {
    q.only(&[])?;
    require_driver(&state, &name).await?;
    let props = hardware::properties(&name).unwrap_or_default();
    Ok(Json(Value::Object(props)))
}

#[utoipa::path(
    get,
    path = "/v1/drivers/{name}/raid/logical_disk_properties",
    tag = "drivers",
    summary = "The properties a logical disk of a target RAID configuration may have (1.12)",
    params(("name" = String, Path, description = "hardware type")),
    responses((status = 200, description = "OK", body = Object))
)]
pub async fn logical_disk_properties(
    State(state): State<AppState>,
    ctx: Ctx,
    Path(name): Path<String>,
    q: Query,
) -> ApiResult<Json<Value>> {
    q.only(&[])?;
    if ctx.version.0 < RAID {
        return Err(ApiError::from(common::Error::NotAcceptable(
            "Request not acceptable.".into(),
        )));
    }
    require_driver(&state, &name).await?;
    Ok(Json(Value::Object(
        hardware::logical_disk_properties().clone(),
    )))
}

#[utoipa::path(
    get,
    path = "/v1/drivers/{name}/vendor_passthru/methods",
    tag = "drivers",
    summary = "A hardware type's driver-level vendor methods (none in sanlink)",
    params(("name" = String, Path, description = "hardware type")),
    responses((status = 200, description = "OK", body = Object))
)]
pub async fn driver_vendor_methods(
    State(state): State<AppState>,
    Path(name): Path<String>,
    q: Query,
) -> ApiResult<Json<Value>> {
    q.only(&[])?;
    require_driver(&state, &name).await?;
    Ok(Json(json!({})))
}

#[utoipa::path(
    post,
    path = "/v1/drivers/{name}/vendor_passthru",
    tag = "drivers",
    summary = "Call a driver-level vendor method (none exists: always refused)",
    params(
        ("name" = String, Path, description = "hardware type"),
        ("method" = String, Query, description = "vendor method"),
    ),
    request_body = Option<Object>,
    responses((status = 400, description = "No such method", body = crate::openapi::Error))
)]
pub async fn driver_passthru(
    State(state): State<AppState>,
    Path(name): Path<String>,
    q: Query,
) -> ApiResult<Json<Value>> {
    q.only(&["method"])?;
    let method = q
        .get("method")
        .filter(|m| !m.is_empty())
        .ok_or_else(|| ApiError::missing_parameter("method"))?
        .to_string();
    no_driver_method(&state, &name, &method).await
}

/// `/v1/drivers/{name}/vendor_passthru/{method}`: as [`driver_passthru`].
pub async fn driver_passthru_at(
    State(state): State<AppState>,
    Path((name, method)): Path<(String, String)>,
    q: Query,
) -> ApiResult<Json<Value>> {
    q.only(&[])?;
    no_driver_method(&state, &name, &method).await
}

/// No vendor interface sanlink offers has driver-level methods. (Ironic's API fails on
/// such a call with a 500; its conductor would answer this.)
async fn no_driver_method(state: &AppState, name: &str, method: &str) -> ApiResult<Json<Value>> {
    require_driver(state, name).await?;
    Err(ApiError::bad_request(format!(
        "No handler for method {method}"
    )))
}

/// One hardware type, as `GET /v1/drivers/{name}` shows it at 1.46.
#[derive(utoipa::ToSchema)]
#[allow(dead_code)]
pub struct Driver {
    name: String,
    hosts: Vec<String>,
    #[schema(value_type = Vec<Object>)]
    links: Vec<Value>,
    #[schema(value_type = Vec<Object>)]
    properties: Vec<Value>,
    #[schema(rename = "type")]
    kind: String,
}

#[derive(utoipa::ToSchema)]
#[allow(dead_code)]
pub struct DriverList {
    drivers: Vec<Driver>,
}
