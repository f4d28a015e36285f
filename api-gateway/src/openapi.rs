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

use common::child::NodeChild;
use common::model::node::{NAME_MAX, RESERVED_NAMES, group_pattern, ident_pattern};
use common::schema::{self, Kind, NO_NUL_PATTERN};
use conductor::drivers::{HARDWARE_TYPES, hardware};
use utoipa::openapi::header::HeaderBuilder;
use utoipa::openapi::path::{Operation, Parameter, ParameterBuilder, ParameterIn, ParameterStyle};
use utoipa::openapi::response::{Response, ResponseBuilder};
use utoipa::openapi::schema::{
    AdditionalProperties, ArrayBuilder, KnownFormat, ObjectBuilder, OneOfBuilder, Schema,
    SchemaFormat, SchemaType, Type,
};
use utoipa::openapi::{Content, OpenApi as Document, Ref, RefOr, Required};
use utoipa::{IntoParams, Modify, OpenApi, PartialSchema, ToSchema};

use crate::listing::{self, Collection, bool_schema, enum_schema};
use common::model::states::{self, ProvisionState, ProvisionVerb};

use crate::routes::nodes::actions::{VIF_MAX, since};
use crate::routes::{nodes, portgroups, ports, volume};
use crate::version;

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
    components(schemas(Error, AuthError, JsonValue))
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
    portgroups: Vec<crate::views::PortgroupView<'static>>,
    next: Option<String>,
}

/// A VIF: its id is what `actions::check_vif` accepts.
#[derive(ToSchema)]
#[allow(dead_code)]
pub struct Vif {
    #[schema(schema_with = vif_schema)]
    id: String,
}

fn vif_schema() -> Schema {
    ObjectBuilder::new()
        .schema_type(Type::String)
        .pattern(Some(NO_NUL_PATTERN))
        .min_length(Some(1))
        .max_length(Some(VIF_MAX))
        .into()
}

#[derive(ToSchema)]
#[allow(dead_code)]
pub struct VifList {
    vifs: Vec<Vif>,
}

/// A create body of a node's child, as `common::schema::check` checks it against the
/// resource's create fields: nothing else is accepted.
fn create_body<R: NodeChild>() -> RefOr<Schema> {
    let mut body =
        ObjectBuilder::new().additional_properties(Some(AdditionalProperties::FreeForm(false)));
    for f in R::CREATE_SCHEMA {
        // Portgroups do not exist in sanlink: any portgroup_uuid names nothing (a 400).
        if f.name == "portgroup_uuid" {
            continue;
        }
        // A port's address is a MAC address (`common::model::port::normalize_mac`).
        let value = match f.name {
            "address" => mac_schema(),
            _ => field_schema(f.kind),
        };
        body = body.property(f.name, nullable(value, f.nullable));
        if f.required {
            body = body.required(f.name);
        }
    }
    Schema::Object(body.build()).into()
}

