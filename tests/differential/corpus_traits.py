"""Node traits (API 1.37): adding, replacing, listing and removing them, the node's
``traits`` field, every refusal, and the paths below 1.37."""

from corpus import MISSING, get, step

LONG = "CUSTOM_" + "A" * 249  # 256 characters: one too many
FIFTY = [f"CUSTOM_T{i:02d}" for i in range(50)]


def put(name, path, body=None, **kw):
    return step(name, "PUT", path, body, **kw)


def delete(name, path, **kw):
    return step(name, "DELETE", path, **kw)


T = "/v1/nodes/{tn}/traits"

STEPS = [
    step("tr_node_create", "POST", "/v1/nodes", {"driver": "fake-hardware", "name": "diff-traits"},
         save="tn"),
    get("tr_list_empty", T),
    put("tr_add", T + "/CUSTOM_GOLD"),
    put("tr_add_by_name", "/v1/nodes/diff-traits/traits/HW_CPU_X86_AVX2"),
    put("tr_add_again", T + "/CUSTOM_GOLD"),
    put("tr_add_empty_object", T + "/CUSTOM_SILVER", {}),
    get("tr_list", T),
    get("tr_list_by_name", "/v1/nodes/diff-traits/traits"),
    get("tr_node_show", "/v1/nodes/{tn}"),
    get("tr_node_show_fields", "/v1/nodes/{tn}?fields=uuid,traits"),
    get("tr_node_show_v136", "/v1/nodes/{tn}", version="1.36"),
    get("tr_node_show_fields_v136", "/v1/nodes/{tn}?fields=traits", version="1.36"),
    get("tr_node_list_fields", "/v1/nodes?fields=uuid,traits"),
    put("tr_replace", T, {"traits": ["CUSTOM_Z", "HW_CPU_X86_SSE", "CUSTOM_Z", "CUSTOM_B"]}),
    get("tr_list_replaced", T),
    # Refused names and bodies.
    put("tr_add_lower", T + "/custom_gold"),
    put("tr_add_unknown_standard", T + "/HW_CPU_X86_NOPE"),
    put("tr_add_custom_only_prefix", T + "/CUSTOM_"),
    put("tr_add_too_long", T + "/" + LONG),
    put("tr_add_longest", T + "/" + LONG[:255]),
    put("tr_add_with_traits_body", T + "/CUSTOM_B", {"traits": ["CUSTOM_C"]}),
    put("tr_add_list_body", T + "/CUSTOM_B", []),
    put("tr_add_unknown_node", f"/v1/nodes/{MISSING}/traits/CUSTOM_B"),
    put("tr_add_bad_name_unknown_node", f"/v1/nodes/{MISSING}/traits/bad"),
    put("tr_replace_no_body", T),
    put("tr_replace_empty_object", T, {}),
    put("tr_replace_not_list", T, {"traits": "CUSTOM_A"}),
    put("tr_replace_null", T, {"traits": None}),
    put("tr_replace_int_item", T, {"traits": [1]}),
    put("tr_replace_empty_item", T, {"traits": [""]}),
    put("tr_replace_last_bad_wins", T, {"traits": ["bad1", "CUSTOM_OK", 1, "bad2"]}),
    put("tr_replace_too_long_item", T, {"traits": [LONG]}),
    put("tr_replace_extra_keys", T, {"traits": [], "y": 1, "x": 2}),
    put("tr_replace_not_object", T, ["CUSTOM_A"]),
    put("tr_replace_unknown_node", "/v1/nodes/no-such-node/traits", {"traits": []}),
    get("tr_list_after_refusals", T),
    # At most fifty.
    put("tr_replace_fifty_one", T, {"traits": FIFTY + ["CUSTOM_X"]}),
    put("tr_replace_fifty_with_duplicate", T, {"traits": FIFTY + ["CUSTOM_T00"]}),
    put("tr_add_fifty_first", T + "/CUSTOM_X"),
    put("tr_add_existing_at_fifty", T + "/CUSTOM_T07"),
    get("tr_list_fifty", T),
    # Removing.
    put("tr_replace_small", T, {"traits": ["CUSTOM_A", "CUSTOM_B"]}),
    delete("tr_delete_one", T + "/CUSTOM_A"),
    delete("tr_delete_absent", T + "/CUSTOM_A"),
    delete("tr_delete_invalid_name", T + "/not-a-trait"),
    delete("tr_delete_unknown_node", "/v1/nodes/no-such-node/traits/CUSTOM_A"),
    get("tr_list_after_delete", T),
    delete("tr_delete_all", T),
    delete("tr_delete_all_again", T),
    delete("tr_delete_all_unknown_node", f"/v1/nodes/{MISSING}/traits"),
    get("tr_list_after_delete_all", T),
    get("tr_list_unknown_node", "/v1/nodes/no-such-node/traits"),
    get("tr_list_bad_ident", "/v1/nodes/bad%20name!/traits"),
    # Other methods.
    step("tr_post", "POST", T, {"traits": []}),
    step("tr_patch", "PATCH", T, []),
    get("tr_get_one", T + "/CUSTOM_A"),
    # Below 1.37.
    get("tr_list_v136", T, version="1.36"),
    get("tr_list_v136_unknown_node", "/v1/nodes/no-such-node/traits", version="1.36"),
    get("tr_list_v104_name", "/v1/nodes/diff-traits/traits", version="1.4"),
    put("tr_add_v136", T + "/CUSTOM_A", version="1.36"),
    put("tr_replace_v136", T, {"traits": []}, version="1.36"),
    delete("tr_delete_all_v136", T, version="1.36"),
    delete("tr_delete_one_v136", T + "/CUSTOM_A", version="1.36"),
    # Not through the node itself.
    step("tr_node_create_with_traits", "POST", "/v1/nodes", {"driver": "fake-hardware", "traits": ["CUSTOM_A"]}),
    step("tr_node_patch_traits", "PATCH", "/v1/nodes/{tn}",
         [{"op": "add", "path": "/traits", "value": ["CUSTOM_A"]}]),
    get("tr_list_final", T),
    delete("tr_node_delete", "/v1/nodes/{tn}"),
    # A deployment's instance_info.traits must be node traits: validation and deploy.
    step("tr_deploy_node_create", "POST", "/v1/nodes",
         {"driver": "fake-hardware", "name": "diff-traits-deploy", "deploy_interface": "fake",
          "boot_interface": "fake", "network_interface": "noop",
          "instance_info": {"traits": ["CUSTOM_GPU"]}}, save="td"),
    get("tr_deploy_validate_missing", "/v1/nodes/{td}/validate"),
    put("tr_deploy_manage", "/v1/nodes/{td}/states/provision", {"target": "manage"},
        wait=("td", {"provision_state": "manageable"})),
    put("tr_deploy_provide", "/v1/nodes/{td}/states/provision", {"target": "provide"},
        wait=("td", {"provision_state": "available"})),
    put("tr_deploy_missing", "/v1/nodes/{td}/states/provision", {"target": "active"}),
    step("tr_deploy_instance_traits_string", "PATCH", "/v1/nodes/{td}",
         [{"op": "replace", "path": "/instance_info/traits", "value": "CUSTOM_GPU"}]),
    get("tr_deploy_validate_unparsable", "/v1/nodes/{td}/validate"),
    put("tr_deploy_unparsable", "/v1/nodes/{td}/states/provision", {"target": "active"}),
    step("tr_deploy_instance_traits_list", "PATCH", "/v1/nodes/{td}",
         [{"op": "replace", "path": "/instance_info/traits", "value": ["CUSTOM_GPU"]}]),
    put("tr_deploy_add_trait", "/v1/nodes/{td}/traits/CUSTOM_GPU"),
    get("tr_deploy_validate_ok", "/v1/nodes/{td}/validate"),
    put("tr_deploy_ok", "/v1/nodes/{td}/states/provision", {"target": "active"},
        wait=("td", {"provision_state": "active"})),
    # Traits change in any state.
    put("tr_add_while_active", "/v1/nodes/{td}/traits/CUSTOM_MORE"),
    get("tr_list_active", "/v1/nodes/{td}/traits"),
]
