//! The node API subset (spec: node-subset.md): reads come from the database, every
//! change is a conductor RPC.

pub(crate) mod actions;
mod body;
mod hardware;
mod management;
pub(crate) mod traits;

use crate::wire::Json;
use axum::extract::{Path, State};
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde_json::{Map, Value, json};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use common::db::nodes;
use common::model::node::{self, INTERFACES, Node, is_valid_name};
use common::model::states::ProvisionState;
use common::model::{canonical_uuid, new_uuid, now};
use common::schema::{self, Kind, field};

use crate::app::{AppState, Ctx};
use crate::error::{ApiError, ApiResult};
use crate::extract::{JsonBody, Query};
use crate::listing::{Collection, ListParams, QueryWording, parse_bool, parse_fields};
use crate::version::Version;

pub use body::{check_allowed_fields, field_allowed, node_json};

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(list_nodes, create_node, nodes_without_ident))
        .routes(routes!(list_nodes_detail))
        .routes(routes!(show_node, update_node, delete_node, post_to_node))
        .routes(routes!(actions::states))
        .routes(routes!(actions::power))
        .routes(routes!(actions::provision))
        .routes(routes!(actions::maintenance_on, actions::maintenance_off))
        .routes(routes!(actions::validate))
        .routes(routes!(actions::list_vifs, actions::attach_vif))
        .routes(routes!(actions::detach_vif))
        .routes(routes!(
            traits::list_traits,
            traits::set_traits,
            traits::remove_traits
        ))
        .routes(routes!(traits::add_trait, traits::remove_trait))
        .merge(management::router())
        .merge(hardware::router())
}

/// Node lists without `detail` show these fields (in Ironic's order, which its `next`
/// links show).
const DEFAULT_FIELDS: [&str; 6] = [
    "instance_uuid",
    "maintenance",
    "power_state",
    "provision_state",
    "uuid",
    "name",
];

pub const NODES: Collection = Collection {
    wording: QueryWording::Node,
    path: "nodes",
    key: "nodes",
    fields: &body::FIELDS,
    default_fields: &DEFAULT_FIELDS,
    sort_keys: &nodes::SORT_KEYS,
};

const NODES_DETAIL: Collection = Collection {
    path: "nodes/detail",
    ..NODES
};

/// The create body: every field a client may set on a new node.
pub fn create_fields() -> Vec<schema::Field> {
    let mut fields = vec![
        field("uuid", Kind::Uuid, false, true),
        field("name", Kind::Str(255), false, true),
        field("driver", Kind::Str(255), true, false),
        field("driver_info", Kind::Object, false, true).secret(),
        field("extra", Kind::Object, false, true),
        field("properties", Kind::Object, false, true),
        field("instance_info", Kind::Object, false, true).secret(),
        field("instance_uuid", Kind::Uuid, false, true),
        field("chassis_uuid", Kind::Uuid, false, true),
        field("resource_class", Kind::Str(80), false, true),
        field("conductor_group", Kind::Str(255), false, true),
    ];
    for name in INTERFACE_FIELDS {
        fields.push(field(name, Kind::Str(255), false, true));
    }
    fields
}

const INTERFACE_FIELDS: [&str; 12] = [
    "bios_interface",
    "boot_interface",
    "console_interface",
    "deploy_interface",
    "inspect_interface",
    "management_interface",
    "network_interface",
    "power_interface",
    "raid_interface",
    "rescue_interface",
    "storage_interface",
    "vendor_interface",
];

/// Looks a node up by UUID or (from 1.5) name: bad syntax is 400, unknown 404.
pub async fn load_node(state: &AppState, ctx: &Ctx, ident: &str) -> ApiResult<Node> {
    let ident = ident.to_string();
    if canonical_uuid(&ident).is_none() {
        if ctx.version.0 < 5 {
            return Err(common::Error::node_not_found(&ident).into());
        }
        if !is_valid_name(&ident) {
            return Err(ApiError::bad_request(format!(
                "Expected a logical name or UUID but received {ident}."
            )));
        }
    }
    Ok(state
        .db
        .run(move |conn| nodes::get_by_ident(conn, &ident))
        .await?)
}

