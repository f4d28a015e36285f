//! `no-console`: every console request is refused, naming the node's hardware type,
//! as Ironic's `NoConsole` does.

use common::Error;
use common::model::JsonObject;
use common::model::node::Node;

use super::Console;

pub struct NoConsole;

const REFUSED: &str = "the node has no console interface";

#[async_trait::async_trait]
impl Console for NoConsole {
    fn validate(&self, node: &Node) -> Result<(), Error> {
        Err(Error::unsupported_extension(&node.driver, "console"))
    }

    async fn start(&self, _: &Node) -> Result<(), String> {
        Err(REFUSED.into())
    }

    async fn stop(&self, _: &Node) -> Result<(), String> {
        Err(REFUSED.into())
    }

    async fn get_console(&self, _: &Node) -> Result<JsonObject, String> {
        Err(REFUSED.into())
    }
}
