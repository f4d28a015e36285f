//! The `cinder` storage interface (Ironic's `storage/cinder.py` and
//! `common/cinder.py`): checks connectors, capabilities and targets as Ironic's does,
//! and attaches and detaches the node's volumes through Cinder.
//!
//! Attaching a volume reserves it, hands Cinder the node's connector
//! ([`generate_connector`]) and takes the connection info it answers as the target's
//! `properties` (what the iPXE script logs in with), then marks the volume attached to
//! the node's instance (or the node). A volume Cinder already shows attached to the
//! node or its instance (Nova attached it) is left alone, properties included. When
//! anything fails, what was attached is detached again before the error is returned.

use std::sync::Arc;

use serde_json::Value;

use common::cinder::{Cinder as Client, CinderError, ConnectionInfo, Volume};
use common::model::JsonObject;
use common::model::node::{Node, truthy};
use common::model::volume::{VolumeConnector, VolumeTarget};

use super::{DetachReason, Storage, Volumes, has_ipxe_boot, image_requested};
use crate::drivers::validation::NodeView;

const ISCSI_CONNECTOR_TYPES: [&str; 1] = ["iqn"];
const FC_CONNECTOR_TYPES: [&str; 2] = ["wwpn", "wwnn"];

/// The mountpoint Cinder records for a node's attachment (it requires one).
const MOUNTPOINT: &str = "ironic_mountpoint";
/// The key attach adds to the connection info it stores as a target's properties.
const VOLUME_UUID_KEY: &str = "ironic_volume_uuid";

pub struct Cinder {
    /// The conductor's Cinder client; none when no Cinder is configured.
    pub client: Option<Arc<Client>>,
}

#[async_trait::async_trait]
impl Storage for Cinder {
    fn should_write_image(&self, node: &Node, targets: &[VolumeTarget]) -> bool {
        image_requested(node, targets)
    }

    fn validate(&self, view: &NodeView<'_>) -> Result<(), String> {
        validate_cinder(view)
    }

    async fn attach_volumes(&self, node: &Node, volumes: &mut Volumes) -> Result<(), String> {
        if volumes.targets.is_empty() {
            return Ok(());
        }
        let Some(client) = &self.client else {
            return Err(format!(
                "Unable to attach volumes of node {}: no Cinder endpoint is configured.",
                node.uuid
            ));
        };
        let connector = generate_connector(node, &volumes.connectors)?;
        match attach(client, node, &volumes.targets, &connector).await {
            Ok(connected) => {
                // Only newly attached volumes: the properties of those attached before
                // (by Nova) are Nova's to set.
                for (volume_id, data) in connected {
                    for target in volumes.targets.iter_mut() {
                        if target.volume_id == volume_id {
                            target.properties = data.clone();
                        }
                    }
                }
                Ok(())
            }
            Err(e) => {
                tracing::error!(node = %node.uuid, error = %e, "error attaching volumes");
                let aborted = detach_with_retries(
                    client,
                    node,
                    &volumes.targets,
                    &connector,
                    DetachReason::AbortAttach,
                )
                .await;
                if let Err(d) = aborted {
                    tracing::error!(node = %node.uuid, error = %d, "aborting the attach failed");
                }
                Err(e)
            }
        }
    }

    async fn detach_volumes(
        &self,
        node: &Node,
        volumes: &mut Volumes,
        reason: DetachReason,
    ) -> Result<(), String> {
        if volumes.targets.is_empty() {
            return Ok(());
        }
        // Without Cinder sanlink cannot have attached anything.
        let Some(client) = &self.client else {
            return Ok(());
        };
        let connector = generate_connector(node, &volumes.connectors)?;
        detach_with_retries(client, node, &volumes.targets, &connector, reason).await?;
        // Ironic leaves the connection info attach wrote in the targets' properties;
        // sanlink clears it at tear-down, so that no stale portal or CHAP secret
        // outlives the attachment. Attach replaced whatever properties the target had
        // with Cinder's (as Ironic does), so there is nothing older to restore: the
        // properties become empty. Only what sanlink's attach wrote is cleared (it
        // carries `ironic_volume_uuid`); properties Nova set for the volumes it attached
        // stay. After a power-off the properties stay, as in Ironic: the next power-on
        // attaches again and replaces them.
        if reason == DetachReason::TearDown {
            for target in volumes.targets.iter_mut() {
                if target.properties.contains_key(VOLUME_UUID_KEY) {
                    target.properties = JsonObject::new();
                }
            }
        }
        Ok(())
    }
}

