"""Steps for the spellings and old representations clients depend on: paths without
the version prefix, boolean words in boolean fields, the `available` state before 1.2,
the `fault` filter (1.42) and VIFs on a `noop` network interface. They run after the
main corpus: `n1` (network `noop`, powered on) and `n2` (`available`) still exist."""

from corpus import MISSING, get, step

STEPS = [
    get("compat_unversioned_nodes_detail", f"/nodes/detail?instance_uuid={MISSING}"),
    get("compat_unversioned_node", "/nodes/diff-node-2?fields=name,provision_state"),
    get("compat_unversioned_ports", "/ports/detail?address=52:54:00:00:dd:09"),
    get("compat_unversioned_unknown", "/no-such-thing"),
    get("compat_available_v11", "/v1/nodes/{n2}/states", version="1.1"),
    get("compat_available_v12", "/v1/nodes/{n2}/states", version="1.2"),
    get("compat_fault_filter", "/v1/nodes?fault=power%20failure"),
    get("compat_fault_filter_v141", "/v1/nodes?fault=power%20failure", version="1.41"),
    get("compat_fault_filter_unknown", "/v1/nodes?fault=foo"),
    get("compat_fault_filter_empty", "/v1/nodes?fault="),
    step("compat_port_pxe_word", "POST", "/v1/ports",
         {"node_uuid": "{n1}", "address": "52:54:00:00:dd:01", "pxe_enabled": "True"}, save="pc1"),
    step("compat_port_pxe_word_false", "POST", "/v1/ports",
         {"node_uuid": "{n1}", "address": "52:54:00:00:dd:02", "pxe_enabled": "off"}, save="pc2"),
    step("compat_port_pxe_bad_word", "POST", "/v1/ports",
         {"node_uuid": "{n1}", "address": "52:54:00:00:dd:03", "pxe_enabled": "maybe"}),
    step("compat_port_pxe_int", "POST", "/v1/ports",
         {"node_uuid": "{n1}", "address": "52:54:00:00:dd:04", "pxe_enabled": 1}),
    step("compat_port_patch_pxe_word", "PATCH", "/v1/ports/{pc1}",
         [{"op": "replace", "path": "/pxe_enabled", "value": "no"}]),
    step("compat_port_patch_pxe_bad", "PATCH", "/v1/ports/{pc1}",
         [{"op": "replace", "path": "/pxe_enabled", "value": "foo"}]),
    step("compat_node_patch_maintenance_int", "PATCH", "/v1/nodes/{n1}",
         [{"op": "replace", "path": "/maintenance", "value": 1}]),
    step("compat_vif_attach_noop", "POST", "/v1/nodes/{n1}/vifs", {"id": "compat-vif"}),
    get("compat_vifs_noop", "/v1/nodes/{n1}/vifs"),
    step("compat_vif_detach_noop", "DELETE", "/v1/nodes/{n1}/vifs/compat-vif"),
    step("compat_vif_detach_never_attached", "DELETE", "/v1/nodes/{n1}/vifs/never"),
    step("compat_port_delete_1", "DELETE", "/v1/ports/{pc1}"),
    step("compat_port_delete_2", "DELETE", "/v1/ports/{pc2}"),
]
