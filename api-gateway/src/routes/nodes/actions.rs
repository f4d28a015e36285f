//! Node sub-resources that act rather than store: states, power, provisioning,
//! maintenance, validation and VIFs. Actions answer 202 once the conductor took them.

use crate::wire::Json;
use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde_json::{Map, Value, json};

use common::db::ports;
use common::model::states::{PowerState, PowerTarget, ProvisionVerb};

use super::body::states_json;
use super::{load_node, not_acceptable};
use crate::app::{AppState, Ctx};
use crate::error::{ApiError, ApiResult};
use crate::extract::{JsonBody, Query};

/// 202, empty body, `Location` pointing at the node's states.
fn accepted(ctx: &Ctx, uuid: &str) -> Response {
    (
        StatusCode::ACCEPTED,
        [(
            header::LOCATION,
            ctx.location(&format!("nodes/{uuid}/states")),
        )],
    )
        .into_response()
}

/// An object body with no keys outside `allowed`.
fn action_body(body: JsonBody, allowed: &[&str]) -> ApiResult<Map<String, Value>> {
    let obj = body.object()?;
    if let Some(key) = obj.keys().find(|k| !allowed.contains(&k.as_str())) {
        return Err(ApiError::bad_request(format!(
            "Additional properties are not allowed ('{key}' was unexpected)"
        )));
    }
    Ok(obj)
}

fn target_of(obj: &Map<String, Value>) -> ApiResult<String> {
    match obj.get("target") {
        Some(Value::String(t)) => Ok(t.clone()),
        Some(other) => Err(ApiError::bad_request(format!(
            "Invalid input for field/attribute target. Value: {}. {} is not of type 'string'",
            common::schema::py_repr(other),
            common::schema::py_repr(other)
        ))),
        None => Err(ApiError::bad_request("'target' is a required property")),
    }
}

#[utoipa::path(
    get,
    path = "/v1/nodes/{ident}/states",
    tag = "nodes",
    summary = "A node's power and provision states",
    params(("ident" = String, Path, description = "node name or UUID")),
    responses((status = 200, description = "OK", body = Object))
)]
pub async fn states(
    State(state): State<AppState>,
    ctx: Ctx,
    Path(ident): Path<String>,
) -> ApiResult<Json<Value>> {
    let node = load_node(&state, &ctx, &ident).await?;
    Ok(Json(states_json(&ctx, &node)))
}

/// Soft power actions and timeouts came with 1.27.
const SOFT_POWER: u32 = 27;

fn power_timeout(obj: &Map<String, Value>, ctx: &Ctx) -> ApiResult<Option<u64>> {
    let Some(raw) = obj.get("timeout").filter(|v| !v.is_null()) else {
        return Ok(None);
    };
    if ctx.version.0 < SOFT_POWER {
        return Err(not_acceptable("A power timeout needs API version 1.27."));
    }
    match raw.as_u64() {
        Some(t) if t >= 1 && !raw.is_boolean() => Ok(Some(t)),
        _ => Err(ApiError::bad_request(format!(
            "Invalid timeout value {raw}. The timeout must be a positive integer."
        ))),
    }
}

#[utoipa::path(
    put,
    path = "/v1/nodes/{ident}/states/power",
    tag = "nodes",
    summary = "Change a node's power state",
    params(("ident" = String, Path, description = "node name or UUID")),
    request_body = crate::openapi::PowerTarget,
    responses((status = 202, description = "Accepted"))
)]
pub async fn power(
    State(state): State<AppState>,
    ctx: Ctx,
    Path(ident): Path<String>,
    body: JsonBody,
) -> ApiResult<Response> {
    let obj = action_body(body, &["target", "timeout"])?;
    let target = target_of(&obj)?;
    let timeout = power_timeout(&obj, &ctx)?;
    let node = load_node(&state, &ctx, &ident).await?;
    let Ok(target) = target.parse::<PowerTarget>() else {
        let current = node.power_state.map(PowerState::as_str);
        return Err(common::Error::invalid_state(&target, &node.uuid, current).into());
    };
    if target.is_soft() && ctx.version.0 < SOFT_POWER {
        return Err(not_acceptable("Soft power actions need API version 1.27."));
    }
    state
        .conductor
        .change_node_power_state(&ctx.request, node.uuid.clone(), target, timeout)
        .await?;
    Ok(accepted(&ctx, &node.uuid))
}