/// The connector Cinder is handed for the node (Ironic's `_generate_connector`): the
/// first `iqn` as `initiator`, the first `ip`, every `wwpn` and `wwnn`; the node's uuid as
/// `host`; multipath when the node has several connectors. Other connector types (`mac`) are logged and left out.
pub fn generate_connector(
    node: &Node,
    connectors: &[VolumeConnector],
) -> Result<JsonObject, String> {
    let mut data = JsonObject::new();
    let mut valid = false;
    let push = |data: &mut JsonObject, key: &str, id: &str| {
        let list = data.entry(key).or_insert_with(|| Value::Array(Vec::new()));
        if let Value::Array(items) = list {
            items.push(id.into());
        }
    };
    for c in connectors {
        let id = c.connector_id.as_str();
        match c.connector_type.as_str() {
            "iqn" => {
                if !data.contains_key("initiator") {
                    data.insert("initiator".into(), id.into());
                }
                valid = true;
            }
            "ip" => {
                if !data.contains_key("ip") {
                    data.insert("ip".into(), id.into());
                }
            }
            "wwpn" => {
                push(&mut data, "wwpns", id);
                valid = true;
            }
            "wwnn" => {
                push(&mut data, "wwnns", id);
                valid = true;
            }
            other => tracing::warn!(
                node = %node.uuid,
                connector = %c.uuid,
                kind = other,
                "the node has a volume connector of an unsupported type"
            ),
        }
    }
    if !valid {
        let types: Vec<&str> = FC_CONNECTOR_TYPES
            .iter()
            .chain(&ISCSI_CONNECTOR_TYPES)
            .copied()
            .collect();
        return Err(format!(
            "Insufficient or incompatible volume connection records for node {}. Valid connector types: {}",
            node.uuid,
            types.join(", ")
        ));
    }
    data.insert("host".into(), node.uuid.clone().into());
    // Counted with `host`, as Ironic counts: several connectors mean multipath.
    if connectors.len() > 1 && data.len() > 1 {
        data.insert("multipath".into(), true.into());
    }
    Ok(data)
}

/// The servers an attachment of the node names: its instance or the node itself.
fn servers(node: &Node) -> Vec<&str> {
    let mut ids = vec![node.uuid.as_str()];
    ids.extend(node.instance_uuid.as_deref());
    ids
}

/// The instance Cinder records an attachment for.
fn instance(node: &Node) -> &str {
    node.instance_uuid.as_deref().unwrap_or(&node.uuid)
}

/// A Cinder error as storage messages carry it: one that kept Cinder from being asked
/// at all is Ironic's failure to connect, whatever the step.
fn connect_failure(e: &CinderError) -> Option<String> {
    match e {
        CinderError::Unavailable(m) => {
            Some(format!("Failed to connect to block storage service : {m}"))
        }
        CinderError::Request(_) => None,
    }
}

/// The distinct volumes of the targets, in order.
fn volume_ids(targets: &[VolumeTarget]) -> Vec<&str> {
    let mut ids: Vec<&str> = Vec::new();
    for t in targets {
        if !ids.contains(&t.volume_id.as_str()) {
            ids.push(&t.volume_id);
        }
    }
    ids
}

/// The volume metadata telling Cinder's users which node holds the volume, as Ironic
/// writes it (one key, a JSON string: Cinder's metadata is flat).
fn metadata(node: &Node, action: &str) -> JsonObject {
    let last_seen = chrono::Utc::now()
        .naive_utc()
        .format("%Y-%m-%dT%H:%M:%S%.6f")
        .to_string();
    // Python's json.dumps layout, as Ironic writes it.
    let text = format!(
        "{{\"instance_uuid\": {}, \"last_seen\": {}, \"last_action\": {}}}",
        Value::from(instance(node)),
        Value::from(last_seen),
        Value::from(action)
    );
    let mut out = JsonObject::new();
    out.insert(format!("ironic_node_{}", node.uuid), text.into());
    out
}

