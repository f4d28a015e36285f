//! The `redfish` management interface against the sushy-tools emulator (fake driver):
//! the boot override is read and set on the BMC, the supported devices are those it
//! allows, and an NMI is a `ComputerSystem.Reset` with `ResetType=Nmi`.

use crate::support;

use std::sync::Arc;

use serde_json::json;

use common::model::node::Node;
use conductor::drivers::Driver;
use conductor::drivers::management::BootDevice;
use conductor::drivers::redfish::{Connector, HttpConnector};
use support::sushy::{Emulator, SYSTEM_ID};

fn node_for(bmc: &Emulator) -> Node {
    let info = json!({
        "redfish_address": bmc.url,
        "redfish_system_id": SYSTEM_ID,
        "redfish_username": "admin",
        "redfish_password": "password",
        "redfish_verify_ca": "false",
    });
    let mut node = Node {
        uuid: common::model::new_uuid(),
        driver: "redfish".into(),
        driver_info: info.as_object().cloned().expect("an object"),
        ..Node::default()
    };
    conductor::drivers::hardware::fill_and_check(&mut node).expect("redfish interfaces");
    node
}

fn driver(node: &Node) -> Driver {
    let bmcs: Arc<dyn Connector> = Arc::new(HttpConnector);
    Driver::for_node(node, &bmcs).expect("redfish interfaces")
}

#[tokio::test]
async fn the_boot_device_is_set_and_read_back_on_the_bmc() {
    let bmc = Emulator::start().await;
    let node = node_for(&bmc);
    let management = driver(&node).management;
    // The emulator's system boots from its disk, on every boot, until told otherwise.
    let current = management.get_boot_device(&node).await.unwrap();
    assert_eq!(current.boot_device, Some(BootDevice::Disk));
    assert_eq!(current.persistent, Some(true));

    for device in [BootDevice::Pxe, BootDevice::Cdrom, BootDevice::Disk] {
        management
            .set_boot_device(&node, device, false)
            .await
            .unwrap();
        let read = management.get_boot_device(&node).await.unwrap();
        assert_eq!(read.boot_device, Some(device));
        let system = bmc.system(None).await;
        let target = conductor::drivers::redfish::boot_target(device).unwrap();
        assert_eq!(system["Boot"]["BootSourceOverrideTarget"], target);
    }
    // The emulator keeps every override continuous, whatever it is asked: the
    // persistence is read back as the BMC reports it, not as it was asked for.
    let read = management.get_boot_device(&node).await.unwrap();
    assert_eq!(read.persistent, Some(true));
}

#[tokio::test]
async fn the_supported_devices_are_those_the_bmc_allows() {
    let bmc = Emulator::start().await;
    let node = node_for(&bmc);
    let management = driver(&node).management;
    let supported = management.supported_boot_devices(&node).await.unwrap();
    // AllowableValues ["Pxe", "Cd", "Hdd", "UefiHttp"], in Ironic's order.
    assert_eq!(
        supported,
        [
            BootDevice::Pxe,
            BootDevice::Disk,
            BootDevice::Cdrom,
            BootDevice::UefiHttp
        ]
    );
}

#[tokio::test]
async fn an_nmi_is_a_reset_of_type_nmi() {
    let bmc = Emulator::start().await;
    let node = node_for(&bmc);
    let management = driver(&node).management;
    assert!(management.supports_nmi());
    // The emulator's fake driver answers the reset it does not emulate with a 501: the
    // request reached it, and its refusal is the failure's text.
    let e = management.inject_nmi(&node).await.unwrap_err();
    assert!(
        e.contains("ComputerSystem.Reset") && e.contains("501"),
        "{e}"
    );
    assert!(
        bmc.log()
            .contains("POST /redfish/v1/Systems/27946b59-9e44-4fa7-8e91-f3527a1ef094/Actions/ComputerSystem.Reset"),
        "{}",
        bmc.log()
    );
}

#[tokio::test]
async fn an_unreachable_bmc_fails_every_call() {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
    let address = format!("http://{}", listener.local_addr().expect("addr"));
    drop(listener);
    let mut node = Node {
        uuid: common::model::new_uuid(),
        driver: "redfish".into(),
        driver_info: json!({"redfish_address": address, "redfish_system_id": SYSTEM_ID})
            .as_object()
            .cloned()
            .expect("an object"),
        ..Node::default()
    };
    conductor::drivers::hardware::fill_and_check(&mut node).expect("redfish interfaces");
    let management = driver(&node).management;
    let e = management.get_boot_device(&node).await.unwrap_err();
    assert!(e.contains("unreachable"), "{e}");
    assert!(management.supported_boot_devices(&node).await.is_err());
}
