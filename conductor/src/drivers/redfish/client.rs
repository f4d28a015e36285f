//! A thin Redfish client over HTTP(S): it reads a ComputerSystem's power state, resets
//! it, and overrides its boot source, on the BMC that a node's `driver_info` names
//! (`redfish_address`, `redfish_system_id`, `redfish_username`, `redfish_password`,
//! `redfish_verify_ca`).

use std::time::Duration;

use reqwest::{Method, StatusCode, Url};
use serde_json::{Value, json};
use tokio::sync::OnceCell;

use common::model::JsonObject;
use common::model::node::Node;
use common::model::states::PowerState;

use super::{BOOT_TARGETS, Bmc, BootOverride, ResetType, boot_device, boot_target};
use crate::drivers::management::BootDevice;

const CONNECT_TIMEOUT: Duration = Duration::from_secs(10);
const REQUEST_TIMEOUT: Duration = Duration::from_secs(30);
const SYSTEMS: &str = "/redfish/v1/Systems";

/// Reads the `Boot` object of a ComputerSystem document.
fn read_boot_override(system: &Value) -> BootOverride {
    let boot = &system["Boot"];
    let allowed = boot["BootSourceOverrideTarget@Redfish.AllowableValues"]
        .as_array()
        .map(|targets| {
            let targets: Vec<&str> = targets.iter().filter_map(Value::as_str).collect();
            // In Ironic's order, whatever the BMC's.
            BOOT_TARGETS
                .iter()
                .filter(|(_, t)| targets.contains(t))
                .map(|(d, _)| *d)
                .collect()
        });
    BootOverride {
        device: boot["BootSourceOverrideTarget"]
            .as_str()
            .and_then(boot_device),
        persistent: match boot["BootSourceOverrideEnabled"].as_str() {
            Some("Continuous") => Some(true),
            Some("Once") => Some(false),
            _ => None,
        },
        allowed,
    }
}

/// The BMC of one node, as its driver_info describes it.
pub struct Client {
    client: reqwest::Client,
    /// scheme://authority, without a trailing slash or credentials.
    base: String,
    system_id: Option<String>,
    /// The ComputerSystem's path, looked up once.
    system: OnceCell<String>,
    username: Option<String>,
    password: Option<String>,
}

/// A driver_info value as text: strings as they are, numbers and booleans printed.
fn text(info: &JsonObject, key: &str) -> Option<String> {
    match info.get(key)? {
        Value::String(s) if !s.trim().is_empty() => Some(s.trim().to_string()),
        Value::Number(n) => Some(n.to_string()),
        Value::Bool(b) => Some(b.to_string()),
        _ => None,
    }
}

/// `redfish_address` as a URL; https is assumed without a scheme, as Ironic does.
fn address(info: &JsonObject) -> Result<Url, String> {
    let raw = text(info, "redfish_address").ok_or("redfish_address is required")?;
    let with_scheme = if raw.contains("://") {
        raw.clone()
    } else {
        format!("https://{raw}")
    };
    // Errors end up in last_error and the logs: never with a password from the address.
    let shown = common::model::mask::mask_url_password(&raw);
    let url = Url::parse(&with_scheme)
        .map_err(|e| format!("redfish_address {shown:?} is not a valid URL: {e}"))?;
    if !matches!(url.scheme(), "http" | "https") || url.host_str().is_none() {
        return Err(format!(
            "redfish_address {shown:?} must be an http:// or https:// URL with a host"
        ));
    }
    Ok(url)
}

/// `redfish_verify_ca`: a boolean, or a string spelling one. Default true.
fn verify_ca(info: &JsonObject) -> Result<bool, String> {
    match info.get("redfish_verify_ca") {
        None | Some(Value::Null) => Ok(true),
        Some(Value::Bool(b)) => Ok(*b),
        Some(Value::String(s)) => match s.trim().to_ascii_lowercase().as_str() {
            "true" | "1" | "yes" | "on" => Ok(true),
            "false" | "0" | "no" | "off" => Ok(false),
            _ => Err(format!(
                "redfish_verify_ca must be true or false, got {s:?} (CA bundle paths are not supported)"
            )),
        },
        Some(other) => Err(format!(
            "redfish_verify_ca must be true or false, got {other}"
        )),
    }
}

