//! Deploy interfaces: how a node gets its instance and loses it again. sanlink drives no
//! agent ramdisk, so the real interfaces deploy only instances that boot an existing
//! volume; `fake` changes nothing on the hardware.

mod agent;
mod fake;

use async_trait::async_trait;

use common::model::node::Node;
use common::model::states::PowerTarget;

use super::Driver;
use super::management::BootDevice;
use super::power::power_action;
use super::storage::{DetachReason, Volumes, populate_internal_info};
use super::validation::NodeView;

#[async_trait]
pub trait Deploy: Send + Sync {
    /// Checks that the node can be deployed.
    fn validate(&self, view: &NodeView<'_>) -> Result<(), String>;

    /// Boots the node into its instance; an error says why the deploy failed. What the
    /// storage interface records in the volume targets is left in `volumes`.
    async fn deploy(
        &self,
        driver: &Driver,
        node: &mut Node,
        volumes: &mut Volumes,
    ) -> Result<(), String>;

    /// Stops the instance and detaches its volumes; an error says why the tear-down
    /// failed.
    async fn tear_down(
        &self,
        driver: &Driver,
        node: &mut Node,
        volumes: &mut Volumes,
    ) -> Result<(), String>;

    /// Whether a tear-down deletes the node's volume targets (Ironic's
    /// `tear_down_storage_configuration`).
    fn deletes_volume_targets(&self) -> bool;
}

/// The implementation named `name`.
pub fn select(name: &str) -> Option<Box<dyn Deploy>> {
    Some(match name {
        "fake" => Box::new(fake::Fake),
        "autodetect" | "direct" | "bootc" | "anaconda" => Box::new(agent::Agent {
            needs_image_source: true,
        }),
        "ramdisk" => Box::new(agent::Agent {
            needs_image_source: false,
        }),
        _ => return None,
    })
}

/// The deploy interface of a node, as messages name it.
fn name_of(node: &Node) -> &str {
    node.interfaces.deploy.as_deref().unwrap_or_default()
}

/// What every real deploy interface checks: the capabilities, the boot interface, and
/// the image to write when there is one (`image_source` is optional for `ramdisk`).
fn validate_common(view: &NodeView<'_>, needs_image_source: bool) -> Result<(), String> {
    let node = view.node;
    validate_capabilities(node)?;
    view.driver.boot.validate(view)?;
    if needs_image_source
        && view.driver.storage.should_write_image(node, view.targets)
        && !node.instance_info.contains_key("image_source")
    {
        return Err(format!(
            "Some parameters were missing in node's instance_info. Missing are: ['image_source'] (node {}).",
            node.uuid
        ));
    }
    Ok(())
}

/// `properties.capabilities` must be a `"k:v,k:v"` string.
fn validate_capabilities(node: &Node) -> Result<(), String> {
    let Some(caps) = node.properties.get("capabilities") else {
        return Ok(());
    };
    let invalid = || {
        Err(format!(
            "Value of the capabilities property of node {} is invalid: {caps}. It must be a string of key:value pairs separated by commas.",
            node.uuid
        ))
    };
    let Some(text) = caps.as_str() else {
        return invalid();
    };
    let malformed = text
        .split(',')
        .filter(|e| !e.is_empty())
        .any(|e| e.split(':').count() != 2);
    if malformed { invalid() } else { Ok(()) }
}

/// What an agent-based deploy does when the instance boots from its volume: record the
/// boot volume, attach the volumes, check that the boot volume can be booted (with the
/// properties the attach recorded), point an iPXE node at the network, and power on.
/// Writing images needs the agent ramdisk, which sanlink does not drive.
async fn boot_existing_volume(
    driver: &Driver,
    node: &mut Node,
    volumes: &mut Volumes,
) -> Result<(), String> {
    let targets = &volumes.targets;
    if driver.storage.should_write_image(node, targets) {
        return Err(format!(
            "Node {} needs an image written by the {} deploy interface, which sanlink does not support; only boot from an existing volume is.",
            node.uuid,
            name_of(node)
        ));
    }
    let mut info = node.driver_internal_info.clone();
    populate_internal_info(node, driver.boot.capabilities(), targets, &mut info)?;
    node.driver_internal_info = info;
    driver.storage.attach_volumes(node, volumes).await?;
    if let Err(e) = crate::boot::check_deploy(driver.boot.as_ref(), node, &volumes.targets) {
        // Attached but not bootable: give the volumes back before failing.
        let reason = DetachReason::AbortAttach;
        if let Err(d) = driver.storage.detach_volumes(node, volumes, reason).await {
            tracing::error!(node = %node.uuid, error = %d, "detaching after a failed deploy failed");
        }
        return Err(e);
    }
    // iPXE boots the volume from the network, on every boot.
    if driver.boot.boots_with_ipxe() {
        driver
            .management
            .set_boot_device(node, BootDevice::Pxe, true)
            .await
            .map_err(|e| format!("Failed to set the boot device of node {}: {e}", node.uuid))?;
    }
    power_action(driver, node, volumes, PowerTarget::PowerOn, None).await
}

/// A real tear-down powers the node off, then detaches its volumes (Ironic's agent
/// `tear_down`).
async fn power_off_and_detach(
    driver: &Driver,
    node: &mut Node,
    volumes: &mut Volumes,
) -> Result<(), String> {
    power_action(driver, node, volumes, PowerTarget::PowerOff, None).await?;
    driver
        .storage
        .detach_volumes(node, volumes, DetachReason::TearDown)
        .await
}
