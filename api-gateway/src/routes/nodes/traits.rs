//! `/v1/nodes/{ident}/traits` (API 1.37): list, replace, add one, remove one or all.
//! Checked here as Ironic's schema checks them; changed by the conductor under the
//! node's lock.
//!
//! Below 1.37 Ironic has no such resource and routes these paths as it routes any
//! other word after a node: a GET shows the node with `fields=traits` (406), a PUT is
//! a method the node does not allow (405), a DELETE finds nothing (404). sanlink
//! answers the same. A malformed node identifier is refused first, at any version,
//! with the routing-level 400 of every nested node path.

use crate::wire::Json;
use axum::extract::{FromRequest, Path, Request, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde_json::{Value, json};
use utoipa::openapi::schema::{ArrayBuilder, ObjectBuilder, OneOfBuilder, Schema, Type};
use utoipa::openapi::{RefOr, schema::AdditionalProperties};
use utoipa::{PartialSchema, ToSchema};

use common::model::traits;

use super::load_node;
use crate::app::{AppState, Ctx};
use crate::error::{ApiError, ApiResult};
use crate::extract::JsonBody;
use crate::routes::volume::check_parent;

/// The microversion that introduced node traits.
const TRAITS_VERSION: u32 = 37;

fn has_traits(ctx: &Ctx) -> bool {
    ctx.version.0 >= TRAITS_VERSION
}

/// Ironic's 405 for a PUT on a node's sub-path it does not route (below 1.37).
fn method_not_allowed() -> Response {
    let mut response = ApiError::routing(StatusCode::METHOD_NOT_ALLOWED, "").into_response();
    response.headers_mut().insert(
        header::ALLOW,
        HeaderValue::from_static("DELETE, GET, PATCH, POST"),
    );
    response
}

/// Ironic's 404 for a DELETE on a node's sub-path it does not route (below 1.37).
fn resource_not_found() -> ApiError {
    ApiError::from(common::Error::not_found("Resource could not be found."))
}

/// Both forms of PUT in one body, or neither: Ironic's one message for the two.
fn one_form_only() -> ApiError {
    ApiError::bad_request(
        "A single node trait may be added via PUT /v1/nodes/<node identifier>/traits/<trait> with no body, or all node traits may be replaced via PUT /v1/nodes/<node identifier>/traits with the list of traits specified in the request body.",
    )
}

/// A JSON body that may be left out (the clients send none to add one trait).
pub struct OptionalBody(Option<Value>);

impl FromRequest<AppState> for OptionalBody {
    type Rejection = ApiError;

    async fn from_request(req: Request, state: &AppState) -> Result<OptionalBody, ApiError> {
        let headers = req.headers();
        let declared_empty = headers
            .get(header::CONTENT_LENGTH)
            .and_then(|v| v.to_str().ok())
            .is_some_and(|v| v.trim() == "0");
        let no_length = !headers.contains_key(header::CONTENT_LENGTH)
            && !headers.contains_key(header::TRANSFER_ENCODING);
        if declared_empty || no_length {
            return Ok(OptionalBody(None));
        }
        let JsonBody(value) = JsonBody::from_request(req, state).await?;
        // JSON null is no body to Ironic.
        Ok(OptionalBody(Some(value).filter(|v| !v.is_null())))
    }
}

/// The `traits` of a PUT body, checked (`None`: no body, or a body without the key).
fn body_traits(body: &OptionalBody) -> ApiResult<Option<Vec<String>>> {
    match &body.0 {
        None => Ok(None),
        Some(value) => Ok(traits::check_body(value)?),
    }
}

#[utoipa::path(
    get,
    path = "/v1/nodes/{ident}/traits",
    tag = "nodes",
    summary = "A node's traits (1.37)",
    params(("ident" = String, Path, description = "node name or UUID")),
    responses((status = 200, description = "OK", body = NodeTraits))
)]
pub async fn list_traits(
    State(state): State<AppState>,
    ctx: Ctx,
    Path(ident): Path<String>,
) -> ApiResult<Json<Value>> {
    check_parent(&ident)?;
    let node = load_node(&state, &ctx, &ident).await?;
    if !has_traits(&ctx) {
        return Err(common::Error::NotAcceptable("Request not acceptable.".into()).into());
    }
    Ok(Json(json!({ "traits": node.traits })))
}

