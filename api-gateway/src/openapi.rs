//! The OpenAPI 3 description of the API, served at `GET /v1/openapi.json` and checked in
//! as `docs/openapi.json` (a test fails when they differ).
//!
//! Operations come from the `#[utoipa::path]` annotations of the handlers, collected by
//! the router itself (`utoipa_axum::routes!`), so a route cannot exist undocumented or
//! the other way round. Connectors, targets and ports are documented by their view types
//! (`views.rs`), which are what the handlers serialize. This module holds the rest of
//! what operations share: the schemas of the other bodies (built by hand; these
//! describe them), the query parameters, and the version header and Ironic error
//! responses every operation has.

use utoipa::openapi::header::HeaderBuilder;
use utoipa::openapi::path::{Operation, Parameter, ParameterBuilder, ParameterIn};
use utoipa::openapi::response::{Response, ResponseBuilder};
use utoipa::openapi::schema::{ObjectBuilder, Schema, Type};
use utoipa::openapi::{Content, OpenApi as Document, Ref, RefOr, Required};
use utoipa::{IntoParams, Modify, OpenApi, ToSchema};

/// The header that selects the microversion (`OpenStack-API-Version: baremetal 1.N`
/// works too). Absent, the request is served at 1.1.
pub const VERSION_HEADER: &str = "X-OpenStack-Ironic-API-Version";

#[derive(OpenApi)]
#[openapi(
    info(
        title = "sanlink (OpenStack Bare Metal API v1)",
        description = "The volume connector and target API of Ironic, and the node, port and VIF \
                       calls Nova's boot-from-volume path makes; microversions 1.1 to 1.46.",
        license(name = "Apache-2.0")
    ),
    components(schemas(Error, AuthError))
)]
pub struct ApiDoc;

/// Ironic's error envelope: `error_message` is itself a JSON document, serialised.
#[derive(ToSchema)]
#[allow(dead_code)]
#[schema(example = json!({"error_message": "{\"faultstring\": \"Node x could not be found.\", \"faultcode\": \"Client\", \"debuginfo\": null}"}))]
pub struct Error {
    /// `{"faultstring": ..., "faultcode": "Client"|"Server", "debuginfo": null}`, or for
    /// routing errors (unknown path, method, version) `{"code": <int>, "title", "description"}`.
    error_message: String,
}

/// What HTTP basic authentication answers (`SANLINK_AUTH_STRATEGY=http_basic`), as
/// Ironic's basic-auth middleware does.
#[derive(ToSchema)]
#[allow(dead_code)]
pub struct AuthError {
    #[schema(value_type = Object)]
    error: serde_json::Value,
}

/// A node (the fields depend on the version and `?fields=`); `driver_info` and
/// `instance_info` secrets are masked.
#[derive(ToSchema)]
#[allow(dead_code)]
pub struct Node {
    uuid: Option<String>,
    name: Option<String>,
    driver: Option<String>,
    #[schema(value_type = Option<Object>)]
    driver_info: Option<serde_json::Value>,
    #[schema(value_type = Option<Object>)]
    properties: Option<serde_json::Value>,
    #[schema(value_type = Option<Object>)]
    extra: Option<serde_json::Value>,
    instance_uuid: Option<String>,
    power_state: Option<String>,
    provision_state: Option<String>,
    maintenance: Option<bool>,
    #[schema(value_type = Option<Vec<crate::wire::Link>>)]
    links: Option<Vec<serde_json::Value>>,
}

#[derive(ToSchema)]
#[allow(dead_code)]
pub struct ConnectorList {
    connectors: Vec<crate::views::ConnectorView<'static>>,
    /// Link to the next page, present when this one is full.
    next: Option<String>,
}

#[derive(ToSchema)]
#[allow(dead_code)]
pub struct TargetList {
    targets: Vec<crate::views::TargetView<'static>>,
    next: Option<String>,
}

