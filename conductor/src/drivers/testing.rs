//! Nodes, volumes and drivers for the unit tests of the interfaces and the manager.

use std::sync::Arc;

use chrono::NaiveDateTime;

use common::model::JsonObject;
use common::model::node::Node;
use common::model::port::Port;
use common::model::states::PowerState;
use common::model::volume::{VolumeConnector, VolumeTarget};

use super::Driver;
use super::hardware::fill_and_check;
use super::redfish::fake::FakeBmc;
use super::validation::NodeView;

/// A `fake-hardware` node with every interface at its default.
pub fn fake_node() -> Node {
    let mut node = Node {
        uuid: "1be26c0b-03f2-4d2e-ae87-c02d7f33c123".into(),
        driver: "fake-hardware".into(),
        ..Node::default()
    };
    fill_and_check(&mut node).expect("fake-hardware interfaces");
    node
}

/// The node's driver, with an unused fake BMC behind any Redfish interface.
pub fn driver(node: &Node) -> Driver {
    Driver::for_node(node, &(Arc::new(FakeBmc::new(PowerState::Off)) as _))
        .expect("interfaces of the node's hardware type")
}

/// A view of a node without ports and without a Cinder endpoint.
pub fn view<'a>(
    node: &'a Node,
    driver: &'a Driver,
    connectors: &'a [VolumeConnector],
    targets: &'a [VolumeTarget],
) -> NodeView<'a> {
    NodeView {
        node,
        driver,
        ports: &[],
        connectors,
        targets,
        cinder_configured: false,
    }
}

pub fn connector(kind: &str, id: &str) -> VolumeConnector {
    VolumeConnector {
        id: 1,
        uuid: format!("c-{id}"),
        node_id: 1,
        node_uuid: String::new(),
        connector_type: kind.into(),
        connector_id: id.into(),
        extra: JsonObject::new(),
        created_at: NaiveDateTime::default(),
        updated_at: None,
    }
}

pub fn target(kind: &str, boot_index: i32) -> VolumeTarget {
    VolumeTarget {
        id: 1,
        uuid: format!("t-{boot_index}"),
        node_id: 1,
        node_uuid: String::new(),
        volume_type: kind.into(),
        properties: JsonObject::new(),
        boot_index,
        volume_id: format!("vol-{boot_index}"),
        extra: JsonObject::new(),
        created_at: NaiveDateTime::default(),
        updated_at: None,
    }
}

pub fn port() -> Port {
    Port {
        id: 1,
        uuid: "p-1".into(),
        address: "52:54:00:12:34:56".into(),
        node_id: 1,
        node_uuid: String::new(),
        extra: JsonObject::new(),
        internal_info: JsonObject::new(),
        local_link_connection: JsonObject::new(),
        pxe_enabled: true,
        physical_network: None,
        portgroup_uuid: None,
        created_at: NaiveDateTime::default(),
        updated_at: None,
    }
}
