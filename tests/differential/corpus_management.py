"""Differential steps of node management on fake-hardware: the boot device and its
supported list, NMI injection (1.29) and the serial console with `console_enabled`,
including the argument errors, `no-console`, and the node's `console_enabled` field.
"""

from corpus import get, step

NODE = "/v1/nodes/{mg}"
BOOT = NODE + "/management/boot_device"
NMI = NODE + "/management/inject_nmi"
CONSOLE = NODE + "/states/console"

STEPS = [
    step("mgmt_node_create", "POST", "/v1/nodes",
         {"driver": "fake-hardware", "name": "diff-mgmt"}, save="mg"),
    # --- boot device ------------------------------------------------------------------
    get("mgmt_boot_get", BOOT),
    get("mgmt_boot_get_name", "/v1/nodes/diff-mgmt/management/boot_device"),
    get("mgmt_boot_get_v11", BOOT, version="1.1"),
    get("mgmt_boot_get_query", BOOT + "?x=1"),
    get("mgmt_boot_get_unknown", "/v1/nodes/diff-no-such-node/management/boot_device"),
    get("mgmt_boot_supported", BOOT + "/supported"),
    get("mgmt_boot_supported_query", BOOT + "/supported?x=1"),
    step("mgmt_boot_set_pxe", "PUT", BOOT, {"boot_device": "pxe"}),
    step("mgmt_boot_set_persistent", "PUT", BOOT, {"boot_device": "pxe", "persistent": True}),
    step("mgmt_boot_set_persistent_word", "PUT", BOOT, {"boot_device": "pxe", "persistent": "yes"}),
    step("mgmt_boot_set_persistent_one", "PUT", BOOT, {"boot_device": "pxe", "persistent": 1}),
    step("mgmt_boot_set_persistent_null", "PUT", BOOT, {"boot_device": "pxe", "persistent": None}),
    step("mgmt_boot_set_persistent_bad", "PUT", BOOT, {"boot_device": "pxe", "persistent": "maybe"}),
    step("mgmt_boot_set_persistent_float", "PUT", BOOT, {"boot_device": "pxe", "persistent": 0.0}),
    step("mgmt_boot_set_query", "PUT", BOOT + "?boot_device=pxe&persistent=false"),
    step("mgmt_boot_set_disk", "PUT", BOOT, {"boot_device": "disk"}),
    step("mgmt_boot_set_upper", "PUT", BOOT, {"boot_device": "PXE"}),
    step("mgmt_boot_set_null", "PUT", BOOT, {"boot_device": None}),
    step("mgmt_boot_set_int", "PUT", BOOT, {"boot_device": 5}),
    step("mgmt_boot_set_bool", "PUT", BOOT, {"boot_device": True}),
    step("mgmt_boot_set_object", "PUT", BOOT, {"boot_device": {"a": 1}}),
    step("mgmt_boot_set_missing", "PUT", BOOT, {"persistent": True}),
    step("mgmt_boot_set_list", "PUT", BOOT, []),
    step("mgmt_boot_set_not_json", "PUT", BOOT, raw="xx"),
    # One unexpected argument each: Ironic lists several in its hash order, which
    # changes from run to run.
    step("mgmt_boot_set_unexpected", "PUT", BOOT, {"boot_device": "pxe", "a": 1}),
    step("mgmt_boot_set_unexpected_query", "PUT", BOOT + "?z=1", {"boot_device": "pxe"}),
    step("mgmt_boot_set_unknown_node", "PUT", "/v1/nodes/diff-no-such-node/management/boot_device",
         {"boot_device": "pxe"}),
    # --- NMI ----------------------------------------------------------------------------
    step("mgmt_nmi", "PUT", NMI),
    step("mgmt_nmi_empty_object", "PUT", NMI, {}),
    step("mgmt_nmi_v128", "PUT", NMI, version="1.28"),
    step("mgmt_nmi_v129", "PUT", NMI, version="1.29"),
    step("mgmt_nmi_unexpected", "PUT", NMI, {"a": 1}),
    step("mgmt_nmi_list", "PUT", NMI, []),
    step("mgmt_nmi_unknown_node", "PUT", "/v1/nodes/diff-no-such-node/management/inject_nmi"),
    # --- console ------------------------------------------------------------------------
    get("mgmt_console_get", CONSOLE),
    get("mgmt_console_get_query", CONSOLE + "?x=1"),
    step("mgmt_console_enable", "PUT", CONSOLE, {"enabled": True}),
    get("mgmt_console_get_enabled", CONSOLE),
    get("mgmt_console_states", NODE + "/states"),
    get("mgmt_console_node", NODE + "?fields=uuid,console_enabled"),
    step("mgmt_console_enable_again", "PUT", CONSOLE, {"enabled": "on"}),
    step("mgmt_console_enable_name", "PUT", "/v1/nodes/diff-mgmt/states/console", {"enabled": "TRUE"}),
    step("mgmt_console_disable", "PUT", CONSOLE, {"enabled": "off"}),
    get("mgmt_console_get_disabled", CONSOLE),
    step("mgmt_console_missing", "PUT", CONSOLE, {}),
    step("mgmt_console_list", "PUT", CONSOLE, []),
    step("mgmt_console_bad", "PUT", CONSOLE, {"enabled": "x"}),
    step("mgmt_console_unexpected", "PUT", CONSOLE, {"enabled": True, "a": 1}),
    step("mgmt_console_unknown_node", "PUT", "/v1/nodes/diff-no-such-node/states/console",
         {"enabled": True}),
    step("mgmt_console_unknown_node_bad", "PUT", "/v1/nodes/diff-no-such-node/states/console",
         {"enabled": "x"}),
    step("mgmt_no_console_create", "POST", "/v1/nodes",
         {"driver": "fake-hardware", "name": "diff-mgmt-nc", "console_interface": "no-console"},
         save="mgnc"),
    get("mgmt_no_console_get", "/v1/nodes/{mgnc}/states/console"),
    step("mgmt_no_console_enable", "PUT", "/v1/nodes/{mgnc}/states/console", {"enabled": True}),
    step("mgmt_no_console_disable", "PUT", "/v1/nodes/{mgnc}/states/console", {"enabled": False}),
    step("mgmt_no_console_delete", "DELETE", "/v1/nodes/{mgnc}"),
    # --- in maintenance ----------------------------------------------------------------
    step("mgmt_maintenance_on", "PUT", NODE + "/maintenance", {"reason": "diff"}),
    get("mgmt_maintenance_boot_get", BOOT),
    step("mgmt_maintenance_boot_set", "PUT", BOOT, {"boot_device": "pxe"}),
    step("mgmt_maintenance_nmi", "PUT", NMI),
    step("mgmt_maintenance_off", "DELETE", NODE + "/maintenance"),
    step("mgmt_node_delete", "DELETE", NODE),
]
