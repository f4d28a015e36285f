//! Port RPCs.

use json_patch::PatchOperation;

use common::Error;
use common::model::port::Port;
use common::rpc::Response;

use crate::Conductor;

pub async fn create_port(_c: &Conductor, _port: Port) -> Response {
    Err(Error::Internal("todo".into()))
}
pub async fn update_port(_c: &Conductor, _uuid: String, _patch: Vec<PatchOperation>) -> Response {
    Err(Error::Internal("todo".into()))
}
pub async fn destroy_port(_c: &Conductor, _uuid: String) -> Response {
    Err(Error::Internal("todo".into()))
}