/// `fields=` of a node GET or list: known names (400), not too new (406).
fn requested_fields(q: &Query, version: Version) -> ApiResult<Option<Vec<String>>> {
    let Some(raw) = q.get("fields") else {
        return Ok(None);
    };
    if version.0 < 8 {
        return Err(not_acceptable(
            "The fields parameter needs API version 1.8.",
        ));
    }
    let fields = parse_fields(raw, &body::FIELDS)?;
    check_allowed_fields(fields.iter().map(String::as_str), version)?;
    Ok(Some(fields))
}

fn not_acceptable(msg: &str) -> ApiError {
    common::Error::NotAcceptable(format!("Request not acceptable. {msg}")).into()
}

#[utoipa::path(
    get,
    path = "/v1/nodes/{ident}",
    tag = "nodes",
    summary = "Show a node",
    params(("ident" = String, Path, description = "node name or UUID"), crate::openapi::FieldsQuery),
    responses((status = 200, description = "OK", body = crate::openapi::Node))
)]
async fn show_node(
    State(state): State<AppState>,
    ctx: Ctx,
    Path(ident): Path<String>,
    q: Query,
) -> ApiResult<Json<Value>> {
    q.only(&["fields"])?;
    let fields = requested_fields(&q, ctx.version)?;
    let node = load_node(&state, &ctx, &ident).await?;
    let item = match &fields {
        None => node_json(&ctx, &node, true),
        Some(f) => body::subset(node_json(&ctx, &node, false), f),
    };
    Ok(Json(Value::Object(item)))
}

/// List filters, the versions that introduced them, and whether Ironic's refusal at an
/// older version names that version (it does not for `provision_state`).
const FILTERS: [(&str, u32, bool); 9] = [
    ("chassis_uuid", 1, true),
    ("instance_uuid", 1, true),
    ("associated", 1, true),
    ("maintenance", 1, true),
    ("provision_state", 9, false),
    ("driver", 16, true),
    ("resource_class", 21, true),
    ("fault", 42, true),
    ("conductor_group", 46, true),
];

fn parse_filter(q: &Query, version: Version) -> ApiResult<nodes::NodeFilter> {
    for (name, since, tells_version) in FILTERS {
        if q.get(name).is_some() && version.0 < since {
            let msg = if tells_version {
                format!(" The minimal required API version should be 1.{since}")
            } else {
                String::new()
            };
            return Err(
                common::Error::NotAcceptable(format!("Request not acceptable.{msg}")).into(),
            );
        }
    }
    let fault = q.get("fault").map(parse_fault).transpose()?;
    let chassis_uuid = q
        .get("chassis_uuid")
        .map(|v| crate::extract::uuid_param(v, "chassis_uuid"))
        .transpose()?;
    let instance_uuid = q
        .get("instance_uuid")
        .map(|v| {
            canonical_uuid(v).ok_or_else(|| {
                ApiError::bad_request(format!(
                    "Expected a UUID for instance_uuid but received {v}."
                ))
            })
        })
        .transpose()?;
    let provision_state = q
        .get("provision_state")
        .map(|s| {
            s.parse::<ProvisionState>().map_err(|_| {
                let valid: Vec<&str> = ProvisionState::ALL.iter().map(|s| s.as_str()).collect();
                ApiError::bad_request(format!(
                    "Invalid provision state: {s}. Valid states are: {}.",
                    valid.join(", ")
                ))
            })
        })
        .transpose()?;
    Ok(nodes::NodeFilter {
        instance_uuid,
        associated: q
            .get("associated")
            .map(|v| parse_bool("associated", v))
            .transpose()?,
        maintenance: q
            .get("maintenance")
            .map(|v| parse_bool("maintenance", v))
            .transpose()?,
        provision_state,
        driver: q.get("driver").map(str::to_string),
        resource_class: q.get("resource_class").map(str::to_string),
        conductor_group: q.get("conductor_group").map(str::to_string),
        fault,
        chassis_uuid,
    })
}

fn parse_fault(value: &str) -> ApiResult<String> {
    if node::FAULTS.contains(&value) {
        return Ok(value.to_string());
    }
    let allowed: Vec<String> = node::FAULTS.iter().map(|f| format!("'{f}'")).collect();
    Err(ApiError::bad_request(format!(
        "Unrecognized fault \"{value}\" is specified, allowed faults are ({})",
        allowed.join(", ")
    )))
}