/// Attaches each target's volume that is not attached to the node yet; returns the
/// connection data of those it attached, by volume id. On failure, a volume that was
/// reserved and not attached is unreserved; the caller detaches the others.
async fn attach(
    client: &Client,
    node: &Node,
    targets: &[VolumeTarget],
    connector: &JsonObject,
) -> Result<Vec<(String, JsonObject)>, String> {
    let uuid = &node.uuid;
    let mut connected = Vec::new();
    for vol in volume_ids(targets) {
        let volume: Volume = client.get_volume(vol).await.map_err(|e| {
            connect_failure(&e).unwrap_or_else(|| {
                format!("Failed to get volume {vol} from cinder for node {uuid}: {e}")
            })
        })?;
        if volume.attachment_to(&servers(node)).is_some() {
            if has_connection_info(targets, vol) {
                tracing::debug!(node = %uuid, volume = vol, "volume already attached; skipping");
                continue;
            }
            // Attached to the node, but no target holds how to reach it: a conductor
            // stopped between Cinder's attach and saving the targets, and the deploy
            // runs again. Initializing the connection again answers the same data
            // (as when Nova refreshes a connection), without a second attachment.
            let info = client
                .initialize_connection(vol, connector)
                .await
                .map_err(|e| {
                    connect_failure(&e).unwrap_or_else(|| {
                        format!(
                            "Failed to initialize connection for volume {vol} to node {uuid}: {e}"
                        )
                    })
                })?;
            connected.push((volume.id.clone(), connection_data(info, vol, &volume.id)));
            continue;
        }
        client.reserve(vol).await.map_err(|e| {
            connect_failure(&e)
                .unwrap_or_else(|| format!("Failed to reserve volume {vol} for node {uuid}: {e})"))
        })?;
        let info = match client.initialize_connection(vol, connector).await {
            Ok(info) => info,
            Err(e) => {
                unreserve(client, node, vol).await;
                return Err(connect_failure(&e).unwrap_or_else(|| {
                    format!("Failed to initialize connection for volume {vol} to node {uuid}: {e}")
                }));
            }
        };
        let data = connection_data(info, vol, &volume.id);
        tracing::info!(node = %uuid, volume = vol, "initialized the volume's connection");
        if let Err(e) = client.attach(vol, MOUNTPOINT, instance(node)).await {
            // Not attached, so the abort's detach would skip it: give it back here.
            if let Err(t) = client.terminate_connection(vol, connector).await {
                tracing::warn!(node = %uuid, volume = vol, error = %t, "failed to terminate the connection");
            }
            unreserve(client, node, vol).await;
            return Err(connect_failure(&e).unwrap_or_else(|| {
                format!("Failed to inform cinder that the attachment for volume {vol} for node {uuid} has been completed: {e}")
            }));
        }
        if let Err(e) = client.set_metadata(vol, &metadata(node, "attached")).await {
            tracing::warn!(node = %uuid, volume = vol, error = %e, "failed to update the volume's metadata");
        }
        connected.push((volume.id, data));
    }
    Ok(connected)
}

/// What a target records of a connection: Cinder's data, with the volume's id (as
/// asked, and as Cinder names it).
fn connection_data(info: ConnectionInfo, asked: &str, id: &str) -> JsonObject {
    let mut data = info.data;
    if !data.contains_key("volume_id") {
        data.insert("volume_id".into(), asked.into());
    }
    data.insert(VOLUME_UUID_KEY.into(), id.into());
    data
}

/// Whether a target of the volume holds connection data (any properties: Nova's, or
/// those an earlier attach wrote).
fn has_connection_info(targets: &[VolumeTarget], vol: &str) -> bool {
    targets
        .iter()
        .any(|t| t.volume_id == vol && !t.properties.is_empty())
}

async fn unreserve(client: &Client, node: &Node, vol: &str) {
    if let Err(e) = client.unreserve(vol).await {
        tracing::warn!(node = %node.uuid, volume = vol, error = %e, "failed to unreserve the volume");
    }
}

