//! The iPXE boot-from-volume script (spec: boot-from-volume.md §6): which SAN volumes a
//! node attaches and with which credentials, computed from its volume targets and
//! connectors, then rendered through a template the operator may replace.
//!
//! The boot path runs the same `set`, `sanhook` and `sanboot` commands, in the same
//! order, as the script Ironic renders for the same node, so a node moved between the
//! two boots identically.

use minijinja::{AutoEscape, Environment, UndefinedBehavior, context};
use serde::Serialize;
use serde_json::Value;

use common::model::volume::{VolumeConnector, VolumeTarget};

/// The built-in template of the per-node script.
pub const BFV_TEMPLATE: &str = include_str!("../../templates/ipxe_bfv.ipxe");
/// The built-in template of the generic `boot.ipxe` every iPXE client fetches first.
pub const BOOT_TEMPLATE: &str = include_str!("../../templates/boot.ipxe");

/// BIOS drive number of the boot volume; extra volumes follow it.
const BOOT_DRIVE: u32 = 0x80;

/// What the script needs to attach and boot a node's volumes.
#[derive(Clone, Debug, Default, PartialEq, Serialize)]
pub struct BfvOptions {
    /// CHAP credentials of the boot volume, when it has them.
    pub username: Option<String>,
    pub password: Option<String>,
    /// The node's iSCSI initiator name, from its last `iqn` connector.
    pub initiator_iqn: Option<String>,
    /// One URL per path to the boot volume (several with multipath).
    pub boot_urls: Vec<String>,
    pub extra_volumes: Vec<ExtraVolume>,
}

/// A data volume hooked as a further drive so the booted system finds it attached.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct ExtraVolume {
    /// `0x81`, `0x82`, ... in creation order.
    pub drive: String,
    pub url: String,
    pub username: String,
    pub password: String,
}

/// Computes the script's options, or None when the boot volume is not iSCSI (iPXE then
/// has nothing to boot from the SAN). Errors name what in the targets is unusable.
pub fn bfv_options(
    connectors: &[VolumeConnector],
    targets: &[VolumeTarget],
) -> Result<Option<BfvOptions>, String> {
    let Some(boot) = targets.iter().find(|t| t.boot_index == 0) else {
        return Ok(None);
    };
    if !is_iscsi(boot) {
        return Ok(None);
    }
    let props = &boot.properties;
    let extra_volumes = targets
        .iter()
        .filter(|t| t.boot_index != 0 && is_iscsi(t))
        .enumerate()
        .map(|(i, t)| extra_volume(i, t))
        .collect::<Result<_, _>>()?;
    Ok(Some(BfvOptions {
        username: props.get("auth_username").map(text),
        password: props.get("auth_password").map(text),
        initiator_iqn: initiator_iqn(connectors),
        boot_urls: iscsi_urls(boot)?,
        extra_volumes,
    }))
}

fn is_iscsi(target: &VolumeTarget) -> bool {
    target.volume_type.contains("iscsi")
}

/// The last connector of type `iqn` wins, as in Ironic.
fn initiator_iqn(connectors: &[VolumeConnector]) -> Option<String> {
    connectors
        .iter()
        .rfind(|c| c.connector_type == "iqn")
        .map(|c| c.connector_id.clone())
}

/// Extra volumes must carry CHAP credentials: the script sets them before each hook.
fn extra_volume(index: usize, target: &VolumeTarget) -> Result<ExtraVolume, String> {
    let credential = |key: &str| {
        target.properties.get(key).map(text).ok_or_else(|| {
            format!(
                "Volume target {} has no {key} in its properties; extra iSCSI volumes need CHAP credentials.",
                target.uuid
            )
        })
    };
    Ok(ExtraVolume {
        drive: format!("{:#x}", BOOT_DRIVE + index as u32 + 1),
        url: iscsi_urls(target)?.join(" "),
        username: credential("auth_username")?,
        password: credential("auth_password")?,
    })
}

/// `iscsi:<host>::<port>:<lun-hex>:<iqn>` for the target's portal, or one such URL per
/// entry of `target_portals` (all with the same IQN and LUN).
pub fn iscsi_urls(target: &VolumeTarget) -> Result<Vec<String>, String> {
    let props = &target.properties;
    let missing = |key: &str| format!("Volume target {} has no {key}.", target.uuid);
    let iqn = property(props, "target_iqn").ok_or_else(|| missing("target_iqn"))?;
    let lun = property(props, "target_lun").ok_or_else(|| missing("target_lun"))?;
    let lun = lun.as_u64().ok_or_else(|| {
        format!(
            "Volume target {} has target_lun {lun}; it must be a non-negative integer.",
            target.uuid
        )
    })?;
    let iqn = text(&iqn);
    let portals: Vec<String> = match props.get("target_portals").and_then(Value::as_array) {
        Some(list) => list.iter().map(text).collect(),
        None => vec![text(
            &property(props, "target_portal").ok_or_else(|| missing("target_portal"))?,
        )],
    };
    Ok(portals
        .iter()
        .map(|portal| {
            let (host, port) = split_portal(portal);
            format!("iscsi:{host}::{port}:{lun:x}:{iqn}")
        })
        .collect())
}

