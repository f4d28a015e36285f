"""Nova's boot-from-volume spawn and destroy against a `redfish` node (clients.md §4).

The calls are those of test_nova_bfv.py; here the node's BMC is a Redfish one: the
sushy-tools emulator with its fake systems driver, started by the test on a free
loopback port (``$SUSHY_EMULATOR``, default ``.venv/bin/sushy-emulator``; a missing
emulator fails the test). Each step is checked on the node, on the emulator's System
resource and on the iPXE script the boot server hands the booting node.
"""

import os
import subprocess
import time
import uuid

import pytest
import requests
from openstack import exceptions

from conftest import REPO, _free_port, iqn, unique
from test_nova_bfv import (
    NODE_FIELDS,
    _connection_info,
    _get_volume_connector,
    _instance_node,
    _poll,
    _reserve,
)

# The fake driver's one system (sushy-tools' DEFAULT_UUID).
SYSTEM_ID = "/redfish/v1/Systems/27946b59-9e44-4fa7-8e91-f3527a1ef094"
STARTUP_TIMEOUT = 60.0
# The emulator applies a power change 1-11 s after the request, and the conductor waits
# for the BMC to report it before the node moves on.
POWER_TIMEOUT = 90


class Bmc:
    """A running sushy-emulator: its URL and a look at its System resource."""

    def __init__(self, url, proc, log):
        self.url = url
        self.proc = proc
        self.log = log

    def system(self):
        resp = requests.get(self.url + SYSTEM_ID, timeout=10)
        assert resp.status_code == 200, f"GET {SYSTEM_ID}: {resp.status_code} {resp.text}"
        return resp.json()

    def serving(self):
        try:
            requests.get(self.url + "/redfish/v1/", timeout=2)
            return True
        except requests.RequestException:
            return False

    def stop(self):
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()


def _emulator_binary():
    """The sushy-emulator to run; fails the test when there is none."""
    path = os.environ.get("SUSHY_EMULATOR") or str(REPO / ".venv" / "bin" / "sushy-emulator")
    if not os.path.isfile(path):
        pytest.fail(
            f"sushy-emulator not found at {path}: install tests/clients/requirements.txt "
            "into .venv (scripts/test.sh does) or set SUSHY_EMULATOR",
            pytrace=False,
        )
    return path


def _launch(binary, directory):
    """Starts the emulator on a free port; returns the Bmc, or None if it did not serve."""
    port = _free_port()
    config = directory / "emulator.conf"
    # A state directory of its own: the fake driver keeps its systems in SQLite, by
    # default shared by every emulator on the host.
    config.write_text(
        "SUSHY_EMULATOR_FAKE_DRIVER = True\n"
        "SUSHY_EMULATOR_LISTEN_IP = '127.0.0.1'\n"
        f"SUSHY_EMULATOR_LISTEN_PORT = {port}\n"
        f"SUSHY_EMULATOR_STATE_DIR = '{directory / 'state'}'\n"
    )
    log = directory / "emulator.log"
    with open(log, "ab") as out:
        proc = subprocess.Popen(
            [binary, "--config", str(config)], stdin=subprocess.DEVNULL,
            stdout=out, stderr=subprocess.STDOUT,
        )
    bmc = Bmc(f"http://127.0.0.1:{port}", proc, log)
    deadline = time.monotonic() + STARTUP_TIMEOUT
    while time.monotonic() < deadline and proc.poll() is None:
        if bmc.serving():
            return bmc
        time.sleep(0.2)
    bmc.stop()
    return None


@pytest.fixture
def bmc(tmp_path):
    """A Redfish BMC: sushy-emulator with the fake driver, on a free loopback port."""
    binary = _emulator_binary()
    # A port picked as free may be taken before the emulator binds it: try again.
    for _ in range(3):
        running = _launch(binary, tmp_path)
        if running:
            break
    else:
        pytest.fail("sushy-emulator did not start:\n" + (tmp_path / "emulator.log").read_text())
    yield running
    running.stop()
    # Shown with the captured output of a failed test.
    print("----- sushy-emulator log -----")
    print("\n".join(running.log.read_text(errors="replace").splitlines()[-100:]))


