//! Storage interfaces (spec: boot-from-volume.md §2–3): whether a deploy writes an
//! image or boots an existing volume, what each interface accepts, and what a deploy
//! records in `driver_internal_info`.

mod cinder;
mod external;
mod noop;

use std::sync::Arc;

use async_trait::async_trait;

use common::model::JsonObject;
use common::model::node::Node;
use common::model::volume::{VolumeConnector, VolumeTarget};

use super::boot::Capability;
use super::validation::NodeView;

pub use cinder::generate_connector;

/// The driver_internal_info keys a deploy sets and a tear-down drops.
pub const INTERNAL_INFO_KEYS: [&str; 2] = ["boot_from_volume", "boot_from_volume_deploy"];

/// A node's volumes as attaching and detaching act on them: its connectors, and its
/// targets, whose `properties` the storage interface may change (the `cinder` one
/// writes what Cinder says about reaching the volume). The caller saves the targets
/// that changed ([`changed_targets`]) with the node.
#[derive(Clone, Debug, Default)]
pub struct Volumes {
    pub connectors: Vec<VolumeConnector>,
    pub targets: Vec<VolumeTarget>,
}

/// Why volumes are detached, which decides the errors tolerated (Ironic's
/// `detach_volumes` and its callers).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum DetachReason {
    /// A tear-down: every attachment must go; failures are retried, then fail.
    TearDown,
    /// An active node was powered off: failures are logged and tolerated.
    PowerOff,
    /// An attach failed half-way: the first attempt must succeed, the retries tolerate
    /// failures.
    AbortAttach,
}

#[async_trait]
pub trait Storage: Send + Sync {
    /// False when the node boots an existing volume instead of getting an image written.
    fn should_write_image(&self, node: &Node, targets: &[VolumeTarget]) -> bool;

