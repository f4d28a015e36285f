//! Node RPCs: create, update, destroy, power, provisioning, maintenance, validation, VIFs.

use json_patch::PatchOperation;
use serde_json::Value;

use common::Error;
use common::model::node::Node;
use common::rpc::Response;

use crate::Conductor;

fn todo(what: &str) -> Response {
    Err(Error::Internal(format!("{what} is not implemented yet")))
}

pub async fn create_node(_c: &Conductor, _node: Node) -> Response {
    todo("create_node")
}
pub async fn update_node(_c: &Conductor, _uuid: String, _patch: Vec<PatchOperation>) -> Response {
    todo("update_node")
}
pub async fn destroy_node(_c: &Conductor, _uuid: String) -> Response {
    todo("destroy_node")
}
pub async fn change_node_power_state(
    _c: &Conductor,
    _uuid: String,
    _target: String,
    _timeout: Option<u64>,
) -> Response {
    todo("power")
}
pub async fn do_provisioning_action(
    _c: &Conductor,
    _uuid: String,
    _action: String,
    _configdrive: Option<Value>,
) -> Response {
    todo("provision")
}
pub async fn set_maintenance(
    _c: &Conductor,
    _uuid: String,
    _m: bool,
    _reason: Option<String>,
) -> Response {
    todo("maintenance")
}
pub async fn validate_driver_interfaces(_c: &Conductor, _uuid: String) -> Response {
    todo("validate")
}
pub async fn vif_attach(_c: &Conductor, _uuid: String, _vif: String) -> Response {
    todo("vif_attach")
}
pub async fn vif_detach(_c: &Conductor, _uuid: String, _vif: String) -> Response {
    todo("vif_detach")
}