@pytest.fixture
def redfish_node(api, bm, bmc):
    """An available BFV-capable redfish node behind `bmc`, with an iqn connector and a port."""
    body = {
        "driver": "redfish",
        "name": unique("bfv-rf"),
        "driver_info": {
            "redfish_address": bmc.url,
            "redfish_system_id": SYSTEM_ID,
            "redfish_username": "admin",
            "redfish_password": "password",
            "redfish_verify_ca": False,
        },
        "boot_interface": "ipxe",
        "deploy_interface": "direct",
        "storage_interface": "external",
        "network_interface": "flat",
        "resource_class": "baremetal",
        "properties": {
            "capabilities": "iscsi_boot:true",
            "cpu_arch": "x86_64",
            "local_gb": 0,
            "memory_mb": 4096,
            "cpus": 2,
        },
    }
    node = api.post("/v1/nodes", body, expect=201).json()
    assert (node["power_interface"], node["management_interface"]) == ("redfish", "redfish")
    connector = bm.create_volume_connector(node_id=node["uuid"], type="iqn", connector_id=iqn())
    mac = "52:54:00:%02x:%02x:%02x" % tuple(uuid.uuid4().bytes[:3])
    api.post("/v1/ports", {"node_uuid": node["uuid"], "address": mac}, expect=201)
    # Verification reads the power state from the BMC: the fake system starts off.
    node = api.set_provision(node["uuid"], "manage", "manageable")
    assert node["power_state"] == "power off", node["last_error"]
    api.set_provision(node["uuid"], "provide", "available")
    return {"uuid": node["uuid"], "connector": connector, "mac": mac}


def _script_urls(boot_url, node):
    """Where a booting node fetches its script: by node UUID and by MAC (dashed)."""
    return (
        f"{boot_url}/{node['uuid']}/config",
        f"{boot_url}/pxelinux.cfg/{node['mac'].replace(':', '-')}",
    )


def _assert_no_script(boot_url, node):
    for url in _script_urls(boot_url, node):
        resp = requests.get(url, timeout=10)
        assert resp.status_code == 404, f"GET {url}: {resp.status_code} {resp.text}"


def _scripts(boot_url, node):
    """The node's boot script, the same under both of its paths."""
    texts = []
    for url in _script_urls(boot_url, node):
        resp = requests.get(url, timeout=10)
        assert resp.status_code == 200, f"GET {url}: {resp.status_code} {resp.text}"
        texts.append(resp.text)
    assert texts[0] == texts[1]
    return texts[0]


def _sanhook(drive, info):
    """The `sanhook` line attaching the volume of Cinder's `info` as BIOS drive `drive`."""
    host, port = info["target_portal"].rsplit(":", 1)
    uri = f"iscsi:{host}::{port}:{info['target_lun']:x}:{info['target_iqn']}"
    return f"sanhook --drive {drive} {uri} || goto fail_iscsi_retry"


def _spawn_info():
    """The instance_info Nova's spawn adds (no image_source for boot from volume)."""
    return {
        "root_gb": "0", "swap_mb": "0", "display_name": "bfv-rf-vm", "vcpus": "2",
        "nova_host_id": "compute-1", "memory_mb": "4096", "local_gb": "0",
        "project_id": uuid.uuid4().hex, "project_name": "demo", "user_id": uuid.uuid4().hex,
        "user_name": "demo", "flavor_name": "baremetal", "fixed_ips": "", "floating_ips": "",
    }


