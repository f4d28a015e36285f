"""Nova's boot-from-volume call sequence, replayed through openstacksdk (clients.md §4).

The calls, their order and their arguments follow nova's ironic virt driver:
spawn (§4.1), delete (§4.2) and the clean-up after a failed spawn (§4.3).
"""

import time
import uuid

import pytest
from openstack import exceptions

from conftest import iqn, unique

# nova/virt/ironic/driver.py _NODE_FIELDS
NODE_FIELDS = (
    "uuid", "power_state", "target_power_state", "provision_state",
    "target_provision_state", "last_error", "maintenance", "properties",
    "instance_uuid", "traits", "resource_class",
)
# Nova's [ironic]api_retry_interval is 2 s; polling faster keeps the test short.
POLL = 0.2
POLL_LIMIT = 300


@pytest.fixture
def bfv_node(api, bm):
    """An available BFV-capable node: node-subset.md §6, set up through the API."""
    body = {
        "driver": "fake-hardware",
        "name": unique("bfv"),
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
    resp = api.post("/v1/nodes", body)
    if resp.status_code == 400 and "ipxe" in resp.text:
        # Without the iPXE boot interface, `fake` stands in: it claims iPXE boot for the
        # storage check but renders no boot script. The deploy interface stays `direct`,
        # whose tear-down deletes the volume targets (`fake` deploy would not).
        body.update(boot_interface="fake", name=unique("bfv"))
        resp = api.post("/v1/nodes", body)
    assert resp.status_code == 201, resp.text
    node = resp.json()
    assert node["storage_interface"] == "external"
    connector = bm.create_volume_connector(node_id=node["uuid"], type="iqn", connector_id=iqn())
    mac = "52:54:00:%02x:%02x:%02x" % tuple(uuid.uuid4().bytes[:3])
    api.post("/v1/ports", {"node_uuid": node["uuid"], "address": mac}, expect=201)
    api.set_power(node["uuid"], "power off")
    api.set_provision(node["uuid"], "manage", "manageable")
    api.set_provision(node["uuid"], "provide", "available")
    return {"uuid": node["uuid"], "boot_interface": node["boot_interface"],
            "connector": connector, "mac": mac}


def _instance_node(bm, instance):
    """Nova's lookup: GET /v1/nodes?instance_uuid=<instance>&fields=<_NODE_FIELDS>."""
    nodes = list(bm.nodes(instance_id=instance, fields=NODE_FIELDS))
    assert len(nodes) <= 1, nodes
    return nodes[0] if nodes else None


def _get_volume_connector(bm, node_id):
    """nova.virt.ironic.driver.IronicDriver.get_volume_connector, iqn/ip/wwn part."""
    node = bm.get_node(node_id, fields=NODE_FIELDS)
    props = {}
    for c in bm.volume_connectors(node=node.id, details=True):
        if c.type == "ip":
            props.setdefault("ip", c.connector_id)
            props.setdefault("host", c.connector_id)
        elif c.type == "iqn":
            props.setdefault("initiator", c.connector_id)
        elif c.type == "wwpn":
            props.setdefault("wwpns", []).append(c.connector_id)
        elif c.type == "wwnn":
            props.setdefault("wwnns", []).append(c.connector_id)
    props.update(platform=node.properties.get("cpu_arch"), os_type="baremetal", multipath=False)
    return props


def _connection_info(volume_id, lun):
    """What Cinder's iSCSI driver hands Nova (connection_info['data'])."""
    return {
        "target_discovered": False,
        "target_iqn": f"iqn.2010-10.org.openstack:volume-{volume_id}",
        "target_portal": "192.0.2.10:3260",
        "target_lun": lun,
        "volume_id": volume_id,
        "auth_method": "CHAP",
        "auth_username": "Xq3vA",
        "auth_password": "s3cr3t",
        "encrypted": False,
        "access_mode": "rw",
    }


def _reserve(bm, node_id, instance):
    """prepare_for_spawn."""
    node = bm.get_node(node_id, fields=NODE_FIELDS)
    assert node.instance_id is None
    assert node.is_maintenance is False
    assert node.power_state not in (None, "error")
    assert node.provision_state in ("available", None)
    assert node.resource_class == "baremetal"
    assert node.traits == []
    bm.patch_node(
        node_id,
        [{"op": "replace", "path": "/instance_uuid", "value": instance}],
        retry_on_conflict=False,
    )


def test_spawn_and_delete(bm, api, bfv_node):
    node_id = bfv_node["uuid"]
    instance = str(uuid.uuid4())

    # 1. prepare_for_spawn: reserve the node; a second instance gets 409.
    _reserve(bm, node_id, instance)
    with pytest.raises(exceptions.ConflictException):
        bm.patch_node(
            node_id,
            [{"op": "replace", "path": "/instance_uuid", "value": str(uuid.uuid4())}],
            retry_on_conflict=False,
        )
    assert bm.get_node(node_id, fields=NODE_FIELDS).instance_id == instance

    # 2. _plug_vifs: attach the Neutron port; a repeat is a 409 Nova accepts.
    vif = str(uuid.uuid4())
    bm.attach_vif_to_node(node_id, vif, retry_on_conflict=False)
    with pytest.raises(exceptions.ConflictException):
        bm.attach_vif_to_node(node_id, vif, retry_on_conflict=False)
    assert bm.list_node_vifs(node_id) == [vif]

    # 3. get_volume_connector (before Cinder's attachment).
    connector = _get_volume_connector(bm, node_id)
    assert connector["initiator"] == bfv_node["connector"].connector_id
    assert connector["platform"] == "x86_64"

    # 4a/b. spawn: node, then instance_info (no image_source for BFV).
    bm.get_node(node_id, fields=NODE_FIELDS)
    info = {
        "root_gb": "0", "swap_mb": "0", "display_name": "bfv-vm", "vcpus": "2",
        "nova_host_id": "compute-1", "memory_mb": "4096", "local_gb": "0",
        "project_id": uuid.uuid4().hex, "project_name": "demo", "user_id": uuid.uuid4().hex,
        "user_name": "demo", "flavor_name": "baremetal", "fixed_ips": "", "floating_ips": "",
    }
    bm.patch_node(
        node_id, [{"op": "add", "path": f"/instance_info/{k}", "value": v} for k, v in info.items()]
    )
    # 4c. One target per volume BDM: the root volume (boot index 0) and a data volume.
    root_vol, data_vol = str(uuid.uuid4()), str(uuid.uuid4())
    root = bm.create_volume_target(
        node_id=node_id, volume_type="iscsi", properties=_connection_info(root_vol, 0),
        boot_index=0, volume_id=root_vol,
    )
    data = bm.create_volume_target(
        node_id=node_id, volume_type="iscsi", properties=_connection_info(data_vol, 1),
        boot_index=1, volume_id=data_vol,
    )
    assert root.properties["auth_password"] == "******"
    # 4d. validate: deploy, power and storage must pass.
    result = bm.validate_node(node_id, required=None)
    for iface in ("deploy", "power", "storage"):
        assert iface in result, result
        assert result[iface].result is True, (iface, result[iface].reason)
    for iface, r in result.items():
        # false (or null for "unsupported") comes with a reason
        assert r.result in (True, False, None), (iface, r.result)
        if r.result is not True:
            assert r.reason, iface
    # 4e. config drive preparation reads ports and portgroups.
    ports = list(bm.ports(details=True, node=node_id))
    assert [p.address for p in ports] == [bfv_node["mac"]]
    assert ports[0].internal_info.get("tenant_vif_port_id") == vif
    assert list(bm.port_groups(details=True, node=node_id)) == []

    # 4f. deploy; 4g. poll by instance_uuid until active.
    bm.set_node_provision_state(node_id, "active")
    node = _poll(bm, instance, lambda n: n.provision_state == "active", fail_on_deploy_error=True)
    assert node.instance_id == instance
    full = api.node(node_id)
    assert full["provision_state"] == "active"
    assert full["target_provision_state"] is None
    assert full["power_state"] == "power on"
    if bfv_node["boot_interface"] == "ipxe":
        assert full["driver_internal_info"].get("boot_from_volume") == root.id

    # Targets can be read back by Nova's clean-up query while active.
    assert {t.id for t in bm.volume_targets(details=True, node=node_id)} == {root.id, data.id}

    # Delete (§4.2): tear down and poll until the node leaves the instance query.
    assert bm.get_node(node_id, fields=NODE_FIELDS).provision_state == "active"
    bm.set_node_provision_state(node_id, "deleted")
    _poll(
        bm, instance,
        lambda n: n is None or n.provision_state in (None, "cleaning", "clean wait", "clean failed", "available"),
        allow_missing=True,
    )
    node = api.wait_node(node_id, provision_state="available", target_provision_state=None)
    assert node["instance_uuid"] is None
    assert node["instance_info"] == {}
    assert node["power_state"] == "power off"
    assert "boot_from_volume" not in node["driver_internal_info"]
    # Ironic's tear-down removed the targets and VIFs; connectors stay with the node.
    assert list(bm.volume_targets(node=node_id)) == []
    for t in (root, data):
        with pytest.raises(exceptions.NotFoundException):
            bm.get_volume_target(t.id)
    assert bm.list_node_vifs(node_id) == []
    assert [c.id for c in bm.volume_connectors(node=node_id)] == [bfv_node["connector"].id]
    assert _instance_node(bm, instance) is None

    # The node can take the next instance.
    _reserve(bm, node_id, str(uuid.uuid4()))


def test_failed_spawn_cleanup(bm, api, bfv_node):
    """A data volume without a boot index fails the target POST; Nova cleans up (§4.3)."""
    node_id = bfv_node["uuid"]
    instance = str(uuid.uuid4())
    _reserve(bm, node_id, instance)
    vif = str(uuid.uuid4())
    bm.attach_vif_to_node(node_id, vif, retry_on_conflict=False)
    bm.patch_node(node_id, [{"op": "add", "path": "/instance_info/display_name", "value": "vm"}])

    root_vol = str(uuid.uuid4())
    bm.create_volume_target(
        node_id=node_id, volume_type="iscsi", properties=_connection_info(root_vol, 0),
        boot_index=0, volume_id=root_vol,
    )
    with pytest.raises(exceptions.BadRequestException):
        bm.create_volume_target(
            node_id=node_id, volume_type="iscsi", properties=_connection_info(root_vol, 1),
            boot_index=None, volume_id=str(uuid.uuid4()),
        )
    # And a second root volume is a conflict.
    with pytest.raises(exceptions.ConflictException):
        bm.create_volume_target(
            node_id=node_id, volume_type="iscsi", properties={}, boot_index=0,
            volume_id=str(uuid.uuid4()),
        )

    # failed_spawn_cleanup → _cleanup_deploy
    node = _instance_node(bm, instance)
    assert node is not None and node.id == node_id
    targets = list(bm.volume_targets(details=True, node=node_id))
    assert len(targets) == 1
    for t in targets:
        bm.delete_volume_target(t, ignore_missing=True)
    for v in bm.list_node_vifs(node_id):
        bm.detach_vif_from_node(node_id, v)
    # The SDK derives `replace /instance_uuid null` and `add /instance_info {}` by diffing.
    n = bm.get_node(node_id)
    bm.update_node(n, instance_id=None, instance_info={}, retry_on_conflict=False)

    node = api.node(node_id)
    assert node["instance_uuid"] is None and node["instance_info"] == {}
    assert node["provision_state"] == "available"
    assert list(bm.volume_targets(node=node_id)) == []
    assert bm.list_node_vifs(node_id) == []
    assert _instance_node(bm, instance) is None
    # Nova's clean-up query for a node that no longer exists is an error, not an empty list.
    with pytest.raises(exceptions.NotFoundException):
        list(bm.volume_targets(details=True, node=str(uuid.uuid4())))


def _poll(bm, instance, done, allow_missing=False, fail_on_deploy_error=False):
    for _ in range(POLL_LIMIT):
        node = _instance_node(bm, instance)
        if node is None and not allow_missing:
            raise AssertionError(f"no node has instance {instance}")
        if fail_on_deploy_error and node is not None:
            assert node.provision_state != "deploy failed", node.last_error
            assert node.provision_state not in ("available", None), node
            assert node.target_provision_state not in ("deleted", "available"), node
        if done(node):
            return node
        time.sleep(POLL)
    raise AssertionError(f"instance {instance}: node never reached the expected state: {node}")