/// Detaches, trying again `action_retries` times `action_retry_interval` apart (Ironic's
/// retrying decorator). A power-off tolerates every Cinder error (logged); an abort
/// tolerates them after its first attempt.
async fn detach_with_retries(
    client: &Client,
    node: &Node,
    targets: &[VolumeTarget],
    connector: &JsonObject,
    reason: DetachReason,
) -> Result<(), String> {
    let settings = client.settings();
    let mut attempt = 0;
    loop {
        let allow_errors = reason == DetachReason::PowerOff
            || (reason == DetachReason::AbortAttach && attempt > 0);
        let Err(e) = detach(client, node, targets, connector, allow_errors).await else {
            return Ok(());
        };
        let message = if reason == DetachReason::AbortAttach {
            format!(
                "Error on aborting volume detach for node {}: {e}.",
                node.uuid
            )
        } else {
            format!("Error detaching volume for node {}: {e}.", node.uuid)
        };
        if attempt >= settings.action_retries {
            tracing::error!(node = %node.uuid, "{message}");
            return Err(message);
        }
        attempt += 1;
        tracing::warn!(node = %node.uuid, "{message} Re-attempting detachment.");
        tokio::time::sleep(settings.action_retry_interval).await;
    }
}

/// One pass over the volumes (Ironic's `cinder.detach_volumes`). With `allow_errors`,
/// a failed step is logged and the pass goes on.
async fn detach(
    client: &Client,
    node: &Node,
    targets: &[VolumeTarget],
    connector: &JsonObject,
    allow_errors: bool,
) -> Result<(), String> {
    let uuid = &node.uuid;
    let handle = |e: &CinderError, message: String| -> Result<(), String> {
        if let Some(failure) = connect_failure(e) {
            return Err(failure);
        }
        if allow_errors {
            tracing::warn!(node = %uuid, "{message}");
            Ok(())
        } else {
            Err(message)
        }
    };
    for vol in volume_ids(targets) {
        let volume = match client.get_volume(vol).await {
            Ok(volume) => volume,
            Err(e) => {
                // The volume may be gone already.
                handle(
                    &e,
                    format!("Failed to get volume {vol} from cinder for node {uuid}: {e}"),
                )?;
                continue;
            }
        };
        let Some(attachment) = volume.attachment_to(&servers(node)) else {
            tracing::debug!(node = %uuid, volume = vol, "volume not attached to the node; skipping");
            continue;
        };
        if let Err(e) = client.begin_detaching(vol).await {
            // Only the volume's status: the detach can go on.
            handle(
                &e,
                format!(
                    "Failed to request detach for volume {vol} from cinder for node {uuid}: {e}"
                ),
            )?;
        }
        if let Err(e) = client.terminate_connection(vol, connector).await {
            handle(
                &e,
                format!("Failed to detach volume {vol} from node {uuid}: {e}"),
            )?;
            continue;
        }
        if let Err(e) = client
            .detach(vol, attachment.attachment_id.as_deref())
            .await
        {
            handle(
                &e,
                format!(
                    "Failed to inform cinder that the detachment for volume {vol} from node {uuid} has been completed: {e}"
                ),
            )?;
        }
        if let Err(e) = client.set_metadata(vol, &metadata(node, "detached")).await {
            tracing::warn!(node = %uuid, volume = vol, error = %e, "failed to update the volume's metadata");
        }
    }
    Ok(())
}

/// Which connector kinds a node has, as Ironic's cinder `_validate_connectors` counts them.
struct FoundConnectors {
    iscsi: bool,
    fc: bool,
}

fn cinder_failure(node: &Node, reason: String) -> String {
    format!(
        "Failed to validate cinder storage interface for node {}. {reason}",
        node.uuid
    )
}