def test_a_redfish_node_boots_its_iscsi_volume_and_is_torn_down_through_the_bmc(
    bm, api, bmc, boot_url, redfish_node
):
    node_id = redfish_node["uuid"]
    instance = str(uuid.uuid4())
    assert bmc.system()["PowerState"] == "Off"
    _assert_no_script(boot_url, redfish_node)

    # prepare_for_spawn and _plug_vifs.
    _reserve(bm, node_id, instance)
    vif = str(uuid.uuid4())
    bm.attach_vif_to_node(node_id, vif, retry_on_conflict=False)
    connector = _get_volume_connector(bm, node_id)
    assert connector["initiator"] == redfish_node["connector"].connector_id

    # spawn: instance_info, one target per volume BDM, validate.
    bm.get_node(node_id, fields=NODE_FIELDS)
    bm.patch_node(
        node_id,
        [{"op": "add", "path": f"/instance_info/{k}", "value": v} for k, v in _spawn_info().items()],
    )
    root_vol, data_vol = str(uuid.uuid4()), str(uuid.uuid4())
    root_info, data_info = _connection_info(root_vol, 0), _connection_info(data_vol, 1)
    root = bm.create_volume_target(
        node_id=node_id, volume_type="iscsi", properties=root_info, boot_index=0,
        volume_id=root_vol,
    )
    data = bm.create_volume_target(
        node_id=node_id, volume_type="iscsi", properties=data_info, boot_index=1,
        volume_id=data_vol,
    )
    result = bm.validate_node(node_id, required=None)
    for iface in ("boot", "deploy", "management", "power", "storage"):
        assert result[iface].result is True, (iface, result[iface].reason)
    # Not deploying yet: nothing is served.
    _assert_no_script(boot_url, redfish_node)
    assert bmc.system()["PowerState"] == "Off"

    # Deploy, polled by instance_uuid; the node is powered on once the BMC says so.
    bm.set_node_provision_state(node_id, "active")
    node = _poll(bm, instance, lambda n: n.provision_state == "active", fail_on_deploy_error=True)
    assert node.instance_id == instance
    full = api.node(node_id)
    assert (full["provision_state"], full["target_provision_state"]) == ("active", None)
    assert (full["power_state"], full["target_power_state"]) == ("power on", None)
    assert full["last_error"] is None
    assert full["driver_internal_info"].get("boot_from_volume") == root.id
    system = bmc.system()
    assert system["PowerState"] == "On"
    assert system["Boot"]["BootSourceOverrideTarget"] == "Pxe"

    # The script the node chain-loads attaches the root volume as drive 0x80, with CHAP.
    lines = _scripts(boot_url, redfish_node).splitlines()
    assert f"set initiator-iqn {connector['initiator']}" in lines
    assert _sanhook("0x80", root_info) in lines
    assert _sanhook("0x81", data_info) in lines
    assert f"set username {root_info['auth_username']}" in lines
    assert f"set password {root_info['auth_password']}" in lines
    assert lines.index(f"set initiator-iqn {connector['initiator']}") < lines.index(
        _sanhook("0x80", root_info)
    )

    # destroy: tear down and poll until the node leaves the instance query.
    assert bm.get_node(node_id, fields=NODE_FIELDS).provision_state == "active"
    bm.set_node_provision_state(node_id, "deleted")
    _poll(
        bm, instance,
        lambda n: n is None or n.provision_state in (None, "cleaning", "clean wait", "clean failed", "available"),
        allow_missing=True,
    )
    node = api.wait_node(
        node_id, timeout=POWER_TIMEOUT, provision_state="available", target_provision_state=None
    )
    assert node["last_error"] is None
    assert node["instance_uuid"] is None
    assert node["instance_info"] == {}
    assert (node["power_state"], node["target_power_state"]) == ("power off", None)
    assert "boot_from_volume" not in node["driver_internal_info"]
    assert bmc.system()["PowerState"] == "Off"

    # Targets and VIFs are gone, the connector stays, and nothing is served any more.
    assert list(bm.volume_targets(node=node_id)) == []
    for target in (root, data):
        with pytest.raises(exceptions.NotFoundException):
            bm.get_volume_target(target.id)
    assert bm.list_node_vifs(node_id) == []
    assert [c.id for c in bm.volume_connectors(node=node_id)] == [redfish_node["connector"].id]
    assert _instance_node(bm, instance) is None
    _assert_no_script(boot_url, redfish_node)
