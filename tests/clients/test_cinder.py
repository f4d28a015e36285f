"""The ``cinder`` storage interface against a real Cinder (tests/cinder/cinder_service.py:
Cinder 29 from PyPI, volumes in sparse files exported by its own tgtd), in the
session's topology: a deploy attaches the node's volume targets through Cinder with
the node's own connector, writes Cinder's connection data into the targets and the
iPXE script, and a tear-down gives them back.

The service of these tests is one of their own (own_service.py), configured with
``SANLINK_CINDER_AUTH_TYPE=none`` and the Cinder's endpoint. Cinder down, an unknown
volume and connectors of the wrong type are the failure cases. The module is skipped
with a reason when Cinder is not installed and cannot be (no PyPI).
"""

import json
import os
import re
import subprocess
import sys
import time
import uuid
from pathlib import Path

import pytest
import requests

from conftest import REPO, iqn, unique
from own_service import OwnService
from test_nova_bfv_redfish import SYSTEM_ID, bmc  # noqa: F401 - the fixture

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "cinder"))
import cinder_service  # noqa: E402

pytestmark = pytest.mark.cinder

API_VERSION = "1.46"


@pytest.fixture(scope="module")
def cinder(tmp_path_factory):
    try:
        with cinder_service.running(tmp_path_factory.mktemp("cinder")) as cd:
            yield cd
    except cinder_service.CinderUnavailable as exc:
        pytest.skip(f"no Cinder: {exc}")


@pytest.fixture(scope="module")
def sanlink_cinder(cinder, tmp_path_factory):
    settings = cinder.settings()
    svc = OwnService(
        tmp_path_factory.mktemp("sanlink-cinder"),
        SANLINK_CINDER_AUTH_TYPE="none",
        SANLINK_CINDER_ENDPOINT_OVERRIDE=settings["endpoint"],
        # A failed detach is retried once, 1 s later, to keep the failure cases short.
        SANLINK_CINDER_ACTION_RETRIES="1",
        SANLINK_CINDER_ACTION_RETRY_INTERVAL="1",
        SANLINK_CINDER_TIMEOUT="10",
    ).start()
    yield svc
    svc.stop()


class Api:
    def __init__(self, base):
        self.base = base
        self.s = requests.Session()
        self.s.headers["X-OpenStack-Ironic-API-Version"] = API_VERSION

    def call(self, method, path, body=None, expect=None):
        r = self.s.request(method, self.base + path, json=body, timeout=60)
        if expect is not None:
            assert r.status_code == expect, (method, path, r.status_code, r.text)
        return r

    def provision(self, node, target, expect=202):
        """Asks for a provision state change and, when it is accepted, waits until the
        node has reached a stable state."""
        r = self.call("PUT", f"/v1/nodes/{node}/states/provision", {"target": target}, expect)
        deadline = time.monotonic() + 120
        while r.status_code == 202 and self.node(node)["target_provision_state"] is not None:
            assert time.monotonic() < deadline, self.node(node)
            time.sleep(0.2)
        return r

    def node(self, node):
        return self.call("GET", f"/v1/nodes/{node}", expect=200).json()

    def targets(self, node):
        r = self.call("GET", f"/v1/volume/targets?node={node}&detail=True", expect=200)
        return r.json()["targets"]


@pytest.fixture
def capi(sanlink_cinder):
    return Api(sanlink_cinder.base)


def boot_url(svc):
    return f"http://{svc.env['SANLINK_BOOT_LISTEN']}"


def make_node(api, connectors=("iqn", "ip"), volume_ids=(), storage="cinder"):
    """An available node booting from its first volume over iSCSI through iPXE, with
    the given connector types and one iSCSI target per volume."""
    body = {
        "driver": "fake-hardware", "name": unique("cinder"),
        "boot_interface": "ipxe", "deploy_interface": "direct",
        "storage_interface": storage,
        "properties": {"capabilities": "iscsi_boot:true"},
    }
    node = api.call("POST", "/v1/nodes", body, expect=201).json()["uuid"]
    octets = tuple(uuid.uuid4().bytes[:3])
    ids = {"iqn": iqn(), "ip": "10.%d.%d.%d" % octets, "mac": "52:54:00:%02x:%02x:%02x" % octets}
    for kind in connectors:
        api.call("POST", "/v1/volume/connectors",
                 {"node_uuid": node, "type": kind, "connector_id": ids[kind]}, expect=201)
    # The network interface wants a port to boot from.
    api.call("POST", "/v1/ports", {"node_uuid": node, "address": ids["mac"]}, expect=201)
    for index, volume in enumerate(volume_ids):
        api.call("POST", "/v1/volume/targets", {
            "node_uuid": node, "volume_type": "iscsi", "boot_index": index,
            "volume_id": volume, "properties": {},
        }, expect=201)
    api.call("PUT", f"/v1/nodes/{node}/states/power", {"target": "power off"}, expect=202)
    api.provision(node, "manage")
    api.provision(node, "provide")
    assert api.node(node)["provision_state"] == "available"
    return node, ids