/// `redfish_system_id` as a path: a bare id is taken as one below /redfish/v1/Systems.
fn system_id(info: &JsonObject) -> Option<String> {
    let id = text(info, "redfish_system_id")?;
    let path = if id.starts_with('/') {
        id
    } else {
        format!("{SYSTEMS}/{id}")
    };
    Some(path.trim_end_matches('/').to_string())
}

/// Checks the Redfish driver_info without contacting the BMC.
pub fn validate(node: &Node) -> Result<(), String> {
    address(&node.driver_info)?;
    verify_ca(&node.driver_info)?;
    Ok(())
}

/// scheme://host[:port] of a URL: what messages show of the BMC.
fn origin(url: &Url) -> String {
    url.origin().ascii_serialization()
}

impl Client {
    pub fn for_node(node: &Node) -> Result<Client, String> {
        let info = &node.driver_info;
        let url = address(info)?;
        common::tls::install_provider();
        // Ignore the platform verifier only when the operator said so: BMCs are often
        // self-signed.
        let client = reqwest::Client::builder()
            .connect_timeout(CONNECT_TIMEOUT)
            .timeout(REQUEST_TIMEOUT)
            .tls_danger_accept_invalid_certs(!verify_ca(info)?)
            .build()
            .map_err(|e| format!("cannot set up an HTTP client for the BMC: {e}"))?;
        // Credentials embedded in the address would otherwise leak into messages.
        let base = format!("{}{}", origin(&url), url.path().trim_end_matches('/'));
        let username = text(info, "redfish_username")
            .or_else(|| Some(url.username().to_string()).filter(|u| !u.is_empty()));
        let password = text(info, "redfish_password").or_else(|| url.password().map(String::from));
        Ok(Client {
            client,
            base,
            system_id: system_id(info),
            system: OnceCell::new(),
            username,
            password,
        })
    }

    /// The BMC as messages name it.
    fn shown(&self) -> &str {
        &self.base
    }

    /// Sends one request; any status but 2xx is an error that says what went wrong.
    async fn call(
        &self,
        method: Method,
        path: &str,
        body: Option<Value>,
    ) -> Result<reqwest::Response, String> {
        let mut request = self
            .client
            .request(method.clone(), format!("{}{path}", self.base))
            .header("Accept", "application/json");
        if let Some(user) = &self.username {
            request = request.basic_auth(user, self.password.as_deref());
        }
        if let Some(body) = body {
            request = request.json(&body);
        }
        let start = std::time::Instant::now();
        let sent = request.send().await;
        let kind = match &sent {
            Err(_) => Some("unreachable"),
            Ok(r) if matches!(r.status(), StatusCode::UNAUTHORIZED | StatusCode::FORBIDDEN) => {
                Some("credentials")
            }
            Ok(r) if !r.status().is_success() => Some("status"),
            Ok(_) => None,
        };
        record_call(&method, start.elapsed(), kind);
        let response = sent.map_err(|e| self.transport_error(&e))?;
        if response.status().is_success() {
            return Ok(response);
        }
        Err(self.status_error(&method, path, response).await)
    }

    fn transport_error(&self, e: &reqwest::Error) -> String {
        let cause = cause(e);
        // A self-signed BMC is the usual case: say how to accept it.
        if cause.to_ascii_lowercase().contains("certificate") {
            return format!(
                "the BMC at {} presented a certificate that is not trusted ({cause}): set redfish_verify_ca to false to accept it",
                self.shown()
            );
        }
        format!("BMC unreachable at {}: {cause}", self.shown())
    }

    async fn status_error(
        &self,
        method: &Method,
        path: &str,
        response: reqwest::Response,
    ) -> String {
        let status = response.status();
        if matches!(status, StatusCode::UNAUTHORIZED | StatusCode::FORBIDDEN) {
            return format!(
                "wrong BMC credentials for {} (HTTP {}): check redfish_username and redfish_password",
                self.shown(),
                status.as_u16()
            );
        }
        let body = response.text().await.unwrap_or_default();
        if status == StatusCode::NOT_FOUND {
            return format!(
                "the BMC at {} has no resource {path} (HTTP 404): check redfish_system_id",
                self.shown()
            );
        }
        format!(
            "the BMC at {} refused {method} {path} (HTTP {}): {}",
            self.shown(),
            status.as_u16(),
            redfish_message(&body)
        )
    }

