//! Discovery documents: `GET /` and `GET /v1`.

use crate::wire::Json;
use serde_json::{Value, json};

use crate::app::Ctx;
use crate::version::{self, MAX, MIN};

fn version_object(ctx: &Ctx) -> Value {
    json!({
        "id": "v1",
        "status": "CURRENT",
        "min_version": MIN.to_string(),
        "version": MAX.to_string(),
        "links": [{"href": format!("{}/v1/", ctx.base_url), "rel": "self"}],
    })
}

/// Ironic answers every method on `/` with this document; the ones clients may send
/// are declared.
#[utoipa::path(
    method(get, put, post, delete, patch, trace),
    path = "/",
    tag = "discovery",
    summary = "API versions",
    responses((status = 200, description = "OK", body = Object))
)]
pub async fn root(ctx: Ctx) -> Json<Value> {
    let v = version_object(&ctx);
    Json(json!({
        "name": "OpenStack Ironic API",
        "description": "sanlink: bare-metal boot-from-volume, compatible with the Ironic API v1.",
        "default_version": v,
        "versions": [v],
    }))
}

#[utoipa::path(
    get,
    path = "/v1",
    tag = "discovery",
    summary = "The v1 API's resources",
    responses((status = 200, description = "OK", body = Object))
)]
pub async fn v1(ctx: Ctx) -> Json<Value> {
    let base = &ctx.base_url;
    let mut doc = json!({
        "id": "v1",
        "links": [
            {"href": format!("{base}/v1/"), "rel": "self"},
            {"href": "https://docs.openstack.org//ironic/latest/contributor//webapi.html",
             "rel": "describedby", "type": "text/html"},
        ],
        "media_types": {"base": "application/json", "type": "application/vnd.openstack.ironic.v1+json"},
        "chassis": ctx.links("chassis/"),
        "nodes": ctx.links("nodes/"),
        "ports": ctx.links("ports/"),
        "drivers": ctx.links("drivers/"),
        "version": version_object(&ctx),
    });
    let gated = [
        (22, "lookup", "lookup/"),
        (22, "heartbeat", "heartbeat/"),
        (23, "portgroups", "portgroups/"),
        (version::VOLUME.0, "volume", "volume/"),
    ];
    for (since, key, path) in gated {
        if ctx.version.0 >= since {
            doc[key] = ctx.links(path);
        }
    }
    Json(doc)
}

/// Any other method on `/v1`: a 405 that Ironic words as a fault.
pub async fn v1_other_method() -> crate::error::ApiError {
    crate::error::ApiError::new(
        axum::http::StatusCode::METHOD_NOT_ALLOWED,
        "The server could not comply with the request since it is either malformed or otherwise incorrect.",
    )
}
