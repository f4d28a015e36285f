"""Differential steps of the drivers API, BIOS settings, target RAID configurations,
vendor passthru and rescue.

What both services enable identically is compared; what differs by configuration is
normalised away before the comparison, each for a stated reason:

* the driver lists keep only ``fake-hardware``: the Ironic of this test enables that
  hardware type alone, sanlink always offers ``ipmi`` and ``redfish`` too;
* ``hosts`` names the conductors' hostnames, which are each service's own
  (``differential-ironic`` and sanlink's one or two conductors): it must be a
  non-empty list of strings on both, and then reads ``<hosts>``;
* the ``enabled_*_interfaces`` lists are sorted: Ironic builds them from a Python set,
  whose order is arbitrary.
"""

V = "1.46"


# The step builders of corpus.py, repeated so that this module imports on its own.
def step(name, method, path, body=None, **kw):
    s = {"name": name, "method": method, "path": path, "version": V}
    if body is not None:
        s["body"] = body
    s.update(kw)
    return s


def get(name, path, **kw):
    return step(name, "GET", path, **kw)

NODE = "diff-drv-1"
NO_INTERFACES = {
    "raid_interface": "no-raid",
    "rescue_interface": "no-rescue",
    "vendor_interface": "no-vendor",
    "bios_interface": "no-bios",
}


def _driver(doc):
    if isinstance(doc, dict):
        hosts = doc.get("hosts")
        if isinstance(hosts, list) and hosts and all(isinstance(h, str) for h in hosts):
            doc["hosts"] = "<hosts>"
        for key, value in doc.items():
            if key.startswith("enabled_") and isinstance(value, list):
                doc[key] = sorted(value)
    return doc


def one_driver(body):
    return _driver(body)


def fake_hardware_only(body):
    if isinstance(body, dict) and isinstance(body.get("drivers"), list):
        body["drivers"] = [_driver(d) for d in body["drivers"] if d.get("name") == "fake-hardware"]
    return body


def lst(name, path, **kw):
    return get(name, path, normalise=fake_hardware_only, **kw)


def show(name, path, **kw):
    return get(name, path, normalise=one_driver, **kw)


def provision(name, node, target, wait_for=None, **body):
    wait = (node, {"provision_state": wait_for, "target_provision_state": None}) if wait_for else None
    kw = {"wait": wait} if wait else {}
    return step(name, "PUT", f"/v1/nodes/{{{node}}}/states/provision", {"target": target, **body}, **kw)


def raid(name, node, body, **kw):
    return step(name, "PUT", f"/v1/nodes/{{{node}}}/states/raid", body, **kw)


def passthru(name, node, method, body=None, verb="POST"):
    query = f"?method={method}" if method else ""
    return step(name, verb, f"/v1/nodes/{{{node}}}/vendor_passthru{query}", body if body is not None else {})


DISK = {"size_gb": 10, "raid_level": "1"}

