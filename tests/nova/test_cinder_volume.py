"""Nova's ironic driver deploying a node whose storage interface is ``cinder``, with a
real Cinder (``tests/cinder/cinder_service.py``: Cinder 29 from ``.venv-cinder``, its
volumes exported by its own tgtd).

This is boot from volume as a cloud with Cinder runs it. The compute manager's part is
done here as nova-compute does it for an Ironic instance with a volume: the node is
claimed (``prepare_for_spawn``), the driver gives the node's connector
(``get_volume_connector``), and the volume is attached to the instance in the real
Cinder (``os-reserve``, ``os-initialize_connection`` with that connector,
``os-attach`` with the instance's uuid, what Nova's ``nova.volume.cinder`` API does for
an old-style attachment). ``spawn`` then gets the block device mapping with Cinder's
connection_info, and the driver writes the volume target with Cinder's data.
sanlink's ``cinder`` storage interface, deploying, finds the volume already attached
to the node's instance and neither attaches it again nor replaces Nova's properties;
at tear-down (``destroy``) it detaches it in Cinder, as Ironic's does for a volume
attached to the instance.

The service is one of this module's own (``tests/clients/own_service.py``), in the
session's topology, with ``SANLINK_CINDER_AUTH_TYPE=none`` and the Cinder's endpoint;
the shared service of the other Nova tests has no Cinder. Nova's driver for it is a
second ``IronicDriver`` whose connection was made while ``[ironic] endpoint_override``
pointed at that service.

Runs against sanlink only: the Ironic 39 of ``--against ironic`` has no Cinder
configured. Without Keystone only (``--auth none``): the service and Cinder here use
no authentication. Skipped, with the reason, when Cinder is not installed and cannot
be (no PyPI).

The node is ``fake-hardware`` as in test_ironic_driver.py, but for deploy ``direct``
(the deploy that attaches and detaches the volumes; for a volume boot without an image
it completes without an agent, powering the node on) and storage ``cinder``.
"""

import json
import sys
import time
import uuid

import pytest
import requests

from conftest import AGAINST, AUTH, REPO, _load, clients
from test_ironic_driver import (
    NODE_FIELDS,
    FakeNovaDB,
    block_device_info,
    image_meta,
    make_instance,
    network_info,
)

pytestmark = [
    pytest.mark.skipif(AGAINST != "sanlink",
                       reason=f"--against {AGAINST}: the Ironic 39 here has no Cinder "
                              "configured (its cinder storage interface cannot attach)"),
    pytest.mark.skipif(AUTH != "none",
                       reason=f"--auth {AUTH}: the Cinder and the service of this test run "
                              "without authentication"),
]

cinder_service = _load("sanlink_cinder_service_nova", REPO / "tests/cinder/cinder_service.py")


def _load_own_service():
    """tests/clients/own_service.py, which does ``import conftest`` meaning the client
    tests' conftest: loaded with that name pointing at it (here ``conftest`` is the Nova
    tests' own), then the name given back."""
    saved = sys.modules.get("conftest")
    sys.modules["conftest"] = clients
    try:
        return _load("sanlink_own_service_nova", REPO / "tests/clients/own_service.py")
    finally:
        if saved is None:
            sys.modules.pop("conftest", None)
        else:
            sys.modules["conftest"] = saved


own_service = _load_own_service()

CINDER_NODE_FIELDS = {**NODE_FIELDS, "deploy_interface": "direct", "storage_interface": "cinder"}


def _logs(svc, lines=60):
    """The tail of the service's logs, for a failure message."""
    out = []
    for log in svc.logs:
        text = log.read_text(errors="replace").splitlines()[-lines:]
        out.append(f"--- {log}\n" + "\n".join(text))
    return "\n".join(out)


# ---------------------------------------------------------------------------
# Cinder, the service configured with it, and Nova's driver pointed at that service.


@pytest.fixture(scope="module")
def cinder(tmp_path_factory):
    try:
        with cinder_service.running(tmp_path_factory.mktemp("cinder")) as cd:
            yield cd
    except cinder_service.CinderUnavailable as exc:
        pytest.skip(f"no Cinder: {exc}")


@pytest.fixture(scope="module")
def cinder_sanlink(cinder, tmp_path_factory):
    """A service of this module's own, in the session's topology, with Cinder."""
    svc = own_service.OwnService(
        tmp_path_factory.mktemp("sanlink-nova-cinder"),
        SANLINK_CINDER_AUTH_TYPE="none",
        SANLINK_CINDER_ENDPOINT_OVERRIDE=cinder.settings()["endpoint"],
        SANLINK_CINDER_TIMEOUT="10",
    ).start()
    yield svc
    svc.stop()