/// Lists nodes; `chassis` is the chassis of `/v1/chassis/{uuid}/nodes`, whose list takes
/// no `chassis_uuid` of its own.
pub(crate) async fn list(
    state: AppState,
    ctx: Ctx,
    q: Query,
    detail_path: bool,
    chassis: Option<String>,
) -> ApiResult<Json<Value>> {
    let mut allowed = vec![
        "limit", "marker", "sort_key", "sort_dir", "detail", "fields",
    ];
    allowed.extend(FILTERS.iter().map(|(f, _, _)| *f));
    if chassis.is_some() {
        allowed.retain(|f| *f != "chassis_uuid");
    }
    q.only(&allowed)?;
    if q.get("detail").is_some() && !detail_path && ctx.version.0 < 43 {
        return Err(not_acceptable(
            "The detail parameter needs API version 1.43.",
        ));
    }
    if detail_path && q.get("fields").is_some() {
        return Err(ApiError::bad_request(
            "Can't fetch a subset of fields with 'detail' set",
        ));
    }
    requested_fields(&q, ctx.version)?;
    let mut filter = parse_filter(&q, ctx.version)?;
    if chassis.is_some() {
        filter.chassis_uuid = chassis.clone();
    }
    let c = if detail_path { &NODES_DETAIL } else { &NODES };
    let mut params = ListParams::parse(&q, c, state.settings.max_limit)?;
    params.detail |= detail_path;
    let marker = match params.marker.clone() {
        Some(m) => Some(state.db.run(move |conn| nodes::id_of(conn, &m)).await?),
        None => None,
    };
    let page = params.page(marker);
    let filter2 = filter.clone();
    let found = state
        .db
        .run(move |conn| nodes::list(conn, &filter2, &page))
        .await?;
    let mut extra = filter_pairs(&q);
    if let Some(uuid) = chassis {
        extra.insert(0, ("chassis_uuid", uuid));
    }
    let extra: Vec<(&str, &str)> = extra.iter().map(|(k, v)| (*k, v.as_str())).collect();
    let last = found.last().map(|n| n.uuid.clone());
    let next = params.next_link(c, &ctx.base_url, found.len(), last.as_deref(), &extra);
    let items: Vec<Value> = found
        .iter()
        .map(|n| {
            let item = params.select(c, node_json(&ctx, n, params.detail));
            Value::Object(item)
        })
        .collect();
    let mut body = json!({ "nodes": items });
    if let Some(next) = next {
        body["next"] = Value::String(next);
    }
    Ok(Json(body))
}

/// The filters of a list request, carried into its `next` link.
fn filter_pairs(q: &Query) -> Vec<(&'static str, String)> {
    FILTERS
        .iter()
        .filter_map(|(name, _, _)| q.get(name).map(|v| (*name, v.to_string())))
        .collect()
}

#[utoipa::path(
    get,
    path = "/v1/nodes",
    tag = "nodes",
    summary = "List nodes",
    params(crate::openapi::ListQuery, crate::openapi::NodeListFilter, crate::routes::chassis::ChassisFilter),
    responses((status = 200, description = "OK", body = crate::openapi::NodeList))
)]
async fn list_nodes(State(state): State<AppState>, ctx: Ctx, q: Query) -> ApiResult<Json<Value>> {
    list(state, ctx, q, false, None).await
}

#[utoipa::path(
    get,
    path = "/v1/nodes/detail",
    tag = "nodes",
    summary = "List nodes with every field",
    params(crate::openapi::DetailListQuery, crate::openapi::NodeListFilter, crate::routes::chassis::ChassisFilter),
    responses((status = 200, description = "OK", body = crate::openapi::NodeList))
)]
async fn list_nodes_detail(
    State(state): State<AppState>,
    ctx: Ctx,
    q: Query,
) -> ApiResult<Json<Value>> {
    list(state, ctx, q, true, None).await
}

fn str_of(body: &Map<String, Value>, key: &str) -> Option<String> {
    body.get(key).and_then(|v| v.as_str()).map(str::to_string)
}

fn object_of(body: &Map<String, Value>, key: &str) -> Map<String, Value> {
    body.get(key)
        .and_then(|v| v.as_object())
        .cloned()
        .unwrap_or_default()
}