STEPS = [
    # --- the drivers API ---------------------------------------------------------------
    lst("drivers_list", "/v1/drivers"),
    lst("drivers_list_detail", "/v1/drivers?detail=true"),
    lst("drivers_list_detail_false", "/v1/drivers?detail=false"),
    lst("drivers_list_dynamic", "/v1/drivers?type=dynamic&detail=True"),
    lst("drivers_list_v113", "/v1/drivers", version="1.13"),
    lst("drivers_list_v131_detail", "/v1/drivers?detail=1", version="1.31"),
    lst("drivers_list_v138_detail", "/v1/drivers?detail=1", version="1.38"),
    lst("drivers_list_no_version", "/v1/drivers", version=None),
    get("drivers_list_classic", "/v1/drivers?type=classic"),
    get("drivers_list_classic_detail", "/v1/drivers?type=classic&detail=true"),
    get("drivers_list_type_bad", "/v1/drivers?type=foo"),
    get("drivers_list_detail_bad", "/v1/drivers?detail=maybe"),
    get("drivers_list_v129_detail", "/v1/drivers?detail=true", version="1.29"),
    get("drivers_list_v129_type", "/v1/drivers?type=dynamic", version="1.29"),
    get("drivers_list_fields", "/v1/drivers?fields=name"),
    get("drivers_list_unknown_param", "/v1/drivers?colour=blue"),
    step("drivers_post", "POST", "/v1/drivers", {}),
    show("driver_show", "/v1/drivers/fake-hardware"),
    show("driver_show_v113", "/v1/drivers/fake-hardware", version="1.13"),
    show("driver_show_v131", "/v1/drivers/fake-hardware", version="1.31"),
    show("driver_show_v139", "/v1/drivers/fake-hardware", version="1.39"),
    get("driver_show_unknown", "/v1/drivers/nope"),
    get("driver_show_param", "/v1/drivers/fake-hardware?foo=1"),
    get("driver_properties", "/v1/drivers/fake-hardware/properties"),
    get("driver_properties_unknown", "/v1/drivers/nope/properties"),
    get("driver_properties_param", "/v1/drivers/fake-hardware/properties?foo=1"),
    get("driver_raid_properties", "/v1/drivers/fake-hardware/raid/logical_disk_properties"),
    get("driver_raid_properties_v111", "/v1/drivers/fake-hardware/raid/logical_disk_properties",
        version="1.11"),
    get("driver_raid_properties_unknown", "/v1/drivers/nope/raid/logical_disk_properties"),
    get("driver_vendor_methods", "/v1/drivers/fake-hardware/vendor_passthru/methods"),
    get("driver_vendor_methods_unknown", "/v1/drivers/nope/vendor_passthru/methods"),
    step("driver_passthru_no_method", "POST", "/v1/drivers/fake-hardware/vendor_passthru", {}),
    step("driver_passthru_unknown_method", "POST", "/v1/drivers/fake-hardware/vendor_passthru?method=x", {}),
    # --- nodes: one with the fake interfaces, one without them ----------------------------
    step("drv_node_create", "POST", "/v1/nodes",
         {"driver": "fake-hardware", "name": NODE, "network_interface": "noop"}, save="dn1"),
    step("drv_node_create_plain", "POST", "/v1/nodes",
         {"driver": "fake-hardware", "name": "diff-drv-2", "network_interface": "noop", **NO_INTERFACES},
         save="dn2"),
    step("drv_node_create_rescue_v137", "POST", "/v1/nodes",
         {"driver": "fake-hardware", "rescue_interface": "fake"}, version="1.37"),
    get("drv_node_rescue_interface_v137", "/v1/nodes/{dn1}?fields=uuid", version="1.37"),
    get("drv_node_rescue_interface", "/v1/nodes/{dn1}?fields=rescue_interface,raid_interface"),
    # --- BIOS ------------------------------------------------------------------------------
    get("bios_list", "/v1/nodes/{dn1}/bios"),
    get("bios_list_by_name", f"/v1/nodes/{NODE}/bios"),
    get("bios_list_no_bios", "/v1/nodes/{dn2}/bios"),
    get("bios_list_v139", "/v1/nodes/{dn1}/bios", version="1.39"),
    get("bios_list_detail", "/v1/nodes/{dn1}/bios?detail=true"),
    get("bios_list_unknown_node", "/v1/nodes/no-such-node/bios"),
    get("bios_setting", "/v1/nodes/{dn1}/bios/ProcTurboMode"),
    get("bios_setting_param", "/v1/nodes/{dn1}/bios/ProcTurboMode?x=1"),
    # --- RAID ------------------------------------------------------------------------------
    raid("raid_set", "dn1", {"logical_disks": [dict(DISK, is_root_volume=True)]}),
    get("raid_states", "/v1/nodes/{dn1}/states"),
    get("raid_node_fields", "/v1/nodes/{dn1}?fields=raid_config,target_raid_config"),
    raid("raid_missing_level", "dn1", {"logical_disks": [{"size_gb": 10}]}),
    raid("raid_empty_disks", "dn1", {"logical_disks": []}),
    raid("raid_disks_not_list", "dn1", {"logical_disks": "x"}),
    raid("raid_bad_level", "dn1", {"logical_disks": [dict(DISK, raid_level="7")]}),
    raid("raid_negative_size", "dn1", {"logical_disks": [dict(DISK, size_gb=-1)]}),
    raid("raid_float_size", "dn1", {"logical_disks": [dict(DISK, size_gb=1.5)]}),
    raid("raid_size_word", "dn1", {"logical_disks": [dict(DISK, size_gb="abc")]}),
    raid("raid_size_max", "dn1", {"logical_disks": [dict(DISK, size_gb="MAX")]}),
    raid("raid_extra_disk_key", "dn1", {"logical_disks": [dict(DISK, foo=1)]}),
    raid("raid_extra_key", "dn1", {"logical_disks": [DISK], "x": 1}),
    raid("raid_physical_no_controller", "dn1", {"logical_disks": [dict(DISK, physical_disks=["a"])]}),
    raid("raid_two_roots", "dn1", {"logical_disks": [dict(DISK, is_root_volume=True)] * 2}),
    raid("raid_not_object", "dn1", ["x"]),
    raid("raid_v111", "dn1", {"logical_disks": [DISK]}, version="1.11"),
    raid("raid_no_raid", "dn2", {"logical_disks": [DISK]}),
    raid("raid_no_raid_empty", "dn2", {}),
    raid("raid_clear", "dn1", {}),
    step("raid_unknown_node", "PUT", "/v1/nodes/no-such-node/states/raid", {}),
    # --- vendor passthru -------------------------------------------------------------------
    get("passthru_methods", "/v1/nodes/{dn1}/vendor_passthru/methods"),
    get("passthru_methods_no_vendor", "/v1/nodes/{dn2}/vendor_passthru/methods"),
    passthru("passthru_sync", "dn1", "third_method_sync", {"bar": "meow"}),
    passthru("passthru_sync_false", "dn1", "third_method_sync", {"bar": "purr"}),
    passthru("passthru_async", "dn1", "second_method", {"bar": "kazoo"}),
    passthru("passthru_shared_lock", "dn1", "fourth_method_shared_lock", {"bar": "woof"}),
    passthru("passthru_log", "dn1", "log_passthrough"),
    passthru("passthru_missing_bar", "dn1", "second_method"),
    passthru("passthru_wrong_verb", "dn1", "third_method_sync", verb="GET"),
    passthru("passthru_no_method", "dn1", None),
    passthru("passthru_unknown_method", "dn1", "first_method", {"bar": "x"}),
    passthru("passthru_no_vendor", "dn2", "second_method", {"bar": "x"}),
    # --- rescue ----------------------------------------------------------------------------
    provision("rescue_from_enroll", "dn1", "rescue", rescue_password="pw"),
    provision("rescue_manage", "dn1", "manage", "manageable"),
    provision("rescue_provide", "dn1", "provide", "available"),
    provision("rescue_deploy", "dn1", "active", "active"),
    provision("rescue_manage_plain", "dn2", "manage", "manageable"),
    provision("rescue_provide_plain", "dn2", "provide", "available"),
    provision("rescue_deploy_plain", "dn2", "active", "active"),
    provision("rescue_no_password", "dn1", "rescue"),
    provision("rescue_blank_password", "dn1", "rescue", rescue_password="  "),
    provision("rescue_password_not_string", "dn1", "rescue", rescue_password=5),
    provision("rescue_password_other_verb", "dn1", "deleted", rescue_password="pw"),
    provision("rescue_password_wrong_state", "dn1", "active", rescue_password="pw"),
    provision("unrescue_from_active", "dn1", "unrescue"),
    step("rescue_v137", "PUT", "/v1/nodes/{dn1}/states/provision",
         {"target": "rescue", "rescue_password": "pw"}, version="1.37"),
    provision("rescue_no_rescue", "dn2", "rescue", rescue_password="pw"),
    provision("rescue", "dn1", "rescue", "rescue", rescue_password="s3cret"),
    get("rescue_show", "/v1/nodes/{dn1}?fields=provision_state,target_provision_state,instance_info,last_error"),
    provision("rescue_again", "dn1", "rescue", "rescue", rescue_password="again"),
    provision("unrescue_with_password", "dn1", "unrescue", rescue_password="pw"),
    provision("unrescue", "dn1", "unrescue", "active"),
    get("unrescue_show", "/v1/nodes/{dn1}?fields=provision_state,target_provision_state,last_error"),
    provision("rescue_before_teardown", "dn1", "rescue", "rescue", rescue_password="pw"),
    provision("rescue_teardown", "dn1", "deleted", "available"),
    get("rescue_teardown_show", "/v1/nodes/{dn1}?fields=provision_state,instance_info"),
]