@pytest.fixture(scope="module")
def cbm(cinder_sanlink):
    """openstacksdk's baremetal proxy on that service: the checks."""
    import openstack

    conn = openstack.connect(
        load_yaml_config=False,
        load_envvars=False,
        auth_type="none",
        baremetal_endpoint_override=cinder_sanlink.base + "/",
        baremetal_status_code_retries=0,
    )
    return conn.baremetal


@pytest.fixture(scope="module")
def cinder_nova_db(nova_conf):
    """Nova's database rows of this module (the shared one is test_ironic_driver's)."""
    db = FakeNovaDB()
    with pytest.MonkeyPatch.context() as mp:
        db.install(mp)
        yield db


@pytest.fixture(scope="module")
def cinder_driver(nova_conf, cinder_nova_db, cinder_sanlink):
    """A second IronicDriver, built and started as nova-compute does, whose baremetal
    connection (made once, on first use, from ``[ironic]``) was made while
    ``endpoint_override`` named this module's service."""
    from nova.virt import virtapi
    from nova.virt.ironic import driver as ironic_driver

    nova_conf.set_override("endpoint_override", cinder_sanlink.base + "/", group="ironic")
    try:
        drv = ironic_driver.IronicDriver(virtapi.VirtAPI())
        drv.init_host(nova_conf.host)
        connection = drv.ironic_connection
    finally:
        nova_conf.clear_override("endpoint_override", group="ironic")
    assert connection.get_endpoint().startswith(cinder_sanlink.base), connection.get_endpoint()
    return drv


@pytest.fixture(scope="module")
def cinder_ctx(nova_conf):
    from nova import context

    return context.get_admin_context()


def _wait(bm, svc, node_id, timeout=60, **want):
    deadline = time.monotonic() + timeout
    while True:
        node = bm.get_node(node_id)
        if all(getattr(node, k) == v for k, v in want.items()):
            return node
        if time.monotonic() > deadline:
            raise AssertionError(f"node {node_id} never reached {want}: {node.to_dict()}\n"
                                 f"{_logs(svc)}")
        time.sleep(0.2)


def _make_node(bm):
    """An available node for Nova: the interfaces above, a port, an iSCSI initiator."""
    fields = {**CINDER_NODE_FIELDS, "name": f"nova-cinder-{uuid.uuid4().hex[:10]}"}
    node = bm.create_node(**fields)
    mac = "52:54:00:%02x:%02x:%02x" % tuple(uuid.uuid4().bytes[:3])
    bm.create_port(node_id=node.id, address=mac)
    connector = bm.create_volume_connector(
        node_id=node.id, type="iqn", connector_id=f"iqn.2024-01.org.example:{node.id[:8]}",
    )
    bm.set_node_power_state(node, "power off", wait=True)
    bm.set_node_provision_state(node, "manage", wait=True)
    bm.set_node_provision_state(node, "provide", wait=True)
    node = bm.get_node(node.id)
    assert node.provision_state == "available", node.to_dict()
    return node, connector


def _cinder_ok(response, *codes):
    assert response.status_code in codes, (response.request.method, response.request.url,
                                           response.status_code, response.text)
    return response


# ---------------------------------------------------------------------------
# The test.


