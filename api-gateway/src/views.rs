//! How volume connectors, volume targets and ports look on the wire: one view type each,
//! serialized straight from the stored value and documented by its derive.
//!
//! Fields are declared in the order of their names: responses have always listed them
//! sorted, and a view keeps that order.

use serde::Serialize;
use utoipa::ToSchema;

use common::child::NodeChild;
use common::model::JsonObject;
use common::model::port::Port;
use common::model::portgroup::Portgroup;
use common::model::volume::{VolumeConnector, VolumeTarget};

use crate::listing::QueryWording;
use crate::wire::{Link, Links, Masked, Timestamp};

/// How a resource that belongs to a node is shown to clients.
pub trait Shown: NodeChild {
    type View<'a>: Serialize;
    /// How bad list queries are worded.
    const WORDING: QueryWording;

    fn view<'a>(&'a self, base_url: &'a str) -> Self::View<'a>;

    /// The microversion that introduced a field; most came with the resource.
    fn since(_field: &str) -> u32 {
        1
    }
}

fn links<'a, R: NodeChild>(item: &'a R, base_url: &'a str) -> Links<'a> {
    Links {
        base_url,
        path: [R::PATH, "/", item.uuid()],
    }
}

/// A volume connector; a list or `?fields=` shows some of the fields only.
#[derive(Serialize, ToSchema)]
#[schema(as = Connector)]
pub struct ConnectorView<'a> {
    connector_id: &'a str,
    #[schema(value_type = String)]
    created_at: Timestamp,
    #[schema(value_type = Object)]
    extra: &'a JsonObject,
    #[schema(value_type = Vec<Link>)]
    links: Links<'a>,
    node_uuid: &'a str,
    #[serde(rename = "type")]
    connector_type: &'a str,
    #[schema(value_type = Option<String>)]
    updated_at: Option<Timestamp>,
    uuid: &'a str,
}

impl Shown for VolumeConnector {
    type View<'a> = ConnectorView<'a>;
    const WORDING: QueryWording = QueryWording::Schema;

    fn view<'a>(&'a self, base_url: &'a str) -> ConnectorView<'a> {
        ConnectorView {
            connector_id: &self.connector_id,
            created_at: Timestamp(self.created_at),
            extra: &self.extra,
            links: links(self, base_url),
            node_uuid: &self.node_uuid,
            connector_type: &self.connector_type,
            updated_at: self.updated_at.map(Timestamp),
            uuid: &self.uuid,
        }
    }
}

/// A volume target; secret-looking `properties` are masked (`******`).
#[derive(Serialize, ToSchema)]
#[schema(as = Target)]
pub struct TargetView<'a> {
    boot_index: i32,
    #[schema(value_type = String)]
    created_at: Timestamp,
    #[schema(value_type = Object)]
    extra: &'a JsonObject,
    #[schema(value_type = Vec<Link>)]
    links: Links<'a>,
    node_uuid: &'a str,
    #[schema(value_type = Object)]
    properties: Masked<'a>,
    #[schema(value_type = Option<String>)]
    updated_at: Option<Timestamp>,
    uuid: &'a str,
    volume_id: &'a str,
    volume_type: &'a str,
}

impl Shown for VolumeTarget {
    type View<'a> = TargetView<'a>;
    const WORDING: QueryWording = QueryWording::Schema;

    fn view<'a>(&'a self, base_url: &'a str) -> TargetView<'a> {
        TargetView {
            boot_index: self.boot_index,
            created_at: Timestamp(self.created_at),
            extra: &self.extra,
            links: links(self, base_url),
            node_uuid: &self.node_uuid,
            properties: Masked(&self.properties),
            updated_at: self.updated_at.map(Timestamp),
            uuid: &self.uuid,
            volume_id: &self.volume_id,
            volume_type: &self.volume_type,
        }
    }
}

/// A port; fields newer than the request's microversion are left out.
#[derive(Serialize, ToSchema)]
#[schema(as = Port)]
pub struct PortView<'a> {
    address: &'a str,
    #[schema(value_type = String)]
    created_at: Timestamp,
    #[schema(value_type = Object)]
    extra: &'a JsonObject,
    /// Since 1.18.
    #[schema(value_type = Object)]
    internal_info: &'a JsonObject,
    #[schema(value_type = Vec<Link>)]
    links: Links<'a>,
    /// Since 1.19.
    #[schema(value_type = Object)]
    local_link_connection: &'a JsonObject,
    node_uuid: &'a str,
    /// Since 1.34.
    physical_network: Option<&'a str>,
    /// Since 1.24.
    portgroup_uuid: Option<&'a str>,
    /// Since 1.19.
    pxe_enabled: bool,
    #[schema(value_type = Option<String>)]
    updated_at: Option<Timestamp>,
    uuid: &'a str,
}

impl Shown for Port {
    type View<'a> = PortView<'a>;
    const WORDING: QueryWording = QueryWording::Port;

