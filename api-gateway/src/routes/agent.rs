//! The ironic-python-agent's endpoints (1.22): lookup and heartbeat.
//!
//! No sanlink deploy boots the agent, so no node ever waits for one and no agent token
//! is ever issued: a lookup finds no node and every heartbeat is refused, with Ironic's
//! status and text at each step of its checks. Nothing is changed by either, so the
//! gateway answers them without a conductor.

use axum::extract::{Path, State};
use serde_json::Value;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use common::model::port::normalize_mac;

use crate::app::{AppState, Ctx};
use crate::error::{ApiError, ApiResult};
use crate::extract::{JsonBody, Query};
use crate::routes::nodes::load_node;

/// The agent API came with 1.22.
const SINCE: u32 = 22;
/// `agent_version` in a heartbeat came with 1.36.
const AGENT_VERSION_SINCE: u32 = 36;

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(lookup))
        .routes(routes!(heartbeat))
}

/// Ironic's answer for a node it will not hand to an agent, and for the agent API
/// below 1.22.
fn not_found() -> ApiError {
    common::Error::not_found("Resource could not be found.").into()
}

#[utoipa::path(
    get,
    path = "/v1/lookup",
    tag = "agent",
    summary = "Find the node an agent runs on (1.22): no node waits for an agent",
    params(
        ("addresses" = Option<String>, Query, description = "comma-separated MAC addresses"),
        ("node_uuid" = Option<String>, Query, description = "the node's UUID"),
    ),
    responses((status = 404, description = "No node waits for an agent"))
)]
async fn lookup(ctx: Ctx, q: Query) -> ApiResult<()> {
    if ctx.version.0 < SINCE {
        return Err(not_found());
    }
    q.only(&["addresses", "node_uuid"])?;
    let node_uuid = q.get("node_uuid");
    if let Some(uuid) = node_uuid
        && common::model::canonical_uuid(uuid).is_none()
    {
        return Err(ApiError::bad_request(format!(
            "Expected UUID for node_uuid: {uuid}"
        )));
    }
    // Ironic drops the addresses that are not MACs before asking for one of the two.
    let macs = q
        .get("addresses")
        .map(|a| a.split(',').filter_map(normalize_mac).count())
        .unwrap_or(0);
    if macs == 0 && node_uuid.is_none() {
        return Err(ApiError::bad_request(
            "At least one of 'addresses' and 'node_uuid' parameters is required",
        ));
    }
    Err(not_found())
}

#[utoipa::path(
    post,
    path = "/v1/heartbeat/{ident}",
    tag = "agent",
    summary = "An agent's heartbeat (1.22): refused, no agent token is ever issued",
    params(("ident" = String, Path, description = "node name or UUID")),
    request_body = Object,
    responses((status = 400, description = "Refused in Ironic's words"))
)]
async fn heartbeat(
    State(state): State<AppState>,
    ctx: Ctx,
    Path(ident): Path<String>,
    body: JsonBody,
) -> ApiResult<()> {
    if ctx.version.0 < SINCE {
        return Err(not_found());
    }
    let empty = serde_json::Map::new();
    let args = body.0.as_object().unwrap_or(&empty);
    check_arguments(args, ctx.version.0)?;
    match args.get("callback_url") {
        None => return Err(ApiError::missing_parameter("callback_url")),
        Some(Value::String(_)) => {}
        Some(other) => {
            return Err(ApiError::bad_request(format!(
                "Expected string for callback_url: {other}"
            )));
        }
    }
    load_node(&state, &ctx, &ident).await?;
    if !args.contains_key("agent_token") {
        return Err(ApiError::bad_request(
            "Agent token is required for heartbeat processing.",
        ));
    }
    if !args.contains_key("agent_version") {
        return Err(ApiError::bad_request(
            "Agent did not transmit a version, and a version is required. Please update the agent being used.",
        ));
    }
    Err(ApiError::bad_request(
        "Invalid or missing agent token received.",
    ))
}

/// The heartbeat's arguments Ironic knows at `version`; any other is refused.
fn check_arguments(args: &serde_json::Map<String, Value>, version: u32) -> ApiResult<()> {
    if args.contains_key("agent_version") && version < AGENT_VERSION_SINCE {
        return Err(ApiError::bad_request(
            "Field \"agent_version\" not recognised",
        ));
    }
    let known = ["callback_url", "agent_token", "agent_version"];
    let unexpected: Vec<&str> = args
        .keys()
        .map(String::as_str)
        .filter(|k| !known.contains(k))
        .collect();
    if unexpected.is_empty() {
        return Ok(());
    }
    Err(ApiError::bad_request(format!(
        "Unexpected arguments: {}",
        unexpected.join(", ")
    )))
}
