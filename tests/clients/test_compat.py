"""What the clients send that Ironic reads loosely, through the real `baremetal` CLI and
openstacksdk: `--pxe-enabled True` (a boolean as a string), `--fault`, VIFs on a node
whose network interface is `noop`, and an endpoint given without `/v1`."""

import random

import requests

from conftest import API_VERSION


def mac():
    return "52:54:00:%02x:%02x:%02x" % tuple(random.randint(0, 255) for _ in range(3))


def test_port_pxe_enabled_as_the_cli_sends_it(cli, node):
    on = cli.json("port", "create", mac(), "--node", node["uuid"], "--pxe-enabled", "True")
    off = cli.json("port", "create", mac(), "--node", node["uuid"], "--pxe-enabled", "false")
    assert (on["pxe_enabled"], off["pxe_enabled"]) == (True, False)
    shown = cli.json("port", "show", off["uuid"])
    assert shown["pxe_enabled"] is False
    bad = cli.run("port", "create", mac(), "--node", node["uuid"], "--pxe-enabled", "maybe",
                  check=False)
    assert bad.returncode != 0
    assert "Unrecognized value 'maybe'" in bad.stderr, bad.stderr


def test_node_list_by_fault(cli, node):
    # No node of this service records a fault unless its power sync failed.
    listed = cli.json("node", "list", "--fault", "power failure")
    assert node["uuid"] not in [n["UUID"] for n in listed]
    bad = cli.run("node", "list", "--fault", "no-such-fault", check=False)
    assert bad.returncode != 0
    assert 'Unrecognized fault "no-such-fault"' in bad.stderr, bad.stderr


def test_vifs_on_a_noop_network_interface(cli, make_node, bm):
    node = make_node(network_interface="noop")
    cli.run("node", "vif", "attach", node["uuid"], "vif-noop-1")
    assert cli.json("node", "vif", "list", node["uuid"]) == []
    cli.run("node", "vif", "detach", node["uuid"], "vif-noop-1")
    # openstacksdk sees the same: attach succeeds and nothing is listed.
    bm.attach_vif_to_node(node["uuid"], "vif-noop-2")
    assert list(bm.list_node_vifs(node["uuid"])) == []


def test_paths_without_v1(sanlink, node):
    headers = {"X-OpenStack-Ironic-API-Version": API_VERSION}
    r = requests.get(f"{sanlink}/nodes/detail", params={"instance_uuid": node["uuid"]},
                     headers=headers, timeout=10)
    assert r.status_code == 200, r.text
    assert r.json() == {"nodes": []}
    r = requests.get(f"{sanlink}/nodes/{node['name']}", headers=headers, timeout=10)
    assert r.status_code == 200 and r.json()["uuid"] == node["uuid"], r.text
