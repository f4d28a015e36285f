//! The TLS provider of the clients sanlink opens: Redfish BMCs over https and RabbitMQ
//! over amqps. Both use rustls with its ring provider, installed once per process, since
//! the HTTP client (reqwest built without a provider of its own) refuses to start
//! without one.

use std::sync::Once;

/// Installs ring as the process's rustls provider; later calls do nothing.
pub fn install_provider() {
    static INSTALLED: Once = Once::new();
    INSTALLED.call_once(|| {
        // Fails only when a provider is installed already, which serves as well.
        let _ = rustls::crypto::ring::default_provider().install_default();
    });
}