def attachments(cinder, volume):
    return cinder.volume(volume)["attachments"]


def test_a_deploy_attaches_the_volumes_through_cinder_and_a_tear_down_gives_them_back(
        capi, cinder, sanlink_cinder):
    root, data = cinder.create_volume(), cinder.create_volume()
    node, ids = make_node(capi, volume_ids=(root, data))

    capi.provision(node, "active")
    deployed = capi.node(node)
    assert deployed["provision_state"] == "active", deployed["last_error"]
    assert deployed["power_state"] == "power on"

    # Each volume is in use, attached to the node (no instance: the node's UUID).
    for volume in (root, data):
        shown = cinder.volume(volume)
        assert shown["status"] == "in-use"
        assert [a["server_id"] for a in shown["attachments"]] == [node]
        assert shown["attachments"][0]["device"] == "ironic_mountpoint"
        label = shown["metadata"][f"ironic_node_{node}"]
        assert '"last_action": "attached"' in label
    # The targets hold what Cinder returned for the node's initiator.
    targets = {t["volume_id"]: t for t in capi.targets(node)}
    portal = cinder.settings()["iscsi_portal"]
    for volume in (root, data):
        props = targets[volume]["properties"]
        assert props["target_iqn"] == f"iqn.2010-10.org.openstack:volume-{volume}"
        assert props["target_portal"] == portal
        assert props["target_lun"] == 1
        assert props["auth_method"] == "CHAP"
        assert props["auth_username"] and props["auth_password"]
        assert props["volume_id"] == volume
        assert props["ironic_volume_uuid"] == volume
    # The export is tgt's, for the volume, with the CHAP user Cinder gave.
    exported = cinder.tgt_show()
    assert f"volume-{root}" in exported and f"volume-{data}" in exported

    # The iPXE script boots the root volume with what Cinder returned, CHAP included.
    script = requests.get(f"{boot_url(sanlink_cinder)}/{node}/config", timeout=10).text
    root_props = targets[root]["properties"]
    host, port = root_props["target_portal"].rsplit(":", 1)
    assert f"iscsi:{host}::{port}:1:{root_props['target_iqn']}" in script, script
    # The API masks the CHAP password; the script holds the real one.
    assert root_props["auth_password"] == "******"
    assert f"set username {root_props['auth_username']}" in script, script
    password = [line for line in script.splitlines() if line.startswith("set password ")]
    assert password and "******" not in password[0], script
    assert ids["iqn"] in script

    capi.provision(node, "deleted")
    torn = capi.node(node)
    assert torn["provision_state"] == "available", torn["last_error"]
    for volume in (root, data):
        shown = cinder.volume(volume)
        assert shown["status"] == "available"
        assert shown["attachments"] == []
        assert '"last_action": "detached"' in shown["metadata"][f"ironic_node_{node}"]
    # The direct deploy's tear-down deletes the targets, as Ironic's does.
    assert capi.targets(node) == []
    assert f"volume-{root}" not in cinder.tgt_show()


def test_a_volume_nova_attached_is_not_attached_twice(capi, cinder):
    volume = cinder.create_volume()
    node, ids = make_node(capi, volume_ids=(volume,))
    instance = str(uuid.uuid4())
    capi.call("PATCH", f"/v1/nodes/{node}",
             [{"op": "add", "path": "/instance_uuid", "value": instance}], expect=200)
    # Nova attaches the volume to the instance and writes the connection data itself.
    connector = {"initiator": ids["iqn"], "ip": ids["ip"], "host": node, "multipath": False}
    cinder.action(volume, "os-reserve")
    info = cinder.action(volume, "os-initialize_connection", {"connector": connector})
    cinder.action(volume, "os-attach", {"instance_uuid": instance, "mountpoint": "/dev/sda"})
    target = capi.targets(node)[0]
    nova_props = info.json()["connection_info"]["data"]
    capi.call("PATCH", f"/v1/volume/targets/{target['uuid']}",
             [{"op": "replace", "path": "/properties", "value": nova_props}], expect=200)

    capi.provision(node, "active")
    deployed = capi.node(node)
    assert deployed["provision_state"] == "active", deployed["last_error"]
    assert [a["server_id"] for a in attachments(cinder, volume)] == [instance]
    # Nova's connection data stayed (the API masks the CHAP password).
    assert capi.targets(node)[0]["properties"] == {**nova_props, "auth_password": "******"}

    capi.provision(node, "deleted")
    assert capi.node(node)["provision_state"] == "available"
    assert cinder.volume(volume)["status"] == "available"


