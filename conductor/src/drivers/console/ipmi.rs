//! The ipmitool consoles (`ipmitool-socat`, `ipmitool-shellinabox`). IPMI is not spoken
//! yet: the driver_info is checked as Ironic checks it, then the request is refused.

use common::Error;
use common::model::JsonObject;
use common::model::node::Node;

use super::Console;
use crate::drivers::validation::require;

pub struct Ipmitool {
    pub name: &'static str,
}

impl Ipmitool {
    fn not_spoken(&self) -> String {
        format!(
            "The {} console interface is not implemented by sanlink yet.",
            self.name
        )
    }
}

#[async_trait::async_trait]
impl Console for Ipmitool {
    fn validate(&self, node: &Node) -> Result<(), Error> {
        require(node, "IPMI", &["ipmi_address", "ipmi_terminal_port"]).map_err(Error::Invalid)?;
        Err(Error::Invalid(self.not_spoken()))
    }

    async fn start(&self, _: &Node) -> Result<(), String> {
        Err(self.not_spoken())
    }

    async fn stop(&self, _: &Node) -> Result<(), String> {
        Err(self.not_spoken())
    }

    async fn get_console(&self, _: &Node) -> Result<JsonObject, String> {
        Err(self.not_spoken())
    }
}