/// The node a create body describes; the conductor fills the interface defaults.
fn new_node(body: &Map<String, Value>, version: Version) -> Node {
    let initial = if version.0 >= 11 {
        ProvisionState::Enroll
    } else {
        ProvisionState::Available
    };
    let mut node = Node {
        uuid: str_of(body, "uuid")
            .and_then(|u| canonical_uuid(&u))
            .unwrap_or_else(new_uuid),
        name: str_of(body, "name"),
        driver: str_of(body, "driver").unwrap_or_default(),
        driver_info: object_of(body, "driver_info"),
        extra: object_of(body, "extra"),
        properties: object_of(body, "properties"),
        instance_info: object_of(body, "instance_info"),
        instance_uuid: str_of(body, "instance_uuid").and_then(|u| canonical_uuid(&u)),
        chassis_uuid: str_of(body, "chassis_uuid").and_then(|u| canonical_uuid(&u)),
        provision_state: initial,
        resource_class: str_of(body, "resource_class"),
        conductor_group: str_of(body, "conductor_group").unwrap_or_default(),
        created_at: now(),
        ..Node::default()
    };
    for kind in INTERFACES {
        node.interfaces
            .set(kind, str_of(body, &format!("{kind}_interface")));
    }
    node
}

#[utoipa::path(
    post,
    path = "/v1/nodes",
    tag = "nodes",
    summary = "Create a node",
    request_body = crate::openapi::NodeCreate,
    responses((status = 201, description = "Created", body = crate::openapi::Node))
)]
async fn create_node(
    State(state): State<AppState>,
    ctx: Ctx,
    body: JsonBody,
) -> ApiResult<Response> {
    let mut body = body.object_for("node")?;
    check_allowed_fields(body.keys().map(String::as_str), ctx.version)?;
    schema::check(&mut body, &create_fields(), "node")?;
    let node = new_node(&body, ctx.version);
    let node = state.conductor.create_node(&ctx.request, node).await?;
    let path = format!("nodes/{}", node.uuid);
    Ok((
        StatusCode::CREATED,
        [(header::LOCATION, ctx.location(&path))],
        Json(Value::Object(node_json(&ctx, &node, true))),
    )
        .into_response())
}

#[utoipa::path(
    patch,
    path = "/v1/nodes/{ident}",
    tag = "nodes",
    summary = "Update a node (JSON Patch)",
    params(
        ("ident" = String, Path, description = "node name or UUID"),
        ("reset_interfaces" = Option<String>, Query,
            description = "With a new driver, reset every interface the patch does not set to the new hardware type's default (1.45)"),
    ),
    request_body = Vec<crate::openapi::PatchOperation>,
    responses((status = 200, description = "OK", body = crate::openapi::Node))
)]
async fn update_node(
    State(state): State<AppState>,
    ctx: Ctx,
    Path(ident): Path<String>,
    q: Query,
    body: JsonBody,
) -> ApiResult<Json<Value>> {
    q.only(&["reset_interfaces"])?;
    let reset = q
        .get("reset_interfaces")
        .map(|v| parse_bool("reset_interfaces", v))
        .transpose()?;
    if reset.is_some() && ctx.version.0 < 45 {
        return Err(common::Error::NotAcceptable("Request not acceptable.".into()).into());
    }
    let mut ops = common::patch::parse(&body.0)?;
    let fields: Vec<String> = ops.iter().map(common::patch::top_field).collect();
    check_allowed_fields(fields.iter().map(String::as_str), ctx.version)?;
    if reset == Some(true) && !fields.iter().any(|f| f == "driver") {
        return Err(ApiError::bad_request(
            "The reset_interfaces parameter can only be used when changing the node's driver.",
        ));
    }
    let node = load_node(&state, &ctx, &ident).await?;
    let paths: Vec<String> = ops.iter().map(common::patch::op_path).collect();
    let rules = crate::authorize::node_patch_rules(paths.iter().map(String::as_str));
    ctx.authorize_on_node(&rules)?;
    check_chassis_removal(&node, &ops, ctx.version)?;
    if reset == Some(true) {
        reset_unset_interfaces(&node, &mut ops, &fields);
    }
    let node = state
        .conductor
        .update_node(&ctx.request, node.uuid, ops)
        .await?;
    Ok(Json(Value::Object(node_json(&ctx, &node, true))))
}