    fn view<'a>(&'a self, base_url: &'a str) -> PortView<'a> {
        PortView {
            address: &self.address,
            created_at: Timestamp(self.created_at),
            extra: &self.extra,
            internal_info: &self.internal_info,
            links: links(self, base_url),
            local_link_connection: &self.local_link_connection,
            node_uuid: &self.node_uuid,
            physical_network: self.physical_network.as_deref(),
            portgroup_uuid: self.portgroup_uuid.as_deref(),
            pxe_enabled: self.pxe_enabled,
            updated_at: self.updated_at.map(Timestamp),
            uuid: &self.uuid,
        }
    }

    fn since(field: &str) -> u32 {
        match field {
            "internal_info" => 18,
            "local_link_connection" | "pxe_enabled" => 19,
            "portgroup_uuid" => 24,
            "physical_network" => 34,
            _ => 1,
        }
    }
}

/// A port group (1.23); `mode` and `properties` since 1.26.
#[derive(Serialize, ToSchema)]
#[schema(as = Portgroup)]
pub struct PortgroupView<'a> {
    address: Option<&'a str>,
    #[schema(value_type = String)]
    created_at: Timestamp,
    #[schema(value_type = Object)]
    extra: &'a JsonObject,
    #[schema(value_type = Object)]
    internal_info: &'a JsonObject,
    #[schema(value_type = Vec<Link>)]
    links: Links<'a>,
    /// Since 1.26.
    mode: &'a str,
    name: Option<&'a str>,
    node_uuid: &'a str,
    /// The port group's ports.
    #[schema(value_type = Vec<Link>)]
    ports: Links<'a>,
    /// Since 1.26.
    #[schema(value_type = Object)]
    properties: &'a JsonObject,
    standalone_ports_supported: bool,
    #[schema(value_type = Option<String>)]
    updated_at: Option<Timestamp>,
    uuid: &'a str,
}

impl Shown for Portgroup {
    type View<'a> = PortgroupView<'a>;
    const WORDING: QueryWording = QueryWording::Schema;

    fn view<'a>(&'a self, base_url: &'a str) -> PortgroupView<'a> {
        PortgroupView {
            address: self.address.as_deref(),
            created_at: Timestamp(self.created_at),
            extra: &self.extra,
            internal_info: &self.internal_info,
            links: links(self, base_url),
            mode: &self.mode,
            name: self.name.as_deref(),
            node_uuid: &self.node_uuid,
            ports: Links {
                base_url,
                path: ["portgroups/", &self.uuid, "/ports"],
            },
            properties: &self.properties,
            standalone_ports_supported: self.standalone_ports_supported,
            updated_at: self.updated_at.map(Timestamp),
            uuid: &self.uuid,
        }
    }

    fn since(field: &str) -> u32 {
        match field {
            "mode" | "properties" => 26,
            _ => 23,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The names of a view's fields, as it writes them.
    fn written<R: Shown>() -> Vec<String> {
        let item = R::default();
        let value = serde_json::to_value(item.view("http://sanlink")).expect("serialises");
        let mut keys: Vec<String> = value
            .as_object()
            .expect("an object")
            .keys()
            .cloned()
            .collect();
        keys.retain(|k| k != "links");
        keys.sort();
        keys
    }

    fn declared<R: Shown>() -> Vec<String> {
        let mut keys: Vec<String> = R::FIELDS.iter().map(|f| f.to_string()).collect();
        keys.sort();
        keys
    }

    // `fields=` is checked against FIELDS: they must be what the views write.
    #[test]
    fn every_view_writes_the_fields_its_resource_declares() {
        assert_eq!(written::<VolumeConnector>(), declared::<VolumeConnector>());
        assert_eq!(written::<VolumeTarget>(), declared::<VolumeTarget>());
        assert_eq!(written::<Port>(), declared::<Port>());
        assert_eq!(written::<Portgroup>(), declared::<Portgroup>());
    }

    /// Asserts that a view writes its fields in the order of their names.
    fn assert_sorted<R: Shown>() {
        let text = serde_json::to_string(&R::default().view("x")).expect("serialises");
        // Parsed, the keys come sorted; written, they must come in that order too.
        let value: serde_json::Value = serde_json::from_str(&text).expect("JSON");
        let sorted: Vec<&String> = value.as_object().expect("an object").keys().collect();
        let mut at: Vec<(usize, &String)> = sorted
            .iter()
            .map(|k| (text.find(&format!("\"{k}\":")).expect("written"), *k))
            .collect();
        at.sort();
        let written: Vec<&String> = at.into_iter().map(|(_, k)| k).collect();
        assert_eq!(written, sorted, "{text}");
    }

    // Responses have always listed fields sorted by name: views declare them so.
    #[test]
    fn views_write_their_fields_in_the_order_of_their_names() {
        assert_sorted::<VolumeConnector>();
        assert_sorted::<VolumeTarget>();
        assert_sorted::<Port>();
        assert_sorted::<Portgroup>();
    }
}
