//! The names of the rules sanlink's code asks the policy about.
//!
//! oslo.policy refuses a request checked against a rule it does not have, so a
//! misspelt name would lock everyone out of an endpoint, and only at run time. Code
//! names rules through these constants instead, which a test checks against Ironic's
//! defaults.

use std::fmt;

/// The name of one of Ironic's default rules.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct Rule(pub(super) &'static str);

impl Rule {
    pub const fn name(self) -> &'static str {
        self.0
    }
}

impl fmt::Display for Rule {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.0)
    }
}

macro_rules! rules {
    ($($id:ident = $name:literal;)*) => {
        impl Rule {
            $(pub const $id: Rule = Rule($name);)*

            /// Every rule named above.
            pub const ALL: &'static [Rule] = &[$(Rule::$id),*];
        }
    };
}

// The rules of the resources sanlink serves, in the order Ironic registers them.
rules! {
    SHOW_PASSWORD = "show_password";
    SHOW_INSTANCE_SECRETS = "show_instance_secrets";
    NODE_CREATE = "baremetal:node:create";
    NODE_CREATE_SELF_OWNED_NODE = "baremetal:node:create:self_owned_node";
    NODE_LIST = "baremetal:node:list";
    NODE_LIST_ALL = "baremetal:node:list_all";
    NODE_GET = "baremetal:node:get";
    NODE_GET_FILTER_THRESHOLD = "baremetal:node:get:filter_threshold";
    NODE_GET_LAST_ERROR = "baremetal:node:get:last_error";
    NODE_GET_RESERVATION = "baremetal:node:get:reservation";
    NODE_GET_DRIVER_INTERNAL_INFO = "baremetal:node:get:driver_internal_info";
    NODE_GET_DRIVER_INFO = "baremetal:node:get:driver_info";
    NODE_UPDATE_DRIVER_INFO = "baremetal:node:update:driver_info";
    NODE_UPDATE_PROPERTIES = "baremetal:node:update:properties";
    NODE_UPDATE_CHASSIS_UUID = "baremetal:node:update:chassis_uuid";
    NODE_UPDATE_INSTANCE_UUID = "baremetal:node:update:instance_uuid";
    NODE_UPDATE_LESSEE = "baremetal:node:update:lessee";
    NODE_UPDATE_OWNER = "baremetal:node:update:owner";
    NODE_UPDATE_DRIVER_INTERFACES = "baremetal:node:update:driver_interfaces";
    NODE_UPDATE_NETWORK_DATA = "baremetal:node:update:network_data";
    NODE_UPDATE_CONDUCTOR_GROUP = "baremetal:node:update:conductor_group";
    NODE_UPDATE_NAME = "baremetal:node:update:name";
    NODE_UPDATE_RETIRED = "baremetal:node:update:retired";
    NODE_UPDATE = "baremetal:node:update";
    NODE_UPDATE_EXTRA = "baremetal:node:update_extra";
    NODE_UPDATE_INSTANCE_INFO = "baremetal:node:update_instance_info";
    NODE_UPDATE_OWNER_PROVISIONED = "baremetal:node:update_owner_provisioned";
    NODE_DELETE = "baremetal:node:delete";
    NODE_DELETE_SELF_OWNED_NODE = "baremetal:node:delete:self_owned_node";
    NODE_VALIDATE = "baremetal:node:validate";
    NODE_SET_MAINTENANCE = "baremetal:node:set_maintenance";
    NODE_CLEAR_MAINTENANCE = "baremetal:node:clear_maintenance";
    NODE_GET_BOOT_DEVICE = "baremetal:node:get_boot_device";
    NODE_SET_BOOT_DEVICE = "baremetal:node:set_boot_device";
    NODE_GET_INDICATOR_STATE = "baremetal:node:get_indicator_state";
    NODE_SET_INDICATOR_STATE = "baremetal:node:set_indicator_state";
    NODE_INJECT_NMI = "baremetal:node:inject_nmi";
    NODE_GET_STATES = "baremetal:node:get_states";
    NODE_SET_POWER_STATE = "baremetal:node:set_power_state";
    NODE_SET_BOOT_MODE = "baremetal:node:set_boot_mode";
    NODE_SET_SECURE_BOOT = "baremetal:node:set_secure_boot";
    NODE_SET_PROVISION_STATE = "baremetal:node:set_provision_state";
    NODE_SET_PROVISION_STATE_CLEAN_STEPS = "baremetal:node:set_provision_state:clean_steps";
    NODE_SET_PROVISION_STATE_SERVICE_STEPS = "baremetal:node:set_provision_state:service_steps";
    NODE_SET_RAID_STATE = "baremetal:node:set_raid_state";
    NODE_GET_CONSOLE = "baremetal:node:get_console";
    NODE_SET_CONSOLE_STATE = "baremetal:node:set_console_state";
    NODE_VIF_LIST = "baremetal:node:vif:list";
    NODE_VIF_ATTACH = "baremetal:node:vif:attach";
    NODE_VIF_DETACH = "baremetal:node:vif:detach";
    NODE_TRAITS_LIST = "baremetal:node:traits:list";
    NODE_TRAITS_SET = "baremetal:node:traits:set";
    NODE_TRAITS_DELETE = "baremetal:node:traits:delete";
    NODE_BIOS_GET = "baremetal:node:bios:get";
    NODE_DISABLE_CLEANING = "baremetal:node:disable_cleaning";
    NODE_HISTORY_GET = "baremetal:node:history:get";
    NODE_INVENTORY_GET = "baremetal:node:inventory:get";
    NODE_UPDATE_SHARD = "baremetal:node:update:shard";
    NODE_UPDATE_PARENT_NODE = "baremetal:node:update:parent_node";
    NODE_UPDATE_DISABLE_POWER_OFF = "baremetal:node:update:disable_power_off";
    NODE_FIRMWARE_GET = "baremetal:node:firmware:get";
    NODE_VMEDIA_ATTACH = "baremetal:node:vmedia:attach";
    NODE_VMEDIA_DETACH = "baremetal:node:vmedia:detach";
    NODE_VMEDIA_GET = "baremetal:node:vmedia:get";
    PORT_GET = "baremetal:port:get";
    PORT_LIST = "baremetal:port:list";
    PORT_LIST_ALL = "baremetal:port:list_all";
    PORT_CREATE = "baremetal:port:create";
    PORT_DELETE = "baremetal:port:delete";
    PORT_UPDATE = "baremetal:port:update";
    PORTGROUP_GET = "baremetal:portgroup:get";
    PORTGROUP_CREATE = "baremetal:portgroup:create";
    PORTGROUP_DELETE = "baremetal:portgroup:delete";
    PORTGROUP_UPDATE = "baremetal:portgroup:update";
    PORTGROUP_LIST = "baremetal:portgroup:list";
    PORTGROUP_LIST_ALL = "baremetal:portgroup:list_all";
    CHASSIS_GET = "baremetal:chassis:get";
    CHASSIS_CREATE = "baremetal:chassis:create";
    CHASSIS_DELETE = "baremetal:chassis:delete";
    CHASSIS_UPDATE = "baremetal:chassis:update";
    DRIVER_GET = "baremetal:driver:get";
    DRIVER_GET_PROPERTIES = "baremetal:driver:get_properties";
    DRIVER_GET_RAID_LOGICAL_DISK_PROPERTIES = "baremetal:driver:get_raid_logical_disk_properties";
    NODE_VENDOR_PASSTHRU = "baremetal:node:vendor_passthru";
    DRIVER_VENDOR_PASSTHRU = "baremetal:driver:vendor_passthru";
    NODE_IPA_HEARTBEAT = "baremetal:node:ipa_heartbeat";
    DRIVER_IPA_LOOKUP = "baremetal:driver:ipa_lookup";
    DRIVER_IPA_CONTINUE_INSPECTION = "baremetal:driver:ipa_continue_inspection";
    VOLUME_LIST_ALL = "baremetal:volume:list_all";
    VOLUME_LIST = "baremetal:volume:list";
    VOLUME_GET = "baremetal:volume:get";
    VOLUME_CREATE = "baremetal:volume:create";
    VOLUME_DELETE = "baremetal:volume:delete";
    VOLUME_UPDATE = "baremetal:volume:update";
    VOLUME_VIEW_TARGET_PROPERTIES = "baremetal:volume:view_target_properties";
}