    async fn get(&self, path: &str) -> Result<Value, String> {
        let response = self.call(Method::GET, path, None).await?;
        response.json().await.map_err(|e| {
            format!(
                "the BMC at {} sent an unreadable answer for {path}: {}",
                self.shown(),
                cause(&e)
            )
        })
    }

    /// The ComputerSystem's path: `redfish_system_id`, or the only system there is.
    async fn system(&self) -> Result<&str, String> {
        self.system
            .get_or_try_init(|| self.find_system())
            .await
            .map(String::as_str)
    }

    async fn find_system(&self) -> Result<String, String> {
        if let Some(id) = &self.system_id {
            return Ok(id.clone());
        }
        let collection = self.get(SYSTEMS).await?;
        let members: Vec<&str> = collection["Members"]
            .as_array()
            .map(|m| m.iter().filter_map(|v| v["@odata.id"].as_str()).collect())
            .unwrap_or_default();
        match members.as_slice() {
            [only] => Ok(only.trim_end_matches('/').to_string()),
            _ => Err(format!(
                "the BMC at {} has {} systems: set redfish_system_id to one of them",
                self.shown(),
                members.len()
            )),
        }
    }

    fn read_power(&self, system: &Value) -> Result<PowerState, String> {
        match system["PowerState"].as_str() {
            Some("On" | "PoweringOn") => Ok(PowerState::On),
            Some("Off" | "PoweringOff") => Ok(PowerState::Off),
            other => Err(format!(
                "the BMC at {} reports an unknown power state {other:?}",
                self.shown()
            )),
        }
    }

    /// A link from the BMC as a path below the base address.
    fn relative(&self, link: &str) -> String {
        match Url::parse(link) {
            Ok(url) => url.path().to_string(),
            Err(_) => link.to_string(),
        }
    }
}

#[async_trait::async_trait]
impl Bmc for Client {
    fn address(&self) -> &str {
        self.shown()
    }

    async fn power_state(&self) -> Result<PowerState, String> {
        let document = self.get(self.system().await?).await?;
        self.read_power(&document)
    }

    async fn reset(&self, reset: ResetType) -> Result<(), String> {
        let system = self.system().await?;
        let document = self.get(system).await?;
        let action = document["Actions"]["#ComputerSystem.Reset"]["target"]
            .as_str()
            .map(str::to_string)
            .unwrap_or_else(|| format!("{system}/Actions/ComputerSystem.Reset"));
        let action = self.relative(&action);
        let body = json!({ "ResetType": reset.as_str() });
        self.call(Method::POST, &action, Some(body)).await?;
        Ok(())
    }

    async fn boot_override(&self) -> Result<BootOverride, String> {
        let document = self.get(self.system().await?).await?;
        Ok(read_boot_override(&document))
    }

    async fn set_boot_override(&self, device: BootDevice, persistent: bool) -> Result<(), String> {
        let target = boot_target(device)
            .ok_or_else(|| format!("Redfish has no boot source override target for {device}"))?;
        let system = self.system().await?;
        let enabled = if persistent { "Continuous" } else { "Once" };
        let body = json!({
            "Boot": {
                "BootSourceOverrideTarget": target,
                "BootSourceOverrideEnabled": enabled,
            }
        });
        self.call(Method::PATCH, system, Some(body)).await?;
        Ok(())
    }
}

/// Times a BMC call, and counts it as an error of `kind` when it failed.
fn record_call(method: &Method, elapsed: Duration, kind: Option<&'static str>) {
    use common::metrics::{BMC_DURATION, BMC_ERRORS};
    let outcome = if kind.is_some() { "error" } else { "ok" };
    metrics::histogram!(BMC_DURATION, "method" => method.to_string(), "outcome" => outcome)
        .record(elapsed.as_secs_f64());
    if let Some(kind) = kind {
        metrics::counter!(BMC_ERRORS, "kind" => kind).increment(1);
    }
}

