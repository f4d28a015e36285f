//! The `redfish` power and management interfaces against a real Redfish BMC: the
//! sushy-tools emulator with its fake driver (see `support/sushy.rs`).
//!
//! The fake driver applies a reset one to eleven seconds after it is asked, so these
//! tests also show that a power action waits for the BMC to report the new state.

use crate::support;

use std::sync::Arc;

use serde_json::{Value, json};

use common::model::node::Node;
use common::model::states::{PowerState, PowerTarget};
use conductor::drivers::Driver;
use conductor::drivers::management::BootDevice;
use conductor::drivers::power::power_action;
use conductor::drivers::redfish::{Connector, HttpConnector};
use conductor::drivers::storage::Volumes;
use support::sushy::{Emulator, SYSTEM_ID};

/// The node's interfaces, reaching its BMC over HTTP.
fn driver(node: &Node) -> Driver {
    let bmcs: Arc<dyn Connector> = Arc::new(HttpConnector);
    Driver::for_node(node, &bmcs).expect("redfish interfaces")
}

fn redfish_node(driver_info: Value) -> Node {
    let mut node = Node {
        uuid: common::model::new_uuid(),
        driver: "redfish".into(),
        driver_info: driver_info.as_object().cloned().expect("an object"),
        ..Node::default()
    };
    conductor::drivers::hardware::fill_and_check(&mut node).expect("redfish interfaces");
    node
}

fn node_for(bmc: &Emulator) -> Node {
    redfish_node(json!({
        "redfish_address": bmc.url,
        "redfish_system_id": SYSTEM_ID,
        "redfish_username": "admin",
        "redfish_password": "password",
        "redfish_verify_ca": "false",
    }))
}

#[tokio::test]
async fn power_on_reboot_and_off_are_read_back_from_the_bmc() {
    let bmc = Emulator::start().await;
    let node = node_for(&bmc);
    let power = driver(&node).power;
    power.validate(&node).expect("valid driver_info");
    assert_eq!(
        power.get_power_state(&node).await.unwrap(),
        Some(PowerState::Off)
    );

    let state = power.set_power_state(&node, PowerTarget::PowerOn, None);
    assert_eq!(state.await.unwrap(), PowerState::On);
    assert_eq!(bmc.system(None).await["PowerState"], "On");

    let state = power.set_power_state(&node, PowerTarget::Reboot, None);
    assert_eq!(state.await.unwrap(), PowerState::On);
    assert_eq!(bmc.system(None).await["PowerState"], "On");

    let state = power.set_power_state(&node, PowerTarget::PowerOff, None);
    assert_eq!(state.await.unwrap(), PowerState::Off);
    assert_eq!(bmc.system(None).await["PowerState"], "Off");
}

#[tokio::test]
async fn boot_device_overrides_show_in_the_system_resource() {
    let bmc = Emulator::start().await;
    let node = node_for(&bmc);
    let management = driver(&node).management;
    management
        .set_boot_device(&node, BootDevice::Pxe, true)
        .await
        .unwrap();
    let boot = &bmc.system(None).await["Boot"];
    assert_eq!(boot["BootSourceOverrideTarget"], "Pxe");
    assert_eq!(boot["BootSourceOverrideEnabled"], "Continuous");

    // The emulator records the target but always reports Continuous (it ignores
    // BootSourceOverrideEnabled), so only the target of a one-time override shows.
    management
        .set_boot_device(&node, BootDevice::Disk, false)
        .await
        .unwrap();
    assert_eq!(
        bmc.system(None).await["Boot"]["BootSourceOverrideTarget"],
        "Hdd"
    );
}

#[tokio::test]
async fn the_only_system_is_used_when_no_system_id_is_given() {
    let bmc = Emulator::start().await;
    let node = redfish_node(json!({ "redfish_address": bmc.url }));
    assert_eq!(
        driver(&node).power.get_power_state(&node).await.unwrap(),
        Some(PowerState::Off)
    );
}

#[tokio::test]
async fn wrong_credentials_are_named_as_such_and_the_password_is_never_shown() {
    let bmc = Emulator::start_with_credentials("admin", "right-secret").await;
    let mut node = redfish_node(json!({
        "redfish_address": bmc.url,
        "redfish_system_id": SYSTEM_ID,
        "redfish_username": "admin",
        "redfish_password": "wrong-secret",
    }));
    let mut volumes = Volumes::default();
    let error = power_action(
        &driver(&node),
        &mut node,
        &mut volumes,
        PowerTarget::PowerOn,
        None,
    )
    .await
    .unwrap_err();
    assert!(error.contains("wrong BMC credentials"), "{error}");
    assert!(error.contains(&bmc.url), "{error}");
    assert!(!error.contains("secret"), "{error}");
    assert_eq!(
        node.power_state, None,
        "a failed action leaves the state alone"
    );
    assert_eq!(node.last_error.as_deref(), Some(error.as_str()));

    node.driver_info
        .insert("redfish_password".into(), "right-secret".into());
    let state = driver(&node).power.get_power_state(&node).await.unwrap();
    assert_eq!(state, Some(PowerState::Off));
    let system = bmc.system(Some(("admin", "right-secret"))).await;
    assert_eq!(system["PowerState"], "Off");
}

#[tokio::test]
async fn an_unreachable_bmc_is_reported_as_unreachable() {
    // A port that was just free: nothing listens there.
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let address = format!("http://127.0.0.1:{port}");
    let node = redfish_node(json!({
        "redfish_address": address,
        "redfish_password": "hidden-secret",
        "redfish_username": "admin",
    }));
    let error = driver(&node)
        .power
        .set_power_state(&node, PowerTarget::PowerOn, None)
        .await
        .unwrap_err();
    assert!(error.contains("BMC unreachable"), "{error}");
    assert!(error.contains(&address), "{error}");
    assert!(error.contains("connection refused"), "{error}");
    assert!(!error.contains("hidden-secret"), "{error}");
}

#[tokio::test]
async fn a_wrong_system_id_names_the_missing_system() {
    let bmc = Emulator::start().await;
    let node = redfish_node(json!({
        "redfish_address": bmc.url,
        "redfish_system_id": "/redfish/v1/Systems/no-such-system",
    }));
    let error = driver(&node)
        .power
        .get_power_state(&node)
        .await
        .unwrap_err();
    assert!(error.contains("no-such-system"), "{error}");
    assert!(error.contains("redfish_system_id"), "{error}");
}

#[tokio::test]
async fn a_self_signed_bmc_is_trusted_only_when_redfish_verify_ca_is_false() {
    let bmc = Emulator::start_https().await;
    let mut node = node_for(&bmc);
    let power = driver(&node).power;
    assert_eq!(
        power.get_power_state(&node).await.unwrap(),
        Some(PowerState::Off)
    );

    node.driver_info
        .insert("redfish_verify_ca".into(), true.into());
    let error = power.get_power_state(&node).await.unwrap_err();
    assert!(error.contains("certificate"), "{error}");
    assert!(error.contains("redfish_verify_ca"), "{error}");
}
