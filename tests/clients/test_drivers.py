"""The drivers API, BIOS settings, target RAID configurations, vendor passthru and
rescue through the real clients: the `baremetal` CLI and openstacksdk."""

import json

import pytest

HARDWARE_TYPES = ["fake-hardware", "ipmi", "redfish"]


@pytest.fixture
def active_node(make_node, api):
    """A fake-hardware node deployed to `active`, with the fake rescue interface."""

    def make(**fields):
        node = make_node(available=True, **fields)
        api.set_provision(node["uuid"], "active", "active")
        return api.node(node["uuid"])

    return make


def test_driver_commands(cli):
    listed = cli.json("driver", "list")
    assert sorted(d["name"] for d in listed) == HARDWARE_TYPES
    assert all(d["hosts"] for d in listed)
    long = cli.json("driver", "list", "--long")
    fake = next(d for d in long if d["name"] == "fake-hardware")
    assert fake["type"] == "dynamic"
    assert fake["default_deploy_interface"] == "fake"
    assert fake["default_storage_interface"] == "noop"
    assert fake["enabled_rescue_interfaces"] == "fake, no-rescue"

    shown = cli.json("driver", "show", "redfish")
    assert shown["name"] == "redfish"
    assert shown["default_power_interface"] == "redfish"
    assert "redfish" in shown["enabled_bios_interfaces"]

    props = {p["property"]: p["description"] for p in cli.json("driver", "property", "list", "fake-hardware")}
    assert props == {"B1": "B1 description. Required.", "B2": "B2 description. Required."}
    raid = {p["property"] for p in cli.json("driver", "raid", "property", "list", "fake-hardware")}
    assert {"raid_level", "size_gb", "is_root_volume", "physical_disks"} <= raid
    assert cli.json("driver", "passthru", "list", "fake-hardware") == []

    missing = cli.run("driver", "show", "nope", check=False)
    assert missing.returncode != 0
    assert "Could not find the following driver(s) or hardware type(s): nope." in missing.stderr


def test_node_bios_raid_and_passthru_commands(cli, make_node, api):
    node = make_node()
    assert cli.json("node", "bios", "setting", "list", node["uuid"]) == []
    absent = cli.run("node", "bios", "setting", "show", node["uuid"], "ProcTurboMode", check=False)
    assert absent.returncode != 0 and "doesn't have a BIOS setting 'ProcTurboMode'" in absent.stderr

    config = {"logical_disks": [{"size_gb": 100, "raid_level": "1", "is_root_volume": True}]}
    cli.run("node", "set", node["uuid"], "--target-raid-config", json.dumps(config))
    assert api.node(node["uuid"])["target_raid_config"] == config
    bad = cli.run("node", "set", node["uuid"], "--target-raid-config",
                  json.dumps({"logical_disks": [{"size_gb": 1, "raid_level": "7"}]}), check=False)
    assert bad.returncode != 0
    assert "RAID config validation error: '7' is not one of" in bad.stderr
    assert api.node(node["uuid"])["target_raid_config"] == config

    no_raid = make_node(raid_interface="no-raid")
    refused = cli.run("node", "set", no_raid["uuid"], "--target-raid-config", json.dumps(config), check=False)
    assert refused.returncode != 0
    assert "does not support raid (disabled or not implemented)" in refused.stderr

    methods = {m["Name"]: m for m in cli.json("node", "passthru", "list", node["uuid"])}
    assert set(methods) == {"second_method", "third_method_sync", "fourth_method_shared_lock", "log_passthrough"}
    # An asynchronous method answers 202 without a body. (The CLI cannot print the
    # bare `true` a synchronous one returns, from Ironic either.)
    cli.run("node", "passthru", "call", node["uuid"], "second_method", "--arg", "bar=kazoo")
    missing = cli.run("node", "passthru", "call", node["uuid"], "second_method", check=False)
    assert missing.returncode != 0
    assert "Parameter 'bar' not passed to method 'second_method'." in missing.stderr


def test_rescue_and_unrescue_commands(cli, active_node, api):
    node = active_node()
    blank = cli.run("node", "rescue", node["uuid"], "--rescue-password", " ", check=False)
    assert blank.returncode != 0 and 'A non-empty "rescue_password" is required' in blank.stderr
    cli.run("node", "rescue", node["uuid"], "--rescue-password", "s3cret", "--wait", "30")
    rescued = api.node(node["uuid"])
    assert rescued["provision_state"] == "rescue"
    assert rescued["instance_info"]["rescue_password"] == "******"
    cli.run("node", "unrescue", node["uuid"], "--wait", "30")
    assert api.node(node["uuid"])["provision_state"] == "active"

    plain = active_node(rescue_interface="no-rescue")
    refused = cli.run("node", "rescue", plain["uuid"], "--rescue-password", "x", check=False)
    assert refused.returncode != 0
    assert "does not support rescue (disabled or not implemented)" in refused.stderr
    assert api.node(plain["uuid"])["provision_state"] == "active"


def test_sdk_drivers_and_rescue(bm, active_node):
    drivers = {d.name: d for d in bm.drivers(details=True)}
    assert sorted(drivers) == HARDWARE_TYPES
    assert drivers["fake-hardware"].default_rescue_interface == "fake"
    assert drivers["ipmi"].default_power_interface == "ipmitool"
    assert bm.get_driver("redfish").default_bios_interface == "redfish"
    assert bm.list_driver_vendor_passthru("fake-hardware") == {}

    node = active_node()
    bm.set_node_provision_state(node["uuid"], "rescue", rescue_password="pw", wait=True, timeout=30)
    assert bm.get_node(node["uuid"]).provision_state == "rescue"
    # openstacksdk knows no state to wait for after unrescue: poll, as Nova does.
    bm.set_node_provision_state(node["uuid"], "unrescue")
    bm.wait_for_nodes_provision_state([node["uuid"]], "active", timeout=30)
    assert bm.get_node(node["uuid"]).provision_state == "active"
    methods = bm.list_node_vendor_passthru(node["uuid"])
    assert methods["third_method_sync"]["async"] is False
    called = bm.call_node_vendor_passthru(node["uuid"], "POST", "third_method_sync", {"bar": "meow"})
    assert called.status_code == 200 and called.json() is True