fn check_connectors(view: &NodeView<'_>) -> Result<FoundConnectors, String> {
    let node = view.node;
    let mut iscsi = 0;
    let (mut wwpn, mut wwnn) = (0, 0);
    for c in view.connectors {
        let kind = c.connector_type.as_str();
        if ISCSI_CONNECTOR_TYPES.contains(&kind) {
            iscsi += 1;
            if !has_ipxe_boot(view) {
                return Err(cinder_failure(
                    node,
                    "The [pxe]/ipxe_enabled option must be set to True or the boot interface must be set to ``ipxe`` to support network booting to an iSCSI volume.".into(),
                ));
            }
        }
        match kind {
            "wwpn" => wwpn += 1,
            "wwnn" => wwnn += 1,
            _ => {}
        }
    }
    if wwnn > 0 && wwpn != wwnn {
        return Err(cinder_failure(
            node,
            format!(
                "The number of wwpn connectors ({wwpn}) and wwnn connectors ({wwnn}) of the node differ."
            ),
        ));
    }
    Ok(FoundConnectors {
        iscsi: iscsi > 0,
        fc: wwpn > 0,
    })
}

fn capability_set(node: &Node, key: &str) -> bool {
    node.capability(key).is_some_and(|v| truthy(&v))
}

fn check_target(
    node: &Node,
    t: &VolumeTarget,
    found: &FoundConnectors,
    iscsi_boot: bool,
    fc_boot: bool,
) -> Result<(), String> {
    let fail = |reason: String| Err(cinder_failure(node, reason));
    if t.volume_id.is_empty() {
        return fail(format!("volume_id missing from target {}.", t.uuid));
    }
    let (capable, connected, capability) = match t.volume_type.as_str() {
        "fibre_channel" => (fc_boot, found.fc, "fibre_channel_boot"),
        "iscsi" => (iscsi_boot, found.iscsi, "iscsi_boot"),
        other => {
            return fail(format!(
                "Volume target {} is of an unknown type '{other}'. Supported types: 'iscsi' or 'fibre_channel'",
                t.uuid
            ));
        }
    };
    if t.boot_index == 0 && !capable {
        return fail(format!(
            "Volume target {} is configured for '{}', but the capability '{capability}' is not set for node {}.",
            t.uuid, t.volume_type, node.uuid
        ));
    }
    if !connected {
        return fail(format!(
            "Volume target {} is configured for '{}', but no {} connector information is defined for node {}.",
            t.uuid,
            t.volume_type,
            if t.volume_type == "iscsi" {
                "iSCSI"
            } else {
                "Fibre Channel"
            },
            node.uuid
        ));
    }
    Ok(())
}