/// The create bodies, one schema each.
macro_rules! create_bodies {
    ($($(#[$doc:meta])* $name:ident: $resource:ty;)+) => {$(
        $(#[$doc])*
        pub struct $name;

        impl PartialSchema for $name {
            fn schema() -> RefOr<Schema> {
                create_body::<$resource>()
            }
        }

        impl ToSchema for $name {}
    )+};
}

create_bodies! {
    /// A connector's create body: its fields, and the UUID it is to have (else a new one).
    ConnectorCreate: common::model::volume::VolumeConnector;
    /// A target's create body: its fields, and the UUID it is to have (else a new one).
    TargetCreate: common::model::volume::VolumeTarget;
    /// A port's create body: its fields, and the UUID it is to have (else a new one).
    PortCreate: common::model::port::Port;
    /// A port group's create body: its fields, and the UUID it is to have (else a new one).
    PortgroupCreate: common::model::portgroup::Portgroup;
}

/// A node create body: the fields the server checks it against, one variant per
/// hardware type, whose interfaces are the ones that type supports.
pub struct NodeCreate;

impl PartialSchema for NodeCreate {
    fn schema() -> RefOr<Schema> {
        let mut variants = OneOfBuilder::new();
        for driver in HARDWARE_TYPES {
            let mut body = ObjectBuilder::new()
                .additional_properties(Some(AdditionalProperties::FreeForm(false)));
            for f in nodes::create_fields() {
                let kind = f.name.strip_suffix("_interface");
                let value = match (f.name, kind) {
                    ("driver", _) => enum_schema([driver]),
                    ("name", _) => name_schema(),
                    ("conductor_group", _) => ObjectBuilder::new()
                        .schema_type(Type::String)
                        .pattern(Some(group_pattern()))
                        .max_length(match f.kind {
                            Kind::Str(max) => Some(max),
                            _ => None,
                        })
                        .into(),
                    (_, Some(kind)) => enum_schema(
                        hardware::supported(driver, kind)
                            .unwrap_or_default()
                            .iter()
                            .copied(),
                    ),
                    _ => field_schema(f.kind),
                };
                body = body.property(f.name, nullable(value, f.nullable));
                if f.required {
                    body = body.required(f.name);
                }
            }
            variants = variants.item(body);
        }
        Schema::OneOf(variants.build()).into()
    }
}

impl ToSchema for NodeCreate {}

/// A node name as `common::model::node::is_valid_name` accepts it: an identifier (see
/// [`ident_schema`]) that is neither UUID-shaped nor a reserved word, which the
/// description says as a pattern cannot.
fn name_schema() -> Schema {
    let reserved: Vec<String> = RESERVED_NAMES.iter().map(|w| format!("`{w}`")).collect();
    ObjectBuilder::new()
        .schema_type(Type::String)
        .pattern(Some(ident_pattern()))
        .max_length(Some(NAME_MAX))
        .description(Some(format!(
            "RFC 3986 unreserved characters; not UUID-shaped, and none of {}.",
            reserved.join(", ")
        )))
        .into()
}

/// The schema of a body field as `common::schema::check` checks it.
pub fn field_schema(kind: Kind) -> Schema {
    match kind {
        Kind::Str(max) => text_schema(Some(max)),
        Kind::Uuid => uuid_schema(),
        Kind::Int => ObjectBuilder::new()
            .schema_type(Type::Integer)
            .format(Some(SchemaFormat::KnownFormat(KnownFormat::Int32)))
            .minimum(Some(i32::MIN))
            .maximum(Some(i32::MAX))
            .into(),
        Kind::Object => document_schema(),
        // A boolean, or one of the words the server reads as one.
        Kind::Bool => OneOfBuilder::new()
            .item(ObjectBuilder::new().schema_type(Type::Boolean))
            .item(crate::listing::bool_schema())
            .into(),
        Kind::StrList(max) => ArrayBuilder::new()
            .items(RefOr::T(text_schema(Some(max))))
            .into(),
    }
}

/// `schema`, or JSON null when `nullable`.
pub fn nullable(schema: Schema, nullable: bool) -> Schema {
    if !nullable {
        return schema;
    }
    OneOfBuilder::new()
        .item(schema)
        .item(ObjectBuilder::new().schema_type(Type::Null))
        .into()
}

/// A string without NUL, at most `max` characters long.
pub fn text_schema(max: Option<usize>) -> Schema {
    ObjectBuilder::new()
        .schema_type(Type::String)
        .pattern(Some(NO_NUL_PATTERN))
        .max_length(max)
        .into()
}

/// A UUID (`common::model::canonical_uuid` also reads other spellings of one).
pub fn uuid_schema() -> Schema {
    ObjectBuilder::new()
        .schema_type(Type::String)
        .format(Some(SchemaFormat::Custom("uuid".into())))
        .into()
}

/// A JSON document field (`extra`, `properties`, ...): an object without NUL in any key
/// or string, as `common::schema::check_document` requires. Its nesting depth and size
/// are bounded too (`MAX_DEPTH`, `MAX_DOCUMENT_BYTES`), which JSON Schema cannot say.
pub fn document_schema() -> Schema {
    ObjectBuilder::new()
        .schema_type(Type::Object)
        .property_names(Some(text_schema(None)))
        .additional_properties(Some(RefOr::Ref(Ref::from_schema_name("JsonValue"))))
        .description(Some(format!(
            "At most {} levels of nesting and {} bytes as JSON.",
            schema::MAX_DEPTH,
            schema::MAX_DOCUMENT_BYTES
        )))
        .into()
}

/// Any JSON value without NUL in its keys and strings.
pub struct JsonValue;

impl PartialSchema for JsonValue {
    fn schema() -> RefOr<Schema> {
        let this = || RefOr::Ref(Ref::from_schema_name("JsonValue"));
        OneOfBuilder::new()
            .item(text_schema(None))
            .item(ObjectBuilder::new().schema_type(SchemaType::from_iter([
                Type::Number,
                Type::Boolean,
                Type::Null,
            ])))
            .item(ArrayBuilder::new().items(this()))
            .item(
                ObjectBuilder::new()
                    .schema_type(Type::Object)
                    .property_names(Some(text_schema(None)))
                    .additional_properties(Some(this())),
            )
            .into()
    }
}

impl ToSchema for JsonValue {}

/// One JSON Patch (RFC 6902) operation, as `common::patch::parse` accepts it: `add`
/// and `replace` with a value, `remove`, on a plain `/word/word` path.
pub struct PatchOperation;

impl PartialSchema for PatchOperation {
    fn schema() -> RefOr<Schema> {
        let variant = |ops: &[&str], value_required: bool| {
            let op = ObjectBuilder::new()
                .additional_properties(Some(AdditionalProperties::FreeForm(false)))
                .property("op", enum_schema(ops.iter().copied()))
                .property(
                    "path",
                    ObjectBuilder::new()
                        .schema_type(Type::String)
                        .pattern(Some(common::patch::PATH_PATTERN)),
                )
                .property("value", ObjectBuilder::new())
                .required("op")
                .required("path");
            if value_required {
                op.required("value")
            } else {
                op
            }
        };
        OneOfBuilder::new()
            .item(variant(&["add", "replace"], true))
            .item(variant(&["remove"], false))
            .into()
    }
}

impl ToSchema for PatchOperation {}

/// `PUT .../states/power`: the targets and timeout `actions::power` accepts.
pub struct PowerTarget;

impl PartialSchema for PowerTarget {
    fn schema() -> RefOr<Schema> {
        ObjectBuilder::new()
            .additional_properties(Some(AdditionalProperties::FreeForm(false)))
            .property(
                "target",
                enum_schema(states::PowerTarget::ALL.iter().map(|t| t.as_str())),
            )
            .required("target")
            .property(
                "timeout",
                nullable(
                    ObjectBuilder::new()
                        .schema_type(Type::Integer)
                        .minimum(Some(1))
                        .maximum(Some(u64::MAX))
                        .description(Some("seconds (1.27)"))
                        .into(),
                    true,
                ),
            )
            .into()
    }
}

impl ToSchema for PowerTarget {}

/// `PUT .../states/provision`: a verb of the newest version, with `clean_steps` for
/// `clean` only and a config drive for `active` and `rebuild` only.
pub struct ProvisionTarget;

impl PartialSchema for ProvisionTarget {
    fn schema() -> RefOr<Schema> {
        let verbs = ProvisionVerb::ALL
            .iter()
            .filter(|verb| since(**verb) <= version::MAX.0)
            .map(|verb| verb.as_str());
        let with_drive = ["active", "rebuild"];
        let null = || ObjectBuilder::new().schema_type(Type::Null);
        let variant = |targets: Vec<&str>| {
            ObjectBuilder::new()
                .additional_properties(Some(AdditionalProperties::FreeForm(false)))
                .property("target", enum_schema(targets))
                .required("target")
        };
        let clean = variant(vec!["clean"])
            .property(
                "clean_steps",
                ArrayBuilder::new().items(ObjectBuilder::new().schema_type(Type::Object)),
            )
            .required("clean_steps")
            .property("configdrive", null());
        let deploy = variant(with_drive.to_vec()).property(
            "configdrive",
            ObjectBuilder::new().schema_type(SchemaType::from_iter([
                Type::String,
                Type::Object,
                Type::Null,
            ])),
        );
        // A rescue needs a password that is not blank (`\S`: one non-space at least).
        let rescue = variant(vec!["rescue"])
            .property(
                "rescue_password",
                ObjectBuilder::new()
                    .schema_type(Type::String)
                    .pattern(Some(r"^[^\u0000]*\S[^\u0000]*$")),
            )
            .required("rescue_password")
            .property("configdrive", null());
        let other = variant(
            verbs
                .filter(|v| *v != "clean" && *v != "rescue" && !with_drive.contains(v))
                .collect(),
        )
        .property("configdrive", null());
        OneOfBuilder::new()
            .item(clean)
            .item(deploy)
            .item(rescue)
            .item(other)
            .into()
    }
}

impl ToSchema for ProvisionTarget {}

/// `PUT .../maintenance`: an optional reason, in the body or the query.
pub struct MaintenanceBody;

impl PartialSchema for MaintenanceBody {
    fn schema() -> RefOr<Schema> {
        ObjectBuilder::new()
            .additional_properties(Some(AdditionalProperties::FreeForm(false)))
            .property(
                "reason",
                ObjectBuilder::new().schema_type(SchemaType::from_iter([Type::String, Type::Null])),
            )
            .into()
    }
}

impl ToSchema for MaintenanceBody {}

/// Parameters of every collection GET; [`Constraints`] states what each collection
/// accepts in them.
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

/// Parameters of the `/detail` lists, which show every field and refuse `fields`.
#[derive(IntoParams)]
#[into_params(parameter_in = Query)]
#[allow(dead_code)]
pub struct DetailListQuery {
    /// Page size, at most `SANLINK_MAX_LIMIT`.
    limit: Option<i64>,
    /// UUID of the last item of the previous page.
    marker: Option<String>,
    sort_key: Option<String>,
    /// `asc` or `desc`.
    sort_dir: Option<String>,
    /// A boolean word (`true`, `False`, `1`, ...).
    detail: Option<String>,
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
    /// One of `power failure`, `clean failure`, `rescue abort failure`,
    /// `service failure` (1.42).
    fault: Option<String>,
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

/// States on every parameter what the handlers accept in it, from the definitions they
/// check it with: node identifiers, UUIDs, VIF ids, and each list's query parameters.
struct Constraints;

impl Modify for Constraints {
    fn modify(&self, doc: &mut Document) {
        for (path, item) in doc.paths.paths.iter_mut() {
            let collection = collection_of(path);
            for op in operations(item) {
                optional_body_is_not_null(op);
                for p in op.parameters.iter_mut().flatten() {
                    let schema = match p.parameter_in {
                        ParameterIn::Path => path_parameter_schema(&p.name),
                        ParameterIn::Query if path == "/v1/drivers" => {
                            drivers_query_schema(&p.name)
                        }
                        ParameterIn::Query => query_parameter_schema(&p.name, collection),
                        _ => None,
                    };
                    if let Some(schema) = schema {
                        p.schema = Some(schema.into());
                    }
                    if p.name == "fields" {
                        p.style = Some(ParameterStyle::Form);
                        p.explode = Some(false);
                    }
                }
            }
        }
    }
}

/// An optional body (`Option<T>` in the annotation) may be left out, but utoipa also
/// lets it be JSON null, which the handlers refuse like any other non-object.
fn optional_body_is_not_null(op: &mut Operation) {
    let Some(body) = op.request_body.as_mut() else {
        return;
    };
    if body.required == Some(Required::True) {
        return;
    }
    for content in body.content.values_mut() {
        if let Some(RefOr::T(Schema::OneOf(one_of))) = &content.schema {
            let is_null = |s: &RefOr<Schema>| matches!(s, RefOr::T(Schema::Object(o)) if o.schema_type == SchemaType::Type(Type::Null));
            let rest: Vec<RefOr<Schema>> = one_of
                .items
                .iter()
                .filter(|s| !is_null(s))
                .cloned()
                .collect();
            if let [only] = rest.as_slice() {
                content.schema = Some(only.clone());
            }
        }
    }
}

/// The collection whose fields and sort keys a path's query parameters name.
fn collection_of(path: &str) -> Option<&'static Collection> {
    if path.contains("/volume/connectors") {
        Some(&volume::CONNECTORS)
    } else if path.contains("/volume/targets") {
        Some(&volume::TARGETS)
    } else if path.contains("/ports") {
        // `/v1/ports`, and the port lists below a node or a port group.
        Some(&ports::PORTS)
    } else if path.contains("/portgroups") {
        Some(&portgroups::PORTGROUPS)
    } else if path.starts_with("/v1/nodes") || path.starts_with("/v1/chassis/{uuid}/nodes") {
        Some(&nodes::NODES)
    } else if path.starts_with("/v1/chassis") {
        Some(&crate::routes::chassis::CHASSIS)
    } else {
        None
    }
}

fn path_parameter_schema(name: &str) -> Option<Schema> {
    match name {
        "ident" | "portgroup" => Some(ident_schema()),
        "uuid" => Some(uuid_schema()),
        "vif" => Some(vif_schema()),
        "trait" => Some(nodes::traits::trait_schema()),
        _ => None,
    }
}

fn query_parameter_schema(name: &str, collection: Option<&Collection>) -> Option<Schema> {
    match name {
        "node" => Some(ident_schema()),
        "marker" | "instance_uuid" | "chassis_uuid" => Some(uuid_schema()),
        "address" => Some(mac_schema()),
        "associated" | "maintenance" | "reset_interfaces" => Some(bool_schema()),
        "provision_state" => Some(enum_schema(ProvisionState::ALL.iter().map(|s| s.as_str()))),
        "fault" => Some(enum_schema(common::model::node::FAULTS)),
        // Free text, but a query holding NUL is refused (`extract::reject_nul`).
        "driver" | "resource_class" | "conductor_group" | "reason" => Some(text_schema(None)),
        _ => match collection {
            Some(c) => listing::parameter_schema(name, c),
            None => Some(text_schema(None)),
        },
    }
}

/// The drivers list's filters.
fn drivers_query_schema(name: &str) -> Option<Schema> {
    match name {
        "type" => Some(enum_schema(["classic", "dynamic"])),
        "detail" => Some(bool_schema()),
        _ => None,
    }
}

/// A node's name or UUID, as `common::model::node::is_valid_ident` accepts it.
fn ident_schema() -> Schema {
    ObjectBuilder::new()
        .schema_type(Type::String)
        .pattern(Some(ident_pattern()))
        .description(Some("node name or UUID"))
        .into()
}

/// A MAC address as `common::model::port::normalize_mac` reads it: six hex pairs
/// separated by `:` or by `-`.
fn mac_schema() -> Schema {
    ObjectBuilder::new()
        .schema_type(Type::String)
        .pattern(Some(
            "^([0-9A-Fa-f]{2}:){5}[0-9A-Fa-f]{2}$|^([0-9A-Fa-f]{2}-){5}[0-9A-Fa-f]{2}$",
        ))
        .into()
}

fn operations(item: &mut utoipa::openapi::PathItem) -> Vec<&mut Operation> {
    [
        &mut item.get,
        &mut item.put,
        &mut item.post,
        &mut item.delete,
        &mut item.patch,
        &mut item.trace,
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
                .pattern(Some(version::header_pattern())),
        ))
        .build()
}

/// The items of connector, target, port, port group and chassis responses, documented
/// by their view types.
const PARTIAL_ITEMS: [&str; 5] = ["Connector", "Target", "Port", "Portgroup", "Chassis"];

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
    // Applied here, not as derive modifiers: those run before the routes are merged in.
    Constraints.modify(&mut doc);
    Shared.modify(&mut doc);
    no_required_fields(&mut doc);
    let mut text = doc.to_pretty_json().expect("the document serialises");
    text.push('\n');
    text
}