/// The minor version that introduced a provision verb.
pub fn since(verb: ProvisionVerb) -> u32 {
    match verb {
        ProvisionVerb::Active | ProvisionVerb::Deleted | ProvisionVerb::Rebuild => 1,
        ProvisionVerb::Manage | ProvisionVerb::Provide => 4,
        ProvisionVerb::Inspect => 6,
        ProvisionVerb::Abort => 13,
        ProvisionVerb::Clean => 15,
        ProvisionVerb::Adopt => 17,
        ProvisionVerb::Rescue | ProvisionVerb::Unrescue => 38,
        ProvisionVerb::Deploy | ProvisionVerb::Undeploy => 73,
    }
}

/// A verb newer than the request is refused with Ironic's bare text, which names
/// neither the verb nor the version (the log does).
fn check_verb(verb: ProvisionVerb, ctx: &Ctx) -> ApiResult<()> {
    let since = since(verb);
    if ctx.version.0 < since {
        tracing::debug!(%verb, since, "provision verb newer than the request's version");
        return Err(common::Error::NotAcceptable("Request not acceptable.".into()).into());
    }
    Ok(())
}

fn check_configdrive(verb: ProvisionVerb, configdrive: Option<&Value>) -> ApiResult<()> {
    let Some(cd) = configdrive.filter(|v| !v.is_null()) else {
        return Ok(());
    };
    if !matches!(verb, ProvisionVerb::Active | ProvisionVerb::Rebuild) {
        return Err(ApiError::bad_request(
            "Adding a config drive is only supported when setting provision state to active or rebuild",
        ));
    }
    if !(cd.is_string() || cd.is_object()) {
        return Err(ApiError::bad_request(
            "Invalid input for field/attribute configdrive: it must be a string or an object.",
        ));
    }
    Ok(())
}

fn check_clean_steps(verb: ProvisionVerb, steps: Option<&Value>) -> ApiResult<()> {
    match (verb, steps) {
        (ProvisionVerb::Clean, Some(Value::Array(items))) if items.iter().all(Value::is_object) => {
            Ok(())
        }
        (ProvisionVerb::Clean, Some(_)) => Err(ApiError::bad_request(
            "Invalid input for field/attribute clean_steps: it must be a list of objects.",
        )),
        (ProvisionVerb::Clean, None) => Err(ApiError::bad_request(
            "\"clean_steps\" is required when setting target provision state to clean",
        )),
        (_, Some(_)) => Err(ApiError::bad_request(
            "\"clean_steps\" is only valid when setting target provision state to clean",
        )),
        (_, None) => Ok(()),
    }
}

#[utoipa::path(
    put,
    path = "/v1/nodes/{ident}/states/provision",
    tag = "nodes",
    summary = "Change a node's provision state",
    params(("ident" = String, Path, description = "node name or UUID")),
    request_body = crate::openapi::ProvisionTarget,
    responses((status = 202, description = "Accepted"))
)]
pub async fn provision(
    State(state): State<AppState>,
    ctx: Ctx,
    Path(ident): Path<String>,
    body: JsonBody,
) -> ApiResult<Response> {
    let obj = action_body(
        body,
        &["target", "configdrive", "clean_steps", "rescue_password"],
    )?;
    let target = target_of(&obj)?;
    let rescue_password = rescue_password_of(&obj)?;
    let Ok(verb) = target.parse::<ProvisionVerb>() else {
        // Ironic answers an unknown target as a state the node cannot take from here.
        let node = load_node(&state, &ctx, &ident).await?;
        let current = Some(node.provision_state.as_str());
        return Err(common::Error::invalid_state(&target, &node.uuid, current).into());
    };
    check_verb(verb, &ctx)?;
    check_configdrive(verb, obj.get("configdrive"))?;
    check_clean_steps(verb, obj.get("clean_steps"))?;
    let node = load_node(&state, &ctx, &ident).await?;
    let configdrive = obj.get("configdrive").filter(|v| !v.is_null()).cloned();
    // The rescue verbs, and a password sent with another verb (refused once the verb is
    // known to be allowed from the node's state, as Ironic orders its checks).
    if matches!(verb, ProvisionVerb::Rescue | ProvisionVerb::Unrescue) || rescue_password.is_some()
    {
        state
            .conductor
            .do_node_rescue(&ctx.request, node.uuid.clone(), verb, rescue_password)
            .await?;
        return Ok(accepted(&ctx, &node.uuid));
    }
    state
        .conductor
        .do_provisioning_action(&ctx.request, node.uuid.clone(), verb, configdrive)
        .await?;
    Ok(accepted(&ctx, &node.uuid))
}