#[derive(ToSchema)]
#[allow(dead_code)]
pub struct NodeList {
    nodes: Vec<Node>,
    next: Option<String>,
}

#[derive(ToSchema)]
#[allow(dead_code)]
pub struct PortList {
    ports: Vec<crate::views::PortView<'static>>,
    next: Option<String>,
}

#[derive(ToSchema)]
#[allow(dead_code)]
pub struct PortgroupList {
    #[schema(value_type = Vec<Object>)]
    portgroups: Vec<serde_json::Value>,
}

#[derive(ToSchema)]
#[allow(dead_code)]
pub struct Vif {
    id: String,
}

#[derive(ToSchema)]
#[allow(dead_code)]
pub struct VifList {
    vifs: Vec<Vif>,
}

/// A connector's create body: its fields, and the UUID it is to have (else a new one).
#[derive(ToSchema)]
#[allow(dead_code)]
pub struct ConnectorCreate {
    uuid: Option<String>,
    #[serde(flatten)]
    fields: common::model::volume::ConnectorFields,
}

/// A target's create body: its fields, and the UUID it is to have (else a new one).
#[derive(ToSchema)]
#[allow(dead_code)]
pub struct TargetCreate {
    uuid: Option<String>,
    #[serde(flatten)]
    fields: common::model::volume::TargetFields,
}

/// A port's create body: its fields, and the UUID it is to have (else a new one).
#[derive(ToSchema)]
#[allow(dead_code)]
pub struct PortCreate {
    uuid: Option<String>,
    #[serde(flatten)]
    fields: common::model::port::PortFields,
}

#[derive(ToSchema)]
#[allow(dead_code)]
pub struct NodeCreate {
    driver: String,
    name: Option<String>,
    uuid: Option<String>,
    #[schema(value_type = Option<Object>)]
    driver_info: Option<serde_json::Value>,
    #[schema(value_type = Option<Object>)]
    properties: Option<serde_json::Value>,
    #[schema(value_type = Option<Object>)]
    extra: Option<serde_json::Value>,
}

/// One JSON Patch (RFC 6902) operation; `add`, `replace` and `remove` only.
#[derive(ToSchema)]
#[allow(dead_code)]
pub struct PatchOperation {
    op: String,
    path: String,
    #[schema(value_type = Option<Object>)]
    value: Option<serde_json::Value>,
}

/// `PUT .../states/power` and `.../states/provision`.
#[derive(ToSchema)]
#[allow(dead_code)]
pub struct StateTarget {
    target: String,
}

/// Parameters of every collection GET.
#[derive(IntoParams)]
#[into_params(parameter_in = Query)]
#[allow(dead_code)]
pub struct ListQuery {
    /// Page size, at most `SANLINK_MAX_LIMIT`.
    limit: Option<i64>,
    /// UUID of the last item of the previous page.
    marker: Option<String>,
    sort_key: Option<String>,
    /// `asc` or `desc`.
    sort_dir: Option<String>,
    /// A boolean word (`true`, `False`, `1`, ...): all fields.
    detail: Option<String>,
    /// Comma-separated field names.
    fields: Option<String>,
}

/// The `node` filter of connector, target and port lists.
#[derive(IntoParams)]
#[into_params(parameter_in = Query)]
#[allow(dead_code)]
pub struct NodeFilter {
    /// Name or UUID of a node.
    node: Option<String>,
}

/// Filters of node lists.
#[derive(IntoParams)]
#[into_params(parameter_in = Query)]
#[allow(dead_code)]
pub struct NodeListFilter {
    instance_uuid: Option<String>,
    associated: Option<String>,
    maintenance: Option<String>,
    provision_state: Option<String>,
    driver: Option<String>,
    resource_class: Option<String>,
    conductor_group: Option<String>,
}

/// `?fields=` of a single-item GET.
#[derive(IntoParams)]
#[into_params(parameter_in = Query)]
#[allow(dead_code)]
pub struct FieldsQuery {
    fields: Option<String>,
}

