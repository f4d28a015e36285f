//! Diesel table definitions, shared by the three backends (see `migrations/`).
//!
//! JSON documents are stored as text and UUIDs as `VARCHAR(36)`: `MultiConnection` only
//! covers the SQL types every backend has.

diesel::table! {
    nodes (id) {
        id -> BigInt,
        uuid -> Text,
        name -> Nullable<Text>,
        driver -> Text,
        driver_info -> Nullable<Text>,
        driver_internal_info -> Nullable<Text>,
        extra -> Nullable<Text>,
        properties -> Nullable<Text>,
        instance_info -> Nullable<Text>,
        instance_uuid -> Nullable<Text>,
        power_state -> Nullable<Text>,
        target_power_state -> Nullable<Text>,
        provision_state -> Text,
        target_provision_state -> Nullable<Text>,
        provision_updated_at -> Nullable<Timestamp>,
        last_error -> Nullable<Text>,
        maintenance -> Bool,
        maintenance_reason -> Nullable<Text>,
        fault -> Nullable<Text>,
        reservation -> Nullable<Text>,
        console_enabled -> Bool,
        conductor_group -> Text,
        conductor_affinity -> Nullable<Text>,
        resource_class -> Nullable<Text>,
        traits -> Nullable<Text>,
        clean_step -> Nullable<Text>,
        deploy_step -> Nullable<Text>,
        raid_config -> Nullable<Text>,
        target_raid_config -> Nullable<Text>,
        inspection_started_at -> Nullable<Timestamp>,
        inspection_finished_at -> Nullable<Timestamp>,
        bios_interface -> Nullable<Text>,
        boot_interface -> Nullable<Text>,
        console_interface -> Nullable<Text>,
        deploy_interface -> Nullable<Text>,
        inspect_interface -> Nullable<Text>,
        management_interface -> Nullable<Text>,
        network_interface -> Nullable<Text>,
        power_interface -> Nullable<Text>,
        raid_interface -> Nullable<Text>,
        rescue_interface -> Nullable<Text>,
        storage_interface -> Nullable<Text>,
        vendor_interface -> Nullable<Text>,
        created_at -> Timestamp,
        updated_at -> Nullable<Timestamp>,
        chassis_id -> Nullable<BigInt>,
    }
}

diesel::table! {
    volume_connectors (id) {
        id -> BigInt,
        uuid -> Text,
        node_id -> BigInt,
        #[sql_name = "type"]
        connector_type -> Text,
        connector_id -> Text,
        extra -> Nullable<Text>,
        created_at -> Timestamp,
        updated_at -> Nullable<Timestamp>,
    }
}

diesel::table! {
    volume_targets (id) {
        id -> BigInt,
        uuid -> Text,
        node_id -> BigInt,
        volume_type -> Text,
        properties -> Nullable<Text>,
        boot_index -> Integer,
        volume_id -> Text,
        extra -> Nullable<Text>,
        created_at -> Timestamp,
        updated_at -> Nullable<Timestamp>,
    }
}

diesel::table! {
    ports (id) {
        id -> BigInt,
        uuid -> Text,
        address -> Text,
        node_id -> BigInt,
        extra -> Nullable<Text>,
        internal_info -> Nullable<Text>,
        local_link_connection -> Nullable<Text>,
        pxe_enabled -> Bool,
        physical_network -> Nullable<Text>,
        created_at -> Timestamp,
        updated_at -> Nullable<Timestamp>,
        portgroup_uuid -> Nullable<Text>,
    }
}

diesel::table! {
    portgroups (id) {
        id -> BigInt,
        uuid -> Text,
        name -> Nullable<Text>,
        address -> Nullable<Text>,
        node_id -> BigInt,
        standalone_ports_supported -> Bool,
        mode -> Text,
        properties -> Nullable<Text>,
        extra -> Nullable<Text>,
        internal_info -> Nullable<Text>,
        created_at -> Timestamp,
        updated_at -> Nullable<Timestamp>,
    }
}

diesel::table! {
    conductors (id) {
        id -> BigInt,
        hostname -> Text,
        conductor_group -> Text,
        online -> Bool,
        drivers -> Nullable<Text>,
        created_at -> Timestamp,
        updated_at -> Timestamp,
    }
}

diesel::joinable!(volume_connectors -> nodes (node_id));
diesel::joinable!(volume_targets -> nodes (node_id));
diesel::joinable!(ports -> nodes (node_id));
diesel::joinable!(nodes -> chassis (chassis_id));
diesel::joinable!(portgroups -> nodes (node_id));
diesel::allow_tables_to_appear_in_same_query!(
    nodes,
    volume_connectors,
    volume_targets,
    ports,
    conductors,
    rpc_requests,
    chassis,
    portgroups
);

diesel::table! {
    rpc_requests (request_id) {
        request_id -> Text,
        method -> Text,
        created_at -> Timestamp,
    }
}

diesel::table! {
    chassis (id) {
        id -> BigInt,
        uuid -> Text,
        description -> Nullable<Text>,
        extra -> Nullable<Text>,
        created_at -> Timestamp,
        updated_at -> Nullable<Timestamp>,
    }
}
