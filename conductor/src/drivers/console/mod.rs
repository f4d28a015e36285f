//! Console interfaces: a node's serial console. `fake` starts and stops nothing and
//! reports an empty connection, as Ironic's does; `no-console` refuses everything with
//! Ironic's UnsupportedDriverExtension; the ipmitool consoles are not spoken yet.

mod fake;
mod ipmi;
mod none;

use common::Error;
use common::model::JsonObject;
use common::model::node::Node;

#[async_trait::async_trait]
pub trait Console: Send + Sync {
    /// Checks that the interface can serve the node's console at all (a 400 if not).
    fn validate(&self, node: &Node) -> Result<(), Error>;

    /// Starts the console; a failure is recorded as the node's last_error.
    async fn start(&self, node: &Node) -> Result<(), String>;

    async fn stop(&self, node: &Node) -> Result<(), String>;

    /// How to connect to the enabled console (Ironic's `console_info`).
    async fn get_console(&self, node: &Node) -> Result<JsonObject, String>;
}

/// The implementation named `name`.
pub fn select(name: &str) -> Option<Box<dyn Console>> {
    Some(match name {
        "fake" => Box::new(fake::Fake),
        "no-console" => Box::new(none::NoConsole),
        "ipmitool-socat" | "ipmitool-shellinabox" => Box::new(ipmi::Ipmitool {
            name: if name == "ipmitool-socat" {
                "ipmitool-socat"
            } else {
                "ipmitool-shellinabox"
            },
        }),
        _ => return None,
    })
}