def test_boot_from_a_cinder_volume_nova_attached(cinder_driver, cbm, cinder_ctx, cinder_nova_db,
                                                 cinder, cinder_sanlink):
    from nova.compute import power_state

    driver, bm, ctx, db = cinder_driver, cbm, cinder_ctx, cinder_nova_db
    node, connector = _make_node(bm)
    node_id = node.id
    assert node.storage_interface == "cinder"
    assert node.deploy_interface == "direct"
    volume = cinder.create_volume(name="nova-boot")

    # The compute manager's build: claim the node, the networks, the volume.
    nw_info = network_info()
    instance = make_instance(ctx, db, node_id, nw_info)
    driver.prepare_for_spawn(instance)
    assert bm.get_node(node_id).instance_id == instance.uuid
    driver.prepare_networks_before_block_device_mapping(instance, nw_info)

    # nova-compute's volume attach (DriverVolumeBlockDevice.attach with the old-style
    # Cinder API): the driver's connector, then reserve, initialize_connection and
    # attach in Cinder, the connection_info saved on the BDM.
    props = driver.get_volume_connector(instance)
    assert props["initiator"] == connector.connector_id
    assert props["ip"] == props["host"] == "10.0.0.5"
    _cinder_ok(cinder.action(volume, "os-reserve"), 202)
    r = _cinder_ok(cinder.action(volume, "os-initialize_connection", {"connector": props}), 200)
    connection_info = r.json()["connection_info"]
    connection_info["serial"] = volume  # as Nova's attach adds it
    assert connection_info["driver_volume_type"] == "iscsi", connection_info
    data = connection_info["data"]
    assert data["target_iqn"] == f"iqn.2010-10.org.openstack:volume-{volume}", data
    assert data["target_portal"] == cinder.settings()["iscsi_portal"], data
    assert data["auth_method"] == "CHAP" and data["auth_password"], data
    _cinder_ok(cinder.action(volume, "os-attach",
                             {"instance_uuid": instance.uuid, "mountpoint": "/dev/sda"}), 202)
    shown = cinder.volume(volume)
    assert shown["status"] == "in-use", shown
    assert [a["server_id"] for a in shown["attachments"]] == [instance.uuid], shown

    bdi = block_device_info(instance, db, volumes=((volume, 0, connection_info),))
    driver.spawn(ctx, instance, image_meta(), injected_files=[], admin_password=None,
                 allocations={}, network_info=nw_info, block_device_info=bdi)

    node = bm.get_node(node_id)
    assert node.provision_state == "active", f"{node.to_dict()}\n{_logs(cinder_sanlink)}"
    assert node.target_provision_state is None
    assert node.instance_id == instance.uuid
    assert node.last_error is None, node.last_error
    # The direct deploy of a volume boot powers the node on.
    assert node.power_state == "power on"
    assert driver.instance_exists(instance)
    assert driver.get_info(instance, use_cache=False).state == power_state.RUNNING

    # Cinder: still the one attachment Nova made, to the instance; sanlink attached
    # nothing (nor labelled the volume as its own).
    shown = cinder.volume(volume)
    assert shown["status"] == "in-use", shown
    assert len(shown["attachments"]) == 1, shown["attachments"]
    attachment = shown["attachments"][0]
    assert attachment["server_id"] == instance.uuid, attachment
    assert attachment["device"] == "/dev/sda", attachment
    assert f"ironic_node_{node_id}" not in shown["metadata"], shown["metadata"]

    # The target is the one Nova wrote, with Cinder's data (the API masks the password).
    targets = list(bm.volume_targets(node=node_id, details=True))
    assert len(targets) == 1, targets
    target = targets[0]
    assert target.volume_id == volume
    assert target.volume_type == "iscsi"
    assert target.boot_index == 0
    assert target.properties == {**data, "auth_password": "******"}, target.properties
    assert "ironic_volume_uuid" not in target.properties

    # The iPXE script boots the volume with Cinder's data, the real CHAP secret in it.
    boot = f"http://{cinder_sanlink.env['SANLINK_BOOT_LISTEN']}"
    script = requests.get(f"{boot}/{node_id}/config", timeout=10).text
    host, port = data["target_portal"].rsplit(":", 1)
    assert f"iscsi:{host}::{port}:{data['target_lun']}:{data['target_iqn']}" in script, script
    assert f"set password {data['auth_password']}" in script, script
    assert f"volume-{volume}" in cinder.tgt_show()

    # destroy: Nova's driver unprovisions; sanlink's tear-down powers the node off,
    # detaches the volume in Cinder and deletes the targets (the direct deploy's, as
    # Ironic's). The compute manager's own Cinder detach after destroy is not the
    # driver's and is not done here.
    driver.destroy(ctx, instance, nw_info, block_device_info=bdi)
    node = _wait(bm, cinder_sanlink, node_id, provision_state="available",
                 target_provision_state=None)
    assert node.instance_id is None
    assert node.instance_info == {}
    assert node.last_error is None, node.last_error
    assert node.power_state == "power off"
    assert not driver.instance_exists(instance)
    assert instance.uuid not in driver.list_instance_uuids()
    assert list(bm.volume_targets(node=node_id)) == []
    assert [c.id for c in bm.volume_connectors(node=node_id)] == [connector.id]

    shown = cinder.volume(volume)
    assert shown["status"] == "available", f"{shown}\n{_logs(cinder_sanlink)}"
    assert shown["attachments"] == [], shown["attachments"]
    label = json.loads(shown["metadata"][f"ironic_node_{node_id}"])
    assert label["last_action"] == "detached", label
    assert label["instance_uuid"] == instance.uuid, label
    assert f"volume-{volume}" not in cinder.tgt_show()

    # A second destroy finds no instance and returns quietly.
    driver.destroy(ctx, instance, nw_info)
    del db.instances[instance.uuid]
    cinder.delete_volume(volume)