fn validate_cinder(view: &NodeView<'_>) -> Result<(), String> {
    let node = view.node;
    let found = check_connectors(view)?;
    let iscsi_boot = capability_set(node, "iscsi_boot");
    let fc_boot = capability_set(node, "fibre_channel_boot");
    if iscsi_boot && !found.iscsi {
        return Err(cinder_failure(
            node,
            format!(
                "In order to enable the 'iscsi_boot' capability for the node, an associated volume_connector type must be valid for iSCSI ({}).",
                ISCSI_CONNECTOR_TYPES.join(", ")
            ),
        ));
    }
    if fc_boot && !found.fc {
        return Err(cinder_failure(
            node,
            format!(
                "In order to enable the 'fibre_channel_boot' capability for the node, an associated volume_connector type must be valid for Fibre Channel ({}).",
                FC_CONNECTOR_TYPES.join(", ")
            ),
        ));
    }
    for t in view.targets {
        check_target(node, t, &found, iscsi_boot, fc_boot)?;
    }
    if !view.cinder_configured {
        return Err(cinder_failure(
            node,
            "No Cinder endpoint is configured, so volumes cannot be attached through Cinder; use the 'external' storage interface.".into(),
        ));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;
    use crate::drivers::testing::{connector, fake_node};

    fn generated(connectors: &[VolumeConnector]) -> Result<Value, String> {
        generate_connector(&fake_node(), connectors).map(Value::Object)
    }

    #[test]
    fn an_iscsi_connector_names_the_initiator_and_the_host() {
        let node = fake_node();
        let c = generated(&[connector("iqn", "iqn.2024-01.org:n1")]).unwrap();
        assert_eq!(
            c,
            json!({"initiator": "iqn.2024-01.org:n1", "host": node.uuid})
        );
    }

    #[test]
    fn the_first_iqn_and_ip_count_and_every_wwn() {
        let node = fake_node();
        let c = generated(&[
            connector("iqn", "iqn.a"),
            connector("ip", "192.0.2.1"),
            connector("iqn", "iqn.b"),
            connector("ip", "192.0.2.2"),
            connector("wwpn", "p1"),
            connector("wwnn", "n1"),
            connector("wwpn", "p2"),
            connector("wwnn", "n2"),
            connector("mac", "52:54:00:12:34:56"),
        ])
        .unwrap();
        assert_eq!(
            c,
            json!({
                "initiator": "iqn.a",
                "ip": "192.0.2.1",
                "wwpns": ["p1", "p2"],
                "wwnns": ["n1", "n2"],
                "host": node.uuid,
                "multipath": true,
            })
        );
    }

    #[test]
    fn fibre_channel_alone_is_enough() {
        let node = fake_node();
        let c = generated(&[connector("wwpn", "p1")]).unwrap();
        assert_eq!(c, json!({"wwpns": ["p1"], "host": node.uuid}));
        let c = generated(&[connector("wwnn", "n1")]).unwrap();
        assert_eq!(c, json!({"wwnns": ["n1"], "host": node.uuid}));
    }

    #[test]
    fn several_connectors_mean_multipath_as_ironic_counts() {
        // Ironic counts `host` among the keys, so a second connector of any type,
        // even one left out (mac), turns multipath on.
        let c = generated(&[connector("iqn", "iqn.a"), connector("mac", "m")]).unwrap();
        assert_eq!(c["multipath"], json!(true));
        let c = generated(&[connector("iqn", "iqn.a"), connector("ip", "192.0.2.1")]).unwrap();
        assert_eq!(c["multipath"], json!(true));
        let c = generated(&[connector("iqn", "iqn.a")]).unwrap();
        assert!(c.get("multipath").is_none());
    }

    #[test]
    fn without_iqn_or_wwn_there_is_no_connector() {
        let node = fake_node();
        let expected = format!(
            "Insufficient or incompatible volume connection records for node {}. Valid connector types: wwpn, wwnn, iqn",
            node.uuid
        );
        assert_eq!(generated(&[]).unwrap_err(), expected);
        let only = [connector("ip", "192.0.2.1"), connector("mac", "m")];
        assert_eq!(generated(&only).unwrap_err(), expected);
    }

    #[test]
    fn metadata_names_the_node_and_the_instance_as_ironic_writes_it() {
        let mut node = fake_node();
        node.instance_uuid = Some("inst-1".into());
        let m = metadata(&node, "attached");
        let text = m[&format!("ironic_node_{}", node.uuid)].as_str().unwrap();
        assert!(
            text.starts_with(r#"{"instance_uuid": "inst-1", "last_seen": ""#),
            "{text}"
        );
        assert!(text.ends_with(r#"", "last_action": "attached"}"#), "{text}");
        let parsed: Value = serde_json::from_str(text).unwrap();
        assert_eq!(parsed["last_action"], json!("attached"));
        node.instance_uuid = None;
        let m = metadata(&node, "detached");
        let parsed: Value =
            serde_json::from_str(m[&format!("ironic_node_{}", node.uuid)].as_str().unwrap())
                .unwrap();
        assert_eq!(parsed["instance_uuid"], json!(node.uuid));
    }

    #[tokio::test]
    async fn without_cinder_attaching_fails_and_detaching_has_nothing_to_do() {
        let node = fake_node();
        let storage = Cinder { client: None };
        let mut volumes = Volumes {
            connectors: vec![connector("iqn", "iqn.a")],
            targets: vec![crate::drivers::testing::target("iscsi", 0)],
        };
        let e = storage
            .attach_volumes(&node, &mut volumes)
            .await
            .unwrap_err();
        assert!(e.contains("no Cinder endpoint is configured"), "{e}");
        let reason = DetachReason::TearDown;
        assert!(
            storage
                .detach_volumes(&node, &mut volumes, reason)
                .await
                .is_ok()
        );
        // No targets, nothing to attach.
        volumes.targets.clear();
        assert!(storage.attach_volumes(&node, &mut volumes).await.is_ok());
    }
}
