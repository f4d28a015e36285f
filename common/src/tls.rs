//! The TLS provider of the clients sanlink opens: Redfish BMCs, Keystone and Cinder
//! over https and RabbitMQ over amqps. All use rustls with its ring provider, installed
//! once per process, since the HTTP client (reqwest built without a provider of its
//! own) refuses to start without one.

use std::path::Path;
use std::sync::Once;
use std::time::Duration;

/// Installs ring as the process's rustls provider; later calls do nothing.
pub fn install_provider() {
    static INSTALLED: Once = Once::new();
    INSTALLED.call_once(|| {
        // Fails only when a provider is installed already, which serves as well.
        let _ = rustls::crypto::ring::default_provider().install_default();
    });
}

/// An HTTP client for an OpenStack service (`service` names it in errors): each request
/// bounded by `timeout`, the server's certificate checked against the system's
/// authorities and those of `cafile`, if given.
pub fn service_client(
    service: &str,
    timeout: Duration,
    cafile: Option<&Path>,
) -> Result<reqwest::Client, String> {
    install_provider();
    let mut builder = reqwest::Client::builder()
        .connect_timeout(timeout)
        .timeout(timeout);
    if let Some(path) = cafile {
        let pem = std::fs::read(path)
            .map_err(|e| format!("cannot read the CA file {}: {e}", path.display()))?;
        for cert in reqwest::Certificate::from_pem_bundle(&pem)
            .map_err(|e| format!("the CA file {} holds no certificate: {e}", path.display()))?
        {
            builder = builder.add_root_certificate(cert);
        }
    }
    builder
        .build()
        .map_err(|e| format!("cannot set up an HTTP client for {service}: {e}"))
}