/// `rescue_password` must be a string when given (null counts as absent).
fn rescue_password_of(obj: &Map<String, Value>) -> ApiResult<Option<String>> {
    match obj.get("rescue_password") {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(p)) => Ok(Some(p.clone())),
        Some(other) => Err(ApiError::bad_request(format!(
            "Expected string for rescue_password: {}",
            common::schema::py_repr(other)
        ))),
    }
}

/// The reason may come in the body (`{"reason": ...}`) or the query string.
fn maintenance_reason(q: &Query, raw: &Bytes) -> ApiResult<Option<String>> {
    if raw.iter().all(u8::is_ascii_whitespace) {
        return Ok(q.get("reason").map(str::to_string));
    }
    let value: Value = serde_json::from_slice(raw)
        .map_err(|e| ApiError::bad_request(format!("The request body is not valid JSON: {e}")))?;
    let obj = action_body(JsonBody(value), &["reason"])?;
    match obj.get("reason") {
        None | Some(Value::Null) => Ok(q.get("reason").map(str::to_string)),
        Some(Value::String(r)) => Ok(Some(r.clone())),
        Some(other) => Err(ApiError::bad_request(format!(
            "Invalid input for field/attribute reason. Value: {other}. It must be a string."
        ))),
    }
}

#[utoipa::path(
    put,
    path = "/v1/nodes/{ident}/maintenance",
    tag = "nodes",
    summary = "Put a node in maintenance",
    params(("ident" = String, Path, description = "node name or UUID"), ("reason" = Option<String>, Query, description = "why")),
    request_body = Option<crate::openapi::MaintenanceBody>,
    responses((status = 202, description = "Accepted"))
)]
pub async fn maintenance_on(
    State(state): State<AppState>,
    ctx: Ctx,
    Path(ident): Path<String>,
    q: Query,
    raw: Bytes,
) -> ApiResult<StatusCode> {
    q.only(&["reason"])?;
    let reason = maintenance_reason(&q, &raw)?;
    let node = load_node(&state, &ctx, &ident).await?;
    state
        .conductor
        .set_maintenance(&ctx.request, node.uuid, true, reason)
        .await?;
    Ok(StatusCode::ACCEPTED)
}

#[utoipa::path(
    delete,
    path = "/v1/nodes/{ident}/maintenance",
    tag = "nodes",
    summary = "Take a node out of maintenance",
    params(("ident" = String, Path, description = "node name or UUID")),
    responses((status = 202, description = "Accepted"))
)]
pub async fn maintenance_off(
    State(state): State<AppState>,
    ctx: Ctx,
    Path(ident): Path<String>,
) -> ApiResult<StatusCode> {
    let node = load_node(&state, &ctx, &ident).await?;
    state
        .conductor
        .set_maintenance(&ctx.request, node.uuid, false, None)
        .await?;
    Ok(StatusCode::ACCEPTED)
}

#[utoipa::path(
    get,
    path = "/v1/nodes/{ident}/validate",
    tag = "nodes",
    summary = "Validate a node's interfaces",
    params(("ident" = String, Path, description = "node name or UUID")),
    responses((status = 200, description = "OK", body = Object))
)]
pub async fn validate(
    State(state): State<AppState>,
    ctx: Ctx,
    Path(ident): Path<String>,
) -> ApiResult<Json<Value>> {
    let node = load_node(&state, &ctx, &ident).await?;
    let results = state
        .conductor
        .validate_driver_interfaces(&ctx.request, node.uuid)
        .await?;
    let doc: Map<String, Value> = results
        .into_iter()
        .map(|(kind, v)| {
            let mut entry = json!({ "result": v.result });
            if let Some(reason) = v.reason {
                entry["reason"] = Value::String(reason);
            }
            (kind, entry)
        })
        .collect();
    Ok(Json(Value::Object(doc)))
}