def test_a_volume_attached_to_the_node_whose_data_was_lost_gets_it_again(capi, cinder):
    """A conductor that stopped between Cinder's attach and saving the targets leaves
    the volume attached to the node and the target empty; the deploy, run again, asks
    Cinder for the connection data instead of attaching a second time."""
    volume = cinder.create_volume()
    node, ids = make_node(capi, volume_ids=(volume,))
    connector = {"initiator": ids["iqn"], "ip": ids["ip"], "host": node, "multipath": False}
    cinder.action(volume, "os-reserve")
    cinder.action(volume, "os-initialize_connection", {"connector": connector})
    cinder.action(volume, "os-attach", {"instance_uuid": node, "mountpoint": "ironic_mountpoint"})

    capi.provision(node, "active")
    deployed = capi.node(node)
    assert deployed["provision_state"] == "active", deployed["last_error"]
    assert len(attachments(cinder, volume)) == 1
    props = capi.targets(node)[0]["properties"]
    assert props["target_iqn"] == f"iqn.2010-10.org.openstack:volume-{volume}"
    assert props["ironic_volume_uuid"] == volume

    capi.provision(node, "deleted")
    assert cinder.volume(volume)["status"] == "available"


def test_an_unknown_volume_fails_the_deploy_and_leaves_nothing_attached(capi, cinder):
    known = cinder.create_volume()
    missing = str(uuid.uuid4())
    node, _ = make_node(capi, volume_ids=(known, missing))

    capi.provision(node, "active")
    failed = capi.node(node)
    assert failed["provision_state"] == "deploy failed"
    assert f"Failed to get volume {missing} from cinder for node {node}" in failed["last_error"]
    assert "could not be found" in failed["last_error"]
    # The volume attached before the failure was given back.
    assert cinder.volume(known)["status"] == "available"
    assert attachments(cinder, known) == []
    assert all(t["properties"] == {} for t in capi.targets(node))


def test_a_volume_in_use_elsewhere_fails_the_deploy_and_the_others_are_given_back(capi, cinder):
    free, taken = cinder.create_volume(), cinder.create_volume()
    # Another server holds the second volume: Cinder refuses to reserve it.
    cinder.action(taken, "os-reserve")
    cinder.action(taken, "os-attach", {"instance_uuid": str(uuid.uuid4()), "mountpoint": "/dev/vdb"})
    node, _ = make_node(capi, volume_ids=(free, taken))

    capi.provision(node, "active")
    failed = capi.node(node)
    assert failed["provision_state"] == "deploy failed"
    assert f"Failed to reserve volume {taken} for node {node}" in failed["last_error"]
    assert cinder.volume(free)["status"] == "available"
    assert attachments(cinder, free) == []
    assert len(attachments(cinder, taken)) == 1


def test_connectors_of_the_wrong_type_fail_the_deploy_before_anything_is_attached(capi, cinder):
    volume = cinder.create_volume()
    node, _ = make_node(capi, connectors=("mac",), volume_ids=(volume,))
    r = capi.call("GET", f"/v1/nodes/{node}/validate", expect=200).json()
    assert r["storage"]["result"] is False
    assert "Failed to validate cinder storage interface" in r["storage"]["reason"]
    assert "'iscsi_boot'" in r["storage"]["reason"]
    # As in Ironic, the deploy's own checks do not include the storage interface's: the
    # attach finds no connector Cinder can use.
    capi.provision(node, "active")
    failed = capi.node(node)
    assert failed["provision_state"] == "deploy failed"
    assert failed["last_error"].endswith(
        f"Insufficient or incompatible volume connection records for node {node}. "
        "Valid connector types: wwpn, wwnn, iqn")
    assert cinder.volume(volume)["status"] == "available"
    assert attachments(cinder, volume) == []


def test_cinder_down_fails_the_deploy_with_its_error_and_a_retry_succeeds(capi, cinder):
    volume = cinder.create_volume()
    node, _ = make_node(capi, volume_ids=(volume,))
    cinder.stop()
    try:
        capi.provision(node, "active")
        failed = capi.node(node)
        assert failed["provision_state"] == "deploy failed"
        assert f"Failed to get volume {volume} from cinder for node {node}" in failed["last_error"]
    finally:
        cinder.start()
    assert cinder.volume(volume)["status"] == "available"
    capi.provision(node, "active")
    deployed = capi.node(node)
    assert deployed["provision_state"] == "active", deployed["last_error"]
    assert cinder.volume(volume)["status"] == "in-use"
    capi.provision(node, "deleted")
    assert cinder.volume(volume)["status"] == "available"


def doc_blocks(heading):
    """The ``bash`` blocks of one section of docs/boot-from-volume.md, in order."""
    text = (REPO / "docs" / "boot-from-volume.md").read_text()
    section = re.split(r"^## ", text, flags=re.M)
    body = next(s for s in section if s.startswith(heading))
    return re.findall(r"^```bash\n(.*?)^```", body, flags=re.M | re.S)