    /// Validates the node's storage configuration.
    fn validate(&self, view: &NodeView<'_>) -> Result<(), String>;

    /// Attaches the node's volumes before it boots, recording in `volumes.targets` how
    /// the node reaches them. On failure nothing stays attached. Only `cinder` attaches
    /// anything: for the others the volumes are attached outside sanlink.
    async fn attach_volumes(&self, _node: &Node, _volumes: &mut Volumes) -> Result<(), String> {
        Ok(())
    }

    /// Detaches the node's volumes.
    async fn detach_volumes(
        &self,
        _node: &Node,
        _volumes: &mut Volumes,
        _reason: DetachReason,
    ) -> Result<(), String> {
        Ok(())
    }
}

/// The implementation named `name`; `cinder` is the Cinder client the conductor was
/// configured with, if any.
pub fn select(
    name: &str,
    cinder: Option<&Arc<common::cinder::Cinder>>,
) -> Option<Box<dyn Storage>> {
    Some(match name {
        // Ironic's `fake` storage interface behaves as `noop` does.
        "noop" | "fake" => Box::new(noop::Noop),
        "external" => Box::new(external::External),
        "cinder" => Box::new(cinder::Cinder {
            client: cinder.cloned(),
        }),
        _ => return None,
    })
}

/// The targets of `after` whose properties differ from their state in `before`: what
/// the caller has to save.
pub fn changed_targets(before: &[VolumeTarget], after: Vec<VolumeTarget>) -> Vec<VolumeTarget> {
    after
        .into_iter()
        .filter(|t| {
            before
                .iter()
                .find(|b| b.uuid == t.uuid)
                .is_none_or(|b| b.properties != t.properties)
        })
        .collect()
}

/// The boot volume: the target with boot index 0.
pub fn boot_volume(targets: &[VolumeTarget]) -> Option<&VolumeTarget> {
    targets.iter().find(|t| t.boot_index == 0)
}

/// For the interfaces that can boot volumes: an image is written unless the node has a
/// boot volume and no `image_source`.
fn image_requested(node: &Node, targets: &[VolumeTarget]) -> bool {
    node.instance_info.contains_key("image_source") || boot_volume(targets).is_none()
}

/// Whether the boot interface can boot a volume over iPXE, as the storage checks ask.
fn has_ipxe_boot(view: &NodeView<'_>) -> bool {
    view.driver
        .boot
        .capabilities()
        .contains(&Capability::IpxeBoot)
}

/// The node's boot interface, as messages name it.
fn boot_name(node: &Node) -> &str {
    node.interfaces.boot.as_deref().unwrap_or("")
}

/// What a deploy records about the boot volume (`populate_storage_driver_internal_info`).
/// Fails when the hardware cannot boot the boot volume's type at all.
pub fn populate_internal_info(
    node: &Node,
    boot_capabilities: &[Capability],
    targets: &[VolumeTarget],
    info: &mut JsonObject,
) -> Result<(), String> {
    let Some(volume) = boot_volume(targets) else {
        return Ok(());
    };
    let (capability, label, boot_capability) = match volume.volume_type.to_lowercase().as_str() {
        "iscsi" => ("iscsi_boot", "iSCSI", Capability::IscsiVolumeBoot),
        "fibre_channel" => (
            "fibre_channel_boot",
            "Fibre Channel",
            Capability::FibreChannelVolumeBoot,
        ),
        _ => return Ok(()),
    };
    // Only the key's presence counts here, as in Ironic.
    if node.capability(capability).is_none() {
        return Err(format!(
            "Node {} has an {label} boot volume defined and no {label} boot support available.",
            node.uuid
        ));
    }
    if boot_capabilities.contains(&boot_capability) {
        info.insert("boot_from_volume".into(), volume.uuid.clone().into());
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::drivers::testing::{self, connector, target};
    use common::model::volume::VolumeConnector;
    use serde_json::json;

    fn node(storage: &str, boot: &str, caps: &str) -> Node {
        let mut n = testing::fake_node();
        n.interfaces.storage = Some(storage.into());
        n.interfaces.boot = Some(boot.into());
        if !caps.is_empty() {
            n.properties.insert("capabilities".into(), json!(caps));
        }
        n
    }

    fn check(
        n: &Node,
        c: &[VolumeConnector],
        t: &[VolumeTarget],
        cinder: bool,
    ) -> Result<(), String> {
        let driver = testing::driver(n);
        let view = NodeView {
            cinder_configured: cinder,
            ..testing::view(n, &driver, c, t)
        };
        driver.storage.validate(&view)
    }

    fn should_write_image(n: &Node, t: &[VolumeTarget]) -> bool {
        testing::driver(n).storage.should_write_image(n, t)
    }

    #[test]
    fn noop_always_writes_an_image_and_validates() {
        let n = node("noop", "pxe", "");
        assert!(should_write_image(&n, &[target("iscsi", 0)]));
        assert!(check(&n, &[], &[target("bogus", 0)], false).is_ok());
    }

    #[test]
    fn boot_volume_without_image_source_means_boot_from_volume() {
        let mut n = node("external", "ipxe", "");
        assert!(!should_write_image(&n, &[target("iscsi", 0)]));
        assert!(should_write_image(&n, &[target("iscsi", 1)]));
        n.instance_info.insert("image_source".into(), json!("img"));
        assert!(should_write_image(&n, &[target("iscsi", 0)]));
    }

    #[test]
    fn external_needs_ipxe_boot_only_for_boot_from_volume() {
        let t = [target("iscsi", 0)];
        assert!(check(&node("external", "ipxe", ""), &[], &t, false).is_ok());
        assert!(check(&node("external", "http-ipxe", ""), &[], &t, false).is_ok());
        assert!(check(&node("external", "fake", ""), &[], &t, false).is_ok());
        let e = check(&node("external", "pxe", ""), &[], &t, false).unwrap_err();
        assert!(e.contains("``ipxe``"), "{e}");
        assert!(check(&node("external", "pxe", ""), &[], &[], false).is_ok());
    }

    #[test]
    fn cinder_checks_connectors_capabilities_and_targets() {
        let iqn = [connector("iqn", "iqn.2024-01.org:n1")];
        let t = [target("iscsi", 0)];
        // An iqn connector needs an iPXE-capable boot interface.
        let e = check(&node("cinder", "pxe", "iscsi_boot:true"), &iqn, &t, true).unwrap_err();
        assert!(e.contains("ipxe_enabled"), "{e}");
        // iscsi_boot without an iqn connector.
        let e = check(&node("cinder", "ipxe", "iscsi_boot:true"), &[], &[], true).unwrap_err();
        assert!(e.contains("'iscsi_boot' capability"), "{e}");
        // A boot volume without the capability.
        let e = check(&node("cinder", "ipxe", ""), &iqn, &t, true).unwrap_err();
        assert!(e.contains("capability 'iscsi_boot' is not set"), "{e}");
        // A target without a matching connector.
        let fc = [target("fibre_channel", 1)];
        let e = check(&node("cinder", "ipxe", ""), &[], &fc, true).unwrap_err();
        assert!(e.contains("no Fibre Channel connector"), "{e}");
        // Unknown volume types are refused.
        let e = check(&node("cinder", "ipxe", ""), &[], &[target("nfs", 1)], true).unwrap_err();
        assert!(e.contains("unknown type 'nfs'"), "{e}");
        // Mismatched FC connector counts.
        let wwxn = [
            connector("wwpn", "a"),
            connector("wwnn", "b"),
            connector("wwnn", "c"),
        ];
        let e = check(&node("cinder", "ipxe", ""), &wwxn, &[], true).unwrap_err();
        assert!(e.contains("differ"), "{e}");
        // A good configuration passes, unless no Cinder endpoint is configured.
        let good = node("cinder", "ipxe", "iscsi_boot:true");
        assert!(check(&good, &iqn, &t, true).is_ok());
        let e = check(&good, &iqn, &t, false).unwrap_err();
        assert!(e.contains("No Cinder endpoint"), "{e}");
    }

    #[test]
    fn deploy_records_the_boot_volume_when_the_boot_interface_can_boot_it() {
        let t = [target("iscsi", 0)];
        let populate = |boot: &str, caps: &str, info: &mut JsonObject| {
            let n = node("external", boot, caps);
            let capabilities = testing::driver(&n).boot.capabilities();
            populate_internal_info(&n, capabilities, &t, info)
        };
        let mut info = JsonObject::new();
        let e = populate("ipxe", "", &mut info).unwrap_err();
        assert!(e.contains("no iSCSI boot support"), "{e}");
        // The key's presence is enough, whatever its value.
        populate("ipxe", "iscsi_boot:false", &mut info).unwrap();
        assert_eq!(info.get("boot_from_volume"), Some(&json!("t-0")));
        let mut info = JsonObject::new();
        populate("fake", "iscsi_boot:true", &mut info).unwrap();
        assert!(info.is_empty());
    }
}