/// `?reset_interfaces=true`: when the patch gives the node another driver, every
/// interface the patch does not set is removed, so that the conductor gives it the new
/// hardware type's default, as Ironic resets them. A driver "changed" to its current
/// value resets nothing.
fn reset_unset_interfaces(
    node: &Node,
    ops: &mut Vec<json_patch::PatchOperation>,
    fields: &[String],
) {
    let mut doc = Map::new();
    doc.insert("driver".into(), node.driver.clone().into());
    let driver_ops: Vec<_> = ops
        .iter()
        .filter(|op| common::patch::top_field(op) == "driver")
        .cloned()
        .collect();
    let new_driver = common::patch::apply(&doc, &driver_ops)
        .ok()
        .and_then(|d| d.get("driver").and_then(Value::as_str).map(str::to_string));
    if new_driver.as_deref() == Some(node.driver.as_str()) {
        return;
    }
    for kind in INTERFACES {
        let field = format!("{kind}_interface");
        if node.interfaces.get(kind).is_some() && !fields.contains(&field) {
            ops.push(json_patch::PatchOperation::Remove(
                json_patch::RemoveOperation {
                    path: format!("/{field}")
                        .parse()
                        .expect("an interface field is a JSON pointer"),
                },
            ));
        }
    }
}

/// Taking a node out of its chassis came with 1.25: before, it is 406, as in Ironic.
fn check_chassis_removal(
    node: &Node,
    ops: &[json_patch::PatchOperation],
    version: Version,
) -> ApiResult<()> {
    if version.0 >= 25 || node.chassis_uuid.is_none() {
        return Ok(());
    }
    let ops: Vec<_> = ops
        .iter()
        .filter(|op| common::patch::top_field(op) == "chassis_uuid")
        .cloned()
        .collect();
    let mut doc = Map::new();
    doc.insert("chassis_uuid".into(), node.chassis_uuid.clone().into());
    // A patch that does not apply is refused by the conductor, in its own words.
    let removed = common::patch::apply(&doc, &ops)
        .is_ok_and(|d| d.get("chassis_uuid").is_none_or(Value::is_null));
    if removed {
        return Err(common::Error::NotAcceptable("Request not acceptable.".into()).into());
    }
    Ok(())
}

#[utoipa::path(
    method(delete, patch),
    path = "/v1/nodes",
    tag = "nodes",
    summary = "Refused: DELETE and PATCH need a node's name or UUID",
    responses((status = 400, description = "Missing mandatory parameter", body = crate::openapi::Error))
)]
async fn nodes_without_ident() -> ApiResult<()> {
    Err(ApiError::missing_parameter("node_ident"))
}

/// POST to a node takes its identifier for the body, as Ironic does.
#[utoipa::path(
    post,
    path = "/v1/nodes/{ident}",
    tag = "nodes",
    summary = "Refused: create nodes at /v1/nodes",
    params(("ident" = String, Path, description = "node name or UUID")),
    responses((status = 400, description = "Schema error", body = crate::openapi::Error))
)]
async fn post_to_node(Path(ident): Path<String>) -> ApiResult<()> {
    Err(not_an_object("node", ident))
}

/// Ironic's schema error for a body that is this string.
pub fn not_an_object(what: &str, value: String) -> ApiError {
    schema::schema_error(
        what,
        format!(
            "{} is not of type 'object'",
            schema::py_repr(&Value::String(value))
        ),
    )
    .into()
}

#[utoipa::path(
    delete,
    path = "/v1/nodes/{ident}",
    tag = "nodes",
    summary = "Delete a node",
    params(("ident" = String, Path, description = "node name or UUID")),
    responses((status = 204, description = "Deleted"))
)]
async fn delete_node(
    State(state): State<AppState>,
    ctx: Ctx,
    Path(ident): Path<String>,
) -> ApiResult<StatusCode> {
    let node = load_node(&state, &ctx, &ident).await?;
    state
        .conductor
        .destroy_node(&ctx.request, node.uuid)
        .await?;
    Ok(StatusCode::NO_CONTENT)
}