def test_the_cinder_walkthrough_in_the_docs_attaches_and_detaches(cinder, sanlink_cinder, bmc):
    """The walk-through's commands, as a reader pastes them, with the `baremetal` CLI:
    a Redfish node (sushy-tools' fake system) booting a real Cinder volume."""
    volume = cinder.create_volume()
    octets = tuple(uuid.uuid4().bytes[:3])
    env = {
        **os.environ,
        "PATH": f"{Path(sys.executable).parent}:{os.environ['PATH']}",
        "OS_ENDPOINT": sanlink_cinder.base, "NAME": unique("docs-cinder"),
        "BMC_URL": bmc.url, "SYSTEM_ID": SYSTEM_ID,
        "MAC": "52:54:00:%02x:%02x:%02x" % octets, "INITIATOR_IQN": iqn(),
        "VOLUME_ID": volume,
    }
    [setup] = doc_blocks("1. Say where things are")
    enroll, deploy, undeploy = doc_blocks("Booting from a Cinder volume")

    def run(*blocks):
        script = "set -euo pipefail\n" + "\n".join(blocks)
        done = subprocess.run(["bash", "-c", script], env=env, capture_output=True,
                              text=True, timeout=300)
        assert done.returncode == 0, f"exit {done.returncode}\n{done.stdout}\n{done.stderr}"
        return done.stdout

    run(setup, enroll)
    out = run(setup, deploy)
    shown = json.loads(out[out.index("["):])
    assert [t["volume_id"] for t in shown] == [volume], shown
    props = shown[0]["properties"]
    assert props["target_iqn"] == f"iqn.2010-10.org.openstack:volume-{volume}", props
    assert props["auth_password"] == "******"
    node = Api(sanlink_cinder.base).node(env["NAME"])
    assert [a["server_id"] for a in attachments(cinder, volume)] == [node["uuid"]]
    assert cinder.volume(volume)["status"] == "in-use"

    assert run(setup, undeploy).endswith("power off\navailable\n")
    assert cinder.volume(volume)["status"] == "available"
    assert attachments(cinder, volume) == []


@pytest.fixture(scope="module")
def cloud(tmp_path_factory):
    """Keystone (tests/keystone) in front of a Cinder and of a sanlink whose conductors
    reach that Cinder through Keystone's catalog as their service user, `ironic`. As
    for Ironic in a cloud, Cinder wants that user to be an admin of its project."""
    sys.path.insert(0, str(REPO / "tests" / "keystone"))
    import keystone_service

    try:
        keystone_service.ensure_venv()
        cinder_service.ensure_venv()
    except (keystone_service.KeystoneUnavailable, cinder_service.CinderUnavailable) as exc:
        pytest.skip(f"no Keystone or no Cinder: {exc}")
    ks = keystone_service.Keystone(tmp_path_factory.mktemp("keystone"))
    ks.start()
    cd = cinder_service.Cinder(tmp_path_factory.mktemp("cinder-ks"), auth="keystone",
                               keystone=ks, admin_users=("ironic",))
    try:
        cd.start()
        svc = OwnService(
            tmp_path_factory.mktemp("sanlink-cinder-ks"),
            SANLINK_AUTH_STRATEGY="keystone",
            SANLINK_KEYSTONE_AUTH_URL=ks.auth_url,
            SANLINK_KEYSTONE_USERNAME="ironic",
            SANLINK_KEYSTONE_PASSWORD=keystone_service.password("ironic"),
            SANLINK_KEYSTONE_PROJECT_NAME="service",
            SANLINK_CINDER_AUTH_TYPE="password",
        ).start()
        try:
            yield ks, cd, svc
        finally:
            svc.stop()
    finally:
        cd.stop()
        ks.stop()


def test_through_keystone_the_conductor_finds_cinder_in_the_catalog(cloud):
    ks, cd, svc = cloud
    api = Api(svc.base)
    api.s.headers["X-Auth-Token"] = ks.token("s-admin")[0]
    volume = cd.create_volume()
    node, _ = make_node(api, volume_ids=(volume,))

    api.provision(node, "active")
    deployed = api.node(node)
    assert deployed["provision_state"] == "active", deployed["last_error"]
    shown = cd.volume(volume)
    assert shown["status"] == "in-use"
    assert [a["server_id"] for a in shown["attachments"]] == [node]
    props = api.targets(node)[0]["properties"]
    assert props["target_iqn"] == f"iqn.2010-10.org.openstack:volume-{volume}"

    api.provision(node, "deleted")
    assert api.node(node)["provision_state"] == "available"
    assert cd.volume(volume)["status"] == "available"