/// `host:port`, `[v6]:port` or a bare host. Brackets are dropped as Ironic drops them.
fn split_portal(portal: &str) -> (&str, &str) {
    let (host, port) = portal.rsplit_once(':').unwrap_or((portal, ""));
    (host.trim_start_matches('[').trim_end_matches(']'), port)
}

/// Ironic's lookup: `K` unless empty, else `K + "s"`; of a list, the first element.
fn property(props: &common::model::JsonObject, key: &str) -> Option<Value> {
    let first = |v: Option<&Value>| match v {
        Some(Value::Array(items)) => items.first().cloned(),
        other => other.cloned(),
    };
    let empty = |v: &Option<Value>| matches!(v, None | Some(Value::Null)) || *v == Some("".into());
    let value = first(props.get(key));
    if !empty(&value) {
        return value;
    }
    let plural = first(props.get(&format!("{key}s")));
    if empty(&plural) { None } else { plural }
}

/// A property as the text the script carries: strings as they are, anything else as JSON.
fn text(value: &Value) -> String {
    match value {
        Value::String(s) => s.clone(),
        other => other.to_string(),
    }
}

/// An iPXE `set` command that stores `value` exactly.
///
/// iPXE has no quoting: a command line is split at whitespace, a token starting with `#`
/// begins a comment, `||`, `&&` and `;` tokens chain commands, and every `${...}` is
/// expanded (repeatedly, so expanded text is expanded again). `set` then joins its
/// remaining tokens with single spaces. A value that none of this touches is written
/// as is, so ordinary credentials give exactly the lines Ironic writes. Any other value
/// is written percent-encoded with the `:uristring` type, whose parser decodes it: the
/// line then holds only unreserved characters and `%`, which iPXE leaves alone, and the
/// setting receives the original bytes. An empty value clears the setting.
pub fn set_command(name: &str, value: &str) -> String {
    if value.is_empty() || is_literal_safe(value) {
        format!("set {name} {value}")
    } else {
        format!("set {name}:uristring {}", percent_encode(value))
    }
}

fn is_literal_safe(value: &str) -> bool {
    value
        .bytes()
        .all(|b| b.is_ascii_graphic() && !b"${}".contains(&b))
        && !value.starts_with('#')
        && !matches!(value, "||" | "&&" | ";")
}

fn percent_encode(value: &str) -> String {
    value
        .bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'.' | b'_' | b'~' => {
                (b as char).to_string()
            }
            _ => format!("%{b:02X}"),
        })
        .collect()
}

/// The two script templates, built in or replaced by the operator.
#[derive(Clone, Debug)]
pub struct Templates {
    bfv: String,
    boot: String,
}

impl Default for Templates {
    fn default() -> Templates {
        Templates {
            bfv: BFV_TEMPLATE.into(),
            boot: BOOT_TEMPLATE.into(),
        }
    }
}

impl Templates {
    /// The built-in templates, each replaced by the file the settings name, if any.
    /// Read once at start, so a bad path stops the conductor instead of failing boots.
    pub fn load(settings: &common::config::Settings) -> Result<Templates, String> {
        let read = |path: &Option<std::path::PathBuf>, name: &str, builtin: &str| match path {
            Some(path) => {
                std::fs::read_to_string(path).map_err(|e| format!("{name} {}: {e}", path.display()))
            }
            None => Ok(builtin.to_string()),
        };
        let templates = Templates {
            bfv: read(
                &settings.ipxe_template,
                "SANLINK_IPXE_TEMPLATE",
                BFV_TEMPLATE,
            )?,
            boot: read(
                &settings.ipxe_boot_template,
                "SANLINK_IPXE_BOOT_TEMPLATE",
                BOOT_TEMPLATE,
            )?,
        };
        // A template that does not parse is reported now rather than at the first boot.
        environment()
            .template_from_str(&templates.bfv)
            .map_err(|e| format!("SANLINK_IPXE_TEMPLATE: {e}"))?;
        environment()
            .template_from_str(&templates.boot)
            .map_err(|e| format!("SANLINK_IPXE_BOOT_TEMPLATE: {e}"))?;
        Ok(templates)
    }

    /// The per-node boot-from-volume script.
    pub fn render_bfv(
        &self,
        node_uuid: &str,
        boot_url: &str,
        options: &BfvOptions,
    ) -> Result<String, String> {
        let ctx = context! {
            node_uuid, boot_url, ..minijinja::Value::from(minijinja::value::Serde(options))
        };
        render(&self.bfv, ctx)
    }

    /// The generic entry script.
    pub fn render_boot(&self, boot_url: &str) -> Result<String, String> {
        render(&self.boot, context! { boot_url })
    }
}

/// Scripts are plain text: nothing is escaped, values go through `set` instead. A
/// misspelt variable in an operator's template fails loudly instead of rendering empty.
fn environment() -> Environment<'static> {
    let mut env = Environment::new();
    env.set_auto_escape_callback(|_| AutoEscape::None);
    env.set_undefined_behavior(UndefinedBehavior::Strict);
    env.add_function("set", |name: String, value: Option<String>| {
        set_command(&name, value.as_deref().unwrap_or_default())
    });
    env
}

fn render(source: &str, ctx: minijinja::Value) -> Result<String, String> {
    environment()
        .render_str(source, ctx)
        .map_err(|e| format!("rendering the iPXE script failed: {e}"))
}