/// Adds what every operation shares: the version header, and the Ironic error body
/// for every 4xx and for 503 (conductor or database unavailable).
struct Shared;

impl Modify for Shared {
    fn modify(&self, doc: &mut Document) {
        for item in doc.paths.paths.values_mut() {
            for op in operations(item) {
                op.parameters
                    .get_or_insert_with(Vec::new)
                    .push(version_header());
                let error = ResponseBuilder::new()
                    .description("Ironic error envelope")
                    .content(
                        "application/json",
                        Content::new(Some(RefOr::Ref(Ref::from_schema_name("Error")))),
                    )
                    .build();
                for status in ["4XX", "503"] {
                    op.responses
                        .responses
                        .entry(status.to_string())
                        .or_insert_with(|| error.clone().into());
                }
                for response in op.responses.responses.values_mut() {
                    if let RefOr::T(response) = response {
                        add_response_headers(response);
                    }
                }
            }
        }
    }
}

fn operations(item: &mut utoipa::openapi::PathItem) -> Vec<&mut Operation> {
    [
        &mut item.get,
        &mut item.put,
        &mut item.post,
        &mut item.delete,
        &mut item.patch,
    ]
    .into_iter()
    .filter_map(|o| o.as_mut())
    .collect()
}

/// The headers every response carries: the supported version range and the request
/// id; the version used when it was valid.
fn add_response_headers(response: &mut Response) {
    let headers = [
        (
            "X-OpenStack-Ironic-API-Minimum-Version",
            "oldest supported microversion (1.1)",
        ),
        (
            "X-OpenStack-Ironic-API-Maximum-Version",
            "newest supported microversion (1.46)",
        ),
        (
            VERSION_HEADER,
            "the microversion the request was served at (absent when it was refused)",
        ),
        (
            "X-OpenStack-Request-Id",
            "`req-<uuid>`, also on every log line about the request",
        ),
    ];
    for (name, description) in headers {
        let header = HeaderBuilder::new()
            .schema(ObjectBuilder::new().schema_type(Type::String))
            .description(Some(description))
            .build();
        response.headers.insert(name.to_string(), header);
    }
}

fn version_header() -> Parameter {
    ParameterBuilder::new()
        .name(VERSION_HEADER)
        .parameter_in(ParameterIn::Header)
        .required(Required::False)
        .description(Some(
            "Microversion `1.N` (1.1 to 1.46) or `latest`; absent means 1.1. Responses carry \
             `X-OpenStack-Ironic-API-Minimum-Version`, `-Maximum-Version` and the version used.",
        ))
        .schema(Some(
            ObjectBuilder::new()
                .schema_type(Type::String)
                .pattern(Some(r"^(1\.([1-9]|[1-3][0-9]|4[0-6])|latest)$")),
        ))
        .build()
}

/// The items of connector, target and port responses, documented by their view types.
const PARTIAL_ITEMS: [&str; 3] = ["Connector", "Target", "Port"];

/// A list or `?fields=` shows some of an item's fields only, and a port's newer fields
/// are absent at older microversions: no field of an item is required.
fn no_required_fields(doc: &mut Document) {
    let Some(components) = doc.components.as_mut() else {
        return;
    };
    for name in PARTIAL_ITEMS {
        if let Some(RefOr::T(Schema::Object(item))) = components.schemas.get_mut(name) {
            item.required.clear();
        }
    }
}

/// The document as served and checked in, from the router's operations: what they
/// share added, as pretty JSON with a final newline.
pub fn document(mut doc: Document) -> String {
    // Applied here, not as a derive modifier: those run before the routes are merged in.
    Shared.modify(&mut doc);
    no_required_fields(&mut doc);
    let mut text = doc.to_pretty_json().expect("the document serialises");
    text.push('\n');
    text
}
