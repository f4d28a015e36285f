//! The `fake` console: enabling and disabling succeed, and the connection information
//! is an empty object, as Ironic's fake console reports it.

use common::Error;
use common::model::JsonObject;
use common::model::node::Node;

use super::Console;

pub struct Fake;

#[async_trait::async_trait]
impl Console for Fake {
    fn validate(&self, _: &Node) -> Result<(), Error> {
        Ok(())
    }

    async fn start(&self, _: &Node) -> Result<(), String> {
        Ok(())
    }

    async fn stop(&self, _: &Node) -> Result<(), String> {
        Ok(())
    }

    async fn get_console(&self, _: &Node) -> Result<JsonObject, String> {
        Ok(JsonObject::new())
    }
}