#[utoipa::path(
    put,
    path = "/v1/nodes/{ident}/traits",
    tag = "nodes",
    summary = "Replace a node's traits (1.37)",
    params(("ident" = String, Path, description = "node name or UUID")),
    request_body = NodeTraits,
    responses((status = 204, description = "Replaced"))
)]
pub async fn set_traits(
    State(state): State<AppState>,
    ctx: Ctx,
    Path(ident): Path<String>,
    body: OptionalBody,
) -> ApiResult<Response> {
    check_parent(&ident)?;
    if !has_traits(&ctx) {
        return Ok(method_not_allowed());
    }
    let wanted = body_traits(&body)?;
    let node = load_node(&state, &ctx, &ident).await?;
    let Some(wanted) = wanted else {
        return Err(one_form_only());
    };
    state
        .conductor
        .add_node_traits(&ctx.request, node.uuid, wanted, true)
        .await?;
    Ok(StatusCode::NO_CONTENT.into_response())
}

#[utoipa::path(
    delete,
    path = "/v1/nodes/{ident}/traits",
    tag = "nodes",
    summary = "Remove every trait of a node (1.37)",
    params(("ident" = String, Path, description = "node name or UUID")),
    responses((status = 204, description = "Removed"))
)]
pub async fn remove_traits(
    State(state): State<AppState>,
    ctx: Ctx,
    Path(ident): Path<String>,
) -> ApiResult<StatusCode> {
    check_parent(&ident)?;
    if !has_traits(&ctx) {
        return Err(resource_not_found());
    }
    let node = load_node(&state, &ctx, &ident).await?;
    state
        .conductor
        .remove_node_traits(&ctx.request, node.uuid, None)
        .await?;
    Ok(StatusCode::NO_CONTENT)
}

#[utoipa::path(
    put,
    path = "/v1/nodes/{ident}/traits/{trait}",
    tag = "nodes",
    summary = "Add a trait to a node (1.37)",
    params(("ident" = String, Path, description = "node name or UUID"), ("trait" = String, Path, description = "a standard (os-traits) or CUSTOM_ trait")),
    responses((status = 204, description = "Added (or already there)", headers(("Location" = String, description = "the trait's URL"))))
)]
pub async fn add_trait(
    State(state): State<AppState>,
    ctx: Ctx,
    Path((ident, name)): Path<(String, String)>,
    body: OptionalBody,
) -> ApiResult<Response> {
    check_parent(&ident)?;
    if !has_traits(&ctx) {
        return Ok(method_not_allowed());
    }
    traits::check_one(&name)?;
    let in_body = body_traits(&body)?;
    let node = load_node(&state, &ctx, &ident).await?;
    if in_body.is_some() {
        return Err(one_form_only());
    }
    state
        .conductor
        .add_node_traits(&ctx.request, node.uuid, vec![name.clone()], false)
        .await?;
    // The trait's URL names the node as the request did.
    let location = ctx.location(&format!("nodes/{ident}/traits/{name}"));
    Ok((StatusCode::NO_CONTENT, [(header::LOCATION, location)]).into_response())
}

#[utoipa::path(
    delete,
    path = "/v1/nodes/{ident}/traits/{trait}",
    tag = "nodes",
    summary = "Remove a trait from a node (1.37)",
    params(("ident" = String, Path, description = "node name or UUID"), ("trait" = String, Path, description = "a trait of the node")),
    responses((status = 204, description = "Removed"))
)]
pub async fn remove_trait(
    State(state): State<AppState>,
    ctx: Ctx,
    Path((ident, name)): Path<(String, String)>,
) -> ApiResult<StatusCode> {
    check_parent(&ident)?;
    if !has_traits(&ctx) {
        return Err(resource_not_found());
    }
    let node = load_node(&state, &ctx, &ident).await?;
    state
        .conductor
        .remove_node_traits(&ctx.request, node.uuid, Some(vec![name]))
        .await?;
    Ok(StatusCode::NO_CONTENT)
}

/// A trait name as the server accepts it: `CUSTOM_` and upper-case letters, digits and
/// underscores, or one of the standard names of os-traits.
pub fn trait_schema() -> Schema {
    let custom = ObjectBuilder::new()
        .schema_type(Type::String)
        .pattern(Some("^CUSTOM_[A-Z0-9_]+$"))
        .max_length(Some(traits::MAX_LEN));
    let standard = ObjectBuilder::new()
        .schema_type(Type::String)
        .enum_values(Some(traits::standard_names()));
    Schema::OneOf(OneOfBuilder::new().item(custom).item(standard).build())
}

/// `{"traits": [...]}`: a node's traits, or the set that is to replace them (at most 50
/// once duplicates are dropped).
pub struct NodeTraits;

impl PartialSchema for NodeTraits {
    fn schema() -> RefOr<Schema> {
        let list = ArrayBuilder::new()
            .items(RefOr::T(trait_schema()))
            .max_items(Some(traits::MAX_PER_NODE));
        ObjectBuilder::new()
            .property("traits", list)
            .required("traits")
            .additional_properties(Some(AdditionalProperties::FreeForm(false)))
            .into()
    }
}

impl ToSchema for NodeTraits {}