/// What went wrong on the wire, without the URL (messages name the BMC already).
fn cause(e: &reqwest::Error) -> String {
    if e.is_timeout() {
        return "the request timed out".into();
    }
    // The innermost source says why (refused, no route, TLS); reqwest's own text
    // would repeat the URL.
    let mut innermost: Option<&dyn std::error::Error> = None;
    let mut next = std::error::Error::source(e);
    while let Some(source) = next {
        innermost = Some(source);
        next = source.source();
    }
    match innermost.map(|s| s.to_string()) {
        Some(text) if text.to_ascii_lowercase().contains("refused") => "connection refused".into(),
        Some(text) => text,
        None if e.is_decode() => "unreadable body".into(),
        None => "request failed".into(),
    }
}

/// The first Redfish error message of a body, or the body itself, shortened.
fn redfish_message(body: &str) -> String {
    let parsed: Option<Value> = serde_json::from_str(body).ok();
    let message = parsed.as_ref().and_then(|v| {
        v["error"]["@Message.ExtendedInfo"][0]["Message"]
            .as_str()
            .or_else(|| v["error"]["message"].as_str())
            .map(str::to_string)
    });
    let text = message.unwrap_or_else(|| body.trim().to_string());
    text.chars().take(300).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn node(info: Value) -> Node {
        Node {
            driver_info: info.as_object().cloned().unwrap(),
            ..Node::default()
        }
    }

    #[test]
    fn an_address_needs_a_host_and_gets_https_by_default() {
        assert!(validate(&node(json!({}))).unwrap_err().contains("required"));
        assert!(validate(&node(json!({"redfish_address": "ftp://bmc"}))).is_err());
        let e = validate(&node(json!({"redfish_address": "ftp://admin:hunter2@bmc"}))).unwrap_err();
        assert!(
            !e.contains("hunter2") && e.contains("admin:******@bmc"),
            "{e}"
        );
        let bmc = Client::for_node(&node(json!({"redfish_address": "10.0.0.9:8443/"}))).unwrap();
        assert_eq!(bmc.base, "https://10.0.0.9:8443");
    }

    #[test]
    fn verify_ca_accepts_booleans_and_their_spellings() {
        let with = |v: Value| verify_ca(&node(json!({ "redfish_verify_ca": v })).driver_info);
        assert_eq!(with(json!(false)), Ok(false));
        assert_eq!(with(json!("False")), Ok(false));
        assert_eq!(with(json!("true")), Ok(true));
        assert!(with(json!("/etc/ca.pem")).is_err());
    }

    #[test]
    fn credentials_in_the_address_never_reach_messages() {
        let n = node(json!({"redfish_address": "https://admin:s3cret@bmc.example:443"}));
        let bmc = Client::for_node(&n).unwrap();
        assert!(!bmc.shown().contains("s3cret"));
        assert_eq!(bmc.password.as_deref(), Some("s3cret"));
    }

    #[test]
    fn the_boot_override_is_read_with_ironic_names() {
        let system = json!({"Boot": {
            "BootSourceOverrideTarget": "Hdd",
            "BootSourceOverrideEnabled": "Continuous",
            "BootSourceOverrideTarget@Redfish.AllowableValues": ["Cd", "Pxe", "Usb", "Hdd"],
        }});
        assert_eq!(
            read_boot_override(&system),
            BootOverride {
                device: Some(BootDevice::Disk),
                persistent: Some(true),
                allowed: Some(vec![BootDevice::Pxe, BootDevice::Disk, BootDevice::Cdrom]),
            }
        );
        let disabled = json!({"Boot": {"BootSourceOverrideTarget": "None",
            "BootSourceOverrideEnabled": "Disabled"}});
        assert_eq!(read_boot_override(&disabled), BootOverride::default());
    }

    #[test]
    fn a_bare_system_id_lives_below_the_systems_collection() {
        let n = node(json!({"redfish_address": "http://b", "redfish_system_id": "abc"}));
        assert_eq!(
            Client::for_node(&n).unwrap().system_id.as_deref(),
            Some("/redfish/v1/Systems/abc")
        );
    }
}