/// The VIF sub-resource exists from 1.28.
fn require_vifs(ctx: &Ctx) -> ApiResult<()> {
    if ctx.version.0 >= 28 {
        Ok(())
    } else {
        Err(ApiError::not_found_path())
    }
}

/// Longest VIF id accepted (Neutron port ids are UUIDs; names are bounded the same way).
pub const VIF_MAX: usize = 255;

fn check_vif(vif: &str) -> ApiResult<()> {
    if vif.is_empty() {
        return Err(ApiError::bad_request("The VIF id must not be empty."));
    }
    Ok(common::schema::check_len("id", vif, VIF_MAX)?)
}

#[utoipa::path(
    get,
    path = "/v1/nodes/{ident}/vifs",
    tag = "nodes",
    summary = "List a node's VIFs (1.28)",
    params(("ident" = String, Path, description = "node name or UUID")),
    responses((status = 200, description = "OK", body = crate::openapi::VifList))
)]
pub async fn list_vifs(
    State(state): State<AppState>,
    ctx: Ctx,
    Path(ident): Path<String>,
) -> ApiResult<Json<Value>> {
    require_vifs(&ctx)?;
    let node = load_node(&state, &ctx, &ident).await?;
    if !node.binds_vifs() {
        return Ok(Json(json!({ "vifs": [] })));
    }
    let bound = state
        .db
        .run(move |conn| ports::list_for_node(conn, node.id))
        .await?;
    let vifs: Vec<Value> = bound
        .iter()
        .filter_map(|p| p.vif())
        .map(|vif| json!({ "id": vif }))
        .collect();
    Ok(Json(json!({ "vifs": vifs })))
}

#[utoipa::path(
    post,
    path = "/v1/nodes/{ident}/vifs",
    tag = "nodes",
    summary = "Attach a VIF",
    params(("ident" = String, Path, description = "node name or UUID")),
    request_body = crate::openapi::Vif,
    responses((status = 204, description = "Attached"))
)]
pub async fn attach_vif(
    State(state): State<AppState>,
    ctx: Ctx,
    Path(ident): Path<String>,
    body: JsonBody,
) -> ApiResult<StatusCode> {
    require_vifs(&ctx)?;
    let obj = body.object_for("vif")?;
    let vif = match obj.get("id") {
        Some(Value::String(id)) => id.clone(),
        Some(other) => {
            return Err(common::schema::schema_error(
                "vif",
                format!("{} is not of type 'string'", common::schema::py_repr(other)),
            )
            .into());
        }
        None => {
            return Err(common::schema::schema_error("vif", "'id' is a required property").into());
        }
    };
    check_vif(&vif)?;
    let node = load_node(&state, &ctx, &ident).await?;
    state
        .conductor
        .vif_attach(&ctx.request, node.uuid, vif)
        .await?;
    Ok(StatusCode::NO_CONTENT)
}

#[utoipa::path(
    delete,
    path = "/v1/nodes/{ident}/vifs/{vif}",
    tag = "nodes",
    summary = "Detach a VIF",
    params(("ident" = String, Path, description = "node name or UUID"), ("vif" = String, Path, description = "VIF id")),
    responses((status = 204, description = "Detached"))
)]
pub async fn detach_vif(
    State(state): State<AppState>,
    ctx: Ctx,
    Path((ident, vif)): Path<(String, String)>,
) -> ApiResult<StatusCode> {
    require_vifs(&ctx)?;
    check_vif(&vif)?;
    let node = load_node(&state, &ctx, &ident).await?;
    state
        .conductor
        .vif_detach(&ctx.request, node.uuid, vif)
        .await?;
    Ok(StatusCode::NO_CONTENT)
}
