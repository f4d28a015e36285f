"""Nova's real ironic driver (``nova.virt.ironic.driver.IronicDriver`` from PyPI)
against the service under test.

Nova runs in this process as a nova-compute runs it: the driver is built from
``nova.conf`` (``[ironic] auth_type = none``, ``endpoint_override``) and its own
methods are called, the way Nova's compute manager calls them. Only what lies outside
the driver is faked: Nova's database (instances, services, block device mappings are
objects held here), Neutron (the VIFs of the network_info and the instance's security
groups) and Cinder (the iSCSI connection_info of the boot volume). After each step the
node, its volume targets and connectors, VIFs and states are read back through
openstacksdk.

The steps run in file order and share one instance (``STATE``): a step whose
predecessor failed fails as well, saying so.

The node is ``fake-hardware`` with the interfaces both services run all-in-one,
without an agent, a BMC or Neutron:

* deploy ``fake``: the deployment completes at once (``direct`` would wait for an
  agent's call-back that never comes);
* storage ``external`` with boot ``ipxe``: boot from volume with the target written by
  Nova and no Cinder behind the service. ``cinder`` has the service call Cinder
  (test_cinder_volume.py, with a real one); ``noop`` ignores the targets. For a volume
  boot Ironic's ``external`` requires a boot interface that boots over iPXE
  (``ipxe``; ``fake`` claims to, ``pxe`` does not: a failure path below);
* network ``noop``: ``flat`` and ``neutron`` make Ironic look the VIF up in Neutron;
* console, rescue and management ``fake``.

Left out, because Ironic 39 itself cannot do them all-in-one:

* ``rebuild``: Ironic answers ``PUT .../states/provision {"target": "rebuild"}``
  with a 500 (``cannot access local variable 'auto_lessee'``, conductor/deployments.py)
  whenever it cannot tell the image type, which without Glance it never can;
* a deployment that fails (``deploy failed``, Nova's ``_wait_for_active`` error
  path): the ``fake`` deploy always succeeds. The failure paths below fail earlier,
  at reservation and validation, and exercise Nova's clean-up.
"""

import json
import time
import uuid

import pytest
from openstack import exceptions as sdk_exc

NODE_FIELDS = dict(
    driver="fake-hardware",
    boot_interface="ipxe",
    deploy_interface="fake",
    storage_interface="external",
    network_interface="noop",
    console_interface="fake",
    rescue_interface="fake",
    management_interface="fake",
    power_interface="fake",
    resource_class="baremetal",
    properties={
        "cpu_arch": "x86_64",
        "cpus": 2,
        "memory_mb": 4096,
        "local_gb": 0,
        "capabilities": "iscsi_boot:true,boot_mode:uefi",
    },
)
TRAITS = ["CUSTOM_GOLD", "HW_CPU_X86_VMX"]
# The boot volume, as Cinder's iSCSI driver answers os-initialize_connection.
ROOT_VOLUME = str(uuid.uuid4())
ROOT_CONNECTION = {
    "driver_volume_type": "iscsi",
    "data": {
        "target_discovered": False,
        "target_iqn": f"iqn.2010-10.org.openstack:volume-{ROOT_VOLUME}",
        "target_portal": "192.0.2.10:3260",
        "target_lun": 0,
        "volume_id": ROOT_VOLUME,
        "auth_method": "CHAP",
        "auth_username": "Xq3vA",
        "auth_password": "s3cr3t",
        "encrypted": False,
        "access_mode": "rw",
    },
}
STATE = {}


def _step_needs(*keys):
    missing = [k for k in keys if k not in STATE]
    if missing:
        pytest.fail(f"an earlier step failed: no {', '.join(missing)}")
    return [STATE[k] for k in keys]


def _wait(bm, node_id, timeout=60, **want):
    """Polls the node through openstacksdk until every attribute has its value."""
    deadline = time.monotonic() + timeout
    while True:
        node = bm.get_node(node_id)
        if all(getattr(node, k) == v for k, v in want.items()):
            return node
        if time.monotonic() > deadline:
            raise AssertionError(f"node {node_id} never reached {want}: {node.to_dict()}")
        time.sleep(0.2)


# ---------------------------------------------------------------------------
# Nova's side: its database, Neutron and Cinder, faked; the driver, real.


class FakeNovaDB:
    """The rows of Nova's database the driver (and the config drive) reads."""

    def __init__(self):
        self.instances = {}
        self.bdms = {}

    def install(self, monkeypatch):
        from nova import objects
        from nova.network import security_group_api

        db = self

        def get_uuids_by_host(cls, context, host):
            return [u for u, i in db.instances.items() if i.host == host]

        monkeypatch.setattr(objects.InstanceList, "get_uuids_by_host", classmethod(get_uuids_by_host))
        # No other nova-compute is registered: the hash ring is this host alone.
        monkeypatch.setattr(
            objects.ServiceList, "get_all_computes_by_hv_type",
            classmethod(lambda cls, context, hv_type: objects.ServiceList(objects=[])),
        )
        # The objects here are the rows: a refresh or save has nothing to do.
        monkeypatch.setattr(objects.Instance, "refresh", lambda self, use_slave=False: None)
        monkeypatch.setattr(objects.Instance, "save", lambda self, *a, **kw: None)
        monkeypatch.setattr(
            objects.Instance, "get_bdms",
            lambda self: objects.BlockDeviceMappingList(objects=db.bdms.get(self.uuid, [])),
        )
        # Neutron: the instance has no security groups.
        monkeypatch.setattr(
            security_group_api, "get_instance_security_groups",
            lambda context, instance, detailed=False: [],
        )


@pytest.fixture(scope="session")
def nova_db(nova_conf):
    db = FakeNovaDB()
    with pytest.MonkeyPatch.context() as mp:
        db.install(mp)
        yield db


@pytest.fixture(scope="session")
def driver(nova_conf, nova_db):
    """IronicDriver, built and started as nova-compute does (init_host)."""
    from nova.virt import virtapi
    from nova.virt.ironic import driver as ironic_driver

    drv = ironic_driver.IronicDriver(virtapi.VirtAPI())
    drv.init_host(nova_conf.host)
    return drv


@pytest.fixture(scope="session")
def ctx(nova_conf):
    from nova import context

    return context.get_admin_context()


def network_info(port_id=None, mac=None, ip="10.0.0.5"):
    """What Neutron gives Nova for one port on a tenant network."""
    from nova.network import model

    subnet = model.Subnet(
        cidr="10.0.0.0/24",
        gateway=model.IP(address="10.0.0.1", type="gateway"),
        dns=[model.IP(address="192.0.2.53", type="dns")],
        ips=[model.FixedIP(address=ip, version=4)],
        routes=[],
    )
    network = model.Network(
        id=str(uuid.uuid4()), bridge="br-int", label="private", subnets=[subnet],
        meta={"mtu": 1500},
    )
    vif = model.VIF(
        id=port_id or str(uuid.uuid4()),
        address=mac or "fa:16:3e:%02x:%02x:%02x" % tuple(uuid.uuid4().bytes[:3]),
        network=network, type="other", vnic_type="baremetal", active=True,
        details={}, devname="tap" + (port_id or "x")[:11],
    )
    return model.NetworkInfo([vif])


def make_instance(ctx, nova_db, node_id, nw_info, traits=(), **fields):
    from nova import objects
    from nova.compute import task_states, vm_states

    inst_uuid = str(uuid.uuid4())
    flavor = objects.Flavor(
        name="baremetal", flavorid="bm.gold", memory_mb=4096, vcpus=2, root_gb=0,
        ephemeral_gb=0, swap=0,
        extra_specs={
            "resources:CUSTOM_BAREMETAL": "1", "resources:VCPU": "0",
            "capabilities:boot_mode": "uefi",
            **{f"trait:{t}": "required" for t in traits},
        },
    )
    values = dict(
        context=ctx, uuid=inst_uuid, id=len(nova_db.instances) + 1, node=node_id,
        host=ctx_host(), display_name="bfv-vm", hostname="bfv-vm",
        project_id=uuid.uuid4().hex, user_id=uuid.uuid4().hex, flavor=flavor,
        image_ref="", config_drive="True", key_name=None, key_data=None,
        user_data=None, metadata={"role": "nova-test"},
        system_metadata={"owner_user_name": "demo", "owner_project_name": "demo"},
        vm_state=vm_states.BUILDING, task_state=task_states.SPAWNING,
        launched_at=None, availability_zone="nova", reservation_id="r-nova-test",
        launch_index=0, root_device_name="/dev/sda", default_ephemeral_device=None,
        default_swap_device=None,
        ec2_ids=objects.EC2Ids(instance_id="i-00000001", ami_id=None, kernel_id=None, ramdisk_id=None),
        keypairs=objects.KeyPairList(objects=[]), device_metadata=None, numa_topology=None,
        info_cache=objects.InstanceInfoCache(network_info=nw_info, instance_uuid=inst_uuid),
        trusted_certs=None, services=objects.ServiceList(objects=[]),
    )
    values.update(fields)
    instance = objects.Instance(**values)
    nova_db.instances[inst_uuid] = instance
    return instance


def ctx_host():
    import nova.conf

    return nova.conf.CONF.host


def block_device_info(instance, nova_db, volumes=((ROOT_VOLUME, 0, ROOT_CONNECTION),)):
    """The block_device_info nova-compute passes to spawn: one volume BDM per volume,
    with Cinder's connection_info (os-initialize_connection) saved on it."""
    from nova import objects
    from nova.virt import block_device as driver_block_device

    bdms = []
    for i, (volume_id, boot_index, connection) in enumerate(volumes):
        bdms.append(objects.BlockDeviceMapping(
            id=i + 1, instance_uuid=instance.uuid, source_type="volume",
            destination_type="volume", volume_id=volume_id, boot_index=boot_index,
            device_name="/dev/sd" + "abcdefgh"[i], connection_info=json.dumps(connection),
            delete_on_termination=False, guest_format=None, device_type="disk",
            disk_bus=None, attachment_id=str(uuid.uuid4()), volume_size=10,
            volume_type=None, no_device=False, snapshot_id=None, image_id=None, tag=None,
        ))
    nova_db.bdms[instance.uuid] = bdms
    return {
        "root_device_name": "/dev/sda",
        "ephemerals": [],
        "swap": None,
        "block_device_mapping": [driver_block_device.DriverVolumeBlockDevice(b) for b in bdms],
    }


def image_meta():
    """A volume-backed instance's image: no image id, the volume's image properties."""
    from nova import objects

    return objects.ImageMeta.from_dict({"properties": {}})


# ---------------------------------------------------------------------------
# The Ironic side: nodes as an operator enrols them for Nova.


@pytest.fixture(scope="session")
def make_node(bm):
    """An available node for Nova: the interfaces above, a port, an iSCSI initiator."""

    def make(traits=(), **overrides):
        fields = {**NODE_FIELDS, **overrides, "name": f"nova-{uuid.uuid4().hex[:10]}"}
        node = bm.create_node(**fields)
        mac = "52:54:00:%02x:%02x:%02x" % tuple(uuid.uuid4().bytes[:3])
        bm.create_port(node_id=node.id, address=mac)
        connector = bm.create_volume_connector(
            node_id=node.id, type="iqn", connector_id=f"iqn.2024-01.org.example:{node.id[:8]}",
        )
        if traits:
            bm.set_node_traits(node, list(traits))
        bm.set_node_power_state(node, "power off", wait=True)
        bm.set_node_provision_state(node, "manage", wait=True)
        bm.set_node_provision_state(node, "provide", wait=True)
        node = bm.get_node(node.id)
        assert node.provision_state == "available", node.to_dict()
        return node, connector, mac

    return make


# ---------------------------------------------------------------------------
# The steps.


def test_resource_view_with_traits(driver, bm, make_node):
    """get_available_nodes, update_provider_tree, get_available_resource, node_is_available:
    what the resource tracker reports to Placement, traits included."""
    from nova.compute import provider_tree

    node, _, _ = make_node(traits=TRAITS)
    assert sorted(bm.get_node(node.id).traits) == TRAITS

    nodes = driver.get_available_nodes(refresh=True)
    assert node.id in nodes
    assert driver.node_is_available(node.id)

    tree = provider_tree.ProviderTree()
    tree.new_root(node.id, node.id)
    driver.update_provider_tree(tree, node.id)
    data = tree.data(node.id)
    assert data.inventory == {
        "CUSTOM_BAREMETAL": {
            "total": 1, "reserved": 0, "min_unit": 1, "max_unit": 1, "step_size": 1,
            "allocation_ratio": 1.0,
        }
    }
    assert data.traits == set(TRAITS)

    res = driver.get_available_resource(node.id)
    assert res["hypervisor_hostname"] == node.id
    assert res["resource_class"] == "baremetal"
    assert res["supported_instances"] == [("x86_64", "baremetal", "hvm")]
    assert res["stats"] == {"cpu_arch": "x86_64", "iscsi_boot": "true", "boot_mode": "uefi"}


def test_maintenance_node_is_reserved(driver, bm, make_node):
    """A node in maintenance stays in the view with its one unit reserved."""
    from nova.compute import provider_tree

    node, _, _ = make_node()
    bm.set_node_maintenance(node, reason="nova test")
    assert bm.get_node(node.id).is_maintenance is True
    assert node.id in driver.get_available_nodes(refresh=True)
    tree = provider_tree.ProviderTree()
    tree.new_root(node.id, node.id)
    driver.update_provider_tree(tree, node.id)
    assert tree.data(node.id).inventory["CUSTOM_BAREMETAL"]["reserved"] == 1
    assert tree.data(node.id).traits == set()
    STATE["maintenance_node"] = node.id


def test_spawn_refused_on_maintenance_node(driver, bm, ctx, nova_db):
    """prepare_for_spawn refuses a node in maintenance and leaves it alone."""
    from nova import exception

    (node_id,) = _step_needs("maintenance_node")
    instance = make_instance(ctx, nova_db, node_id, network_info())
    with pytest.raises(exception.ComputeResourcesUnavailable):
        driver.prepare_for_spawn(instance)
    node = bm.get_node(node_id)
    assert node.instance_id is None
    assert node.provision_state == "available"


def test_spawn_boot_from_volume_with_config_drive(driver, bm, ctx, nova_db, make_node):
    """The compute manager's build: prepare_for_spawn, the networks, the volume
    connector for Cinder, then spawn with a boot volume and a config drive."""
    node, connector, _ = make_node()
    node_id = node.id
    STATE.update(node=node_id, connector=connector)
    nw_info = network_info()
    instance = make_instance(ctx, nova_db, node_id, nw_info)
    STATE.update(instance=instance, nw_info=nw_info)

    driver.prepare_for_spawn(instance)
    node = bm.get_node(node_id)
    assert node.instance_id == instance.uuid
    assert node.provision_state == "available"
    # A second instance cannot take the node any more.
    from nova import exception

    other = make_instance(ctx, nova_db, node_id, network_info())
    with pytest.raises(exception.ComputeResourcesUnavailable):
        driver.prepare_for_spawn(other)
    del nova_db.instances[other.uuid]
    assert bm.get_node(node_id).instance_id == instance.uuid

    driver.prepare_networks_before_block_device_mapping(instance, nw_info)

    # What Nova hands Cinder's os-initialize_connection.
    props = driver.get_volume_connector(instance)
    assert props["initiator"] == connector.connector_id
    assert props["platform"] == "x86_64"
    assert props["os_type"] == "baremetal"
    assert props["multipath"] is False
    # No ip connector: the address of the instance's VIF stands in.
    assert props["ip"] == props["host"] == "10.0.0.5"

    bdi = block_device_info(instance, nova_db)
    driver.spawn(ctx, instance, image_meta(), injected_files=[("/etc/motd", b"hello")],
                 admin_password="secret", allocations={}, network_info=nw_info,
                 block_device_info=bdi)

    node = bm.get_node(node_id)
    assert node.provision_state == "active"
    assert node.target_provision_state is None
    assert node.instance_id == instance.uuid
    assert node.last_error is None
    info = node.instance_info
    # Boot from volume: no image_source; the flavor and owner as Nova's patcher wrote them.
    assert "image_source" not in info
    for key, value in {
        "root_gb": "0", "swap_mb": "0", "display_name": "bfv-vm", "vcpus": "2",
        "memory_mb": "4096", "local_gb": "0", "nova_host_id": ctx_host(),
        "project_id": instance.project_id, "user_id": instance.user_id,
        "project_name": "demo", "user_name": "demo", "flavor_name": "baremetal",
        "capabilities": '{"boot_mode": "uefi"}',
    }.items():
        assert info.get(key) == value, (key, info)
    # The config drive went with the deploy request; it is kept with the node, hidden.
    assert info.get("configdrive") == "******", info
    # The ``fake`` deploy does not power the node on (the agent's deploy would).
    assert node.power_state == "power off"
    targets = list(bm.volume_targets(node=node_id, details=True))
    assert len(targets) == 1
    target = targets[0]
    assert target.volume_id == ROOT_VOLUME
    assert target.boot_index == 0
    assert target.volume_type == "iscsi"
    assert target.properties["target_iqn"] == ROOT_CONNECTION["data"]["target_iqn"]
    assert target.properties["target_lun"] == 0
    assert target.properties["auth_password"] == "******"
    assert [c.id for c in bm.volume_connectors(node=node_id)] == [connector.id]
    STATE.update(spawned=instance, target=target.id)

    # What the compute manager asks once the build is done.
    from nova.compute import power_state

    assert driver.instance_exists(instance)
    # The resource tracker's periodic refreshes the driver's node cache first.
    assert node_id in driver.get_available_nodes()
    assert instance.uuid in driver.list_instance_uuids()
    assert driver.get_info(instance, use_cache=False).state == power_state.SHUTDOWN


def _nova_power(ironic_power):
    from nova.compute import power_state

    return {"power on": power_state.RUNNING, "power off": power_state.SHUTDOWN}.get(
        ironic_power, power_state.NOSTATE
    )


def test_power_on(driver, bm, ctx):
    (instance,) = _step_needs("spawned")
    driver.power_on(ctx, instance, STATE["nw_info"])
    node = bm.get_node(instance.node)
    assert node.power_state == "power on"
    assert node.target_power_state is None
    assert node.provision_state == "active"
    assert driver.get_info(instance, use_cache=False).state == _nova_power("power on")


def test_reboot_soft(driver, bm, ctx, caplog):
    (instance,) = _step_needs("spawned")
    caplog.set_level("INFO", logger="nova")
    driver.reboot(ctx, instance, STATE["nw_info"], "SOFT")
    # Nova falls back to a hard reboot if the soft one is refused (400): it was not.
    assert "Falling back to hard reboot" not in caplog.text
    assert "Successfully rebooted(type SOFT)" in caplog.text
    node = bm.get_node(instance.node)
    assert node.power_state == "power on"
    assert node.target_power_state is None
    assert node.last_error is None


def test_reboot_hard(driver, bm, ctx):
    (instance,) = _step_needs("spawned")
    driver.reboot(ctx, instance, STATE["nw_info"], "HARD")
    node = bm.get_node(instance.node)
    assert node.power_state == "power on"
    assert node.target_power_state is None
    assert node.last_error is None


def test_soft_power_off(driver, bm, caplog):
    """power_off with a timeout: Nova asks for a soft power off first."""
    (instance,) = _step_needs("spawned")
    caplog.set_level("INFO", logger="nova")
    driver.power_off(instance, timeout=30)
    # Had the soft power off been refused or timed out, Nova would have forced it.
    assert "Successfully soft powered off" in caplog.text
    assert "Attempting hard power off" not in caplog.text
    node = bm.get_node(instance.node)
    assert node.power_state == "power off"
    assert node.target_power_state is None
    assert node.last_error is None
    driver.power_on(None, instance, STATE["nw_info"])
    assert bm.get_node(instance.node).power_state == "power on"


def test_power_off(driver, bm):
    (instance,) = _step_needs("spawned")
    driver.power_off(instance)
    node = bm.get_node(instance.node)
    assert node.power_state == "power off"
    assert node.target_power_state is None
    assert driver.get_info(instance, use_cache=False).state == _nova_power("power off")
    driver.power_on(None, instance, STATE["nw_info"])
    assert bm.get_node(instance.node).power_state == "power on"


def test_trigger_crash_dump(driver, bm):
    """Inject NMI. Ironic's ``fake`` management interface has no NMI: the request is
    refused with a 400, which trigger_crash_dump passes on (Nova's API turns it into
    an error for the user); the node is left as it was."""
    (instance,) = _step_needs("spawned")
    with pytest.raises(sdk_exc.BadRequestException, match="does not support inject_nmi"):
        driver.trigger_crash_dump(instance)
    node = bm.get_node(instance.node)
    assert node.power_state == "power on"
    assert node.provision_state == "active"
    assert node.last_error is None


def test_serial_console(driver, bm, ctx):
    """get_serial_console. Nova never enables a console itself: with the node's console
    disabled it answers ConsoleTypeUnavailable. Once the operator has enabled it, Nova
    resets it (disable, then enable) and reads the console information; the ``fake``
    console interface has none (``console_info`` is ``{}``), so Nova's lookup of its
    ``type`` raises KeyError, after the reset left the console enabled."""
    from nova import exception

    (instance,) = _step_needs("spawned")
    console = bm.get_node_console(instance.node)
    assert console["console_enabled"] is False
    assert console["console_info"] is None
    with pytest.raises(exception.ConsoleTypeUnavailable):
        driver.get_serial_console(ctx, instance)
    assert bm.get_node_console(instance.node)["console_enabled"] is False

    bm.enable_node_console(instance.node)
    _wait_console(bm, instance.node, True)
    with pytest.raises(KeyError, match="type"):
        driver.get_serial_console(ctx, instance)
    console = bm.get_node_console(instance.node)
    assert console["console_enabled"] is True
    assert console["console_info"] == {}
    assert bm.get_node(instance.node).is_console_enabled is True
    bm.disable_node_console(instance.node)
    _wait_console(bm, instance.node, False)


def _wait_console(bm, node_id, enabled, timeout=30):
    deadline = time.monotonic() + timeout
    while bm.get_node_console(node_id)["console_enabled"] is not enabled:
        assert time.monotonic() < deadline, f"console of {node_id} never became {enabled}"
        time.sleep(0.2)


def test_rescue_and_unrescue(driver, bm, ctx):
    (instance,) = _step_needs("spawned")
    driver.rescue(ctx, instance, STATE["nw_info"], image_meta(), "rescue-pw", None, None)
    node = bm.get_node(instance.node)
    assert node.provision_state == "rescue"
    assert node.target_provision_state is None
    assert node.last_error is None
    # The rescue password is kept for the rescue ramdisk, with its hash; neither shown.
    assert node.instance_info.get("rescue_password") == "******"
    assert node.instance_info.get("hashed_rescue_password") == "******"

    driver.unrescue(ctx, instance)
    node = bm.get_node(instance.node)
    assert node.provision_state == "active"
    assert node.target_provision_state is None
    # The ``fake`` rescue interface's unrescue leaves the password where rescue put it
    # (the agent's clean-up would remove it); it stays hidden.
    assert node.instance_info.get("rescue_password") == "******"
    assert node.instance_info.get("hashed_rescue_password") == "******"
    assert [t.id for t in bm.volume_targets(node=instance.node)] == [STATE["target"]]


def test_attach_and_detach_interface(driver, bm, ctx):
    """attach_interface / detach_interface of a second Neutron port. The ``noop``
    network interface keeps no VIF list: both calls succeed and the list stays empty."""
    (instance,) = _step_needs("spawned")
    # Nor is the VIF plugged before the volumes were attached (at spawn).
    assert bm.list_node_vifs(instance.node) == []
    vif = network_info(ip="10.0.0.6")[0]
    driver.attach_interface(ctx, instance, image_meta(), vif)
    assert bm.list_node_vifs(instance.node) == []
    driver.detach_interface(ctx, instance, vif)
    assert bm.list_node_vifs(instance.node) == []
    node = bm.get_node(instance.node)
    assert node.provision_state == "active"
    assert node.instance_id == instance.uuid


def test_rescue_refused_when_not_active(driver, bm, ctx, nova_db, make_node):
    """Rescue of an instance whose node is not deployed: Ironic refuses, Nova raises
    InstanceRescueFailure, the node is unchanged."""
    from nova import exception

    node, _, _ = make_node()
    instance = make_instance(ctx, nova_db, node.id, network_info())
    driver.prepare_for_spawn(instance)
    with pytest.raises(exception.InstanceRescueFailure,
                       match='"rescue" can not be performed .* in state "available"'):
        driver.rescue(ctx, instance, None, image_meta(), "pw", None, None)
    after = bm.get_node(node.id)
    assert after.provision_state == "available"
    assert after.instance_id == instance.uuid
    # Nothing was deployed: destroy cleans up Nova's side (instance_uuid, instance_info).
    driver.destroy(ctx, instance, None)
    after = bm.get_node(node.id)
    assert after.instance_id is None
    assert after.instance_info == {}
    del nova_db.instances[instance.uuid]


def test_destroy(driver, bm, ctx, nova_db):
    """destroy of the active instance: Ironic tears the node down to available."""
    instance, target_id = _step_needs("spawned", "target")
    driver.destroy(ctx, instance, STATE["nw_info"], block_device_info=None)
    node = _wait(bm, instance.node, provision_state="available", target_provision_state=None)
    assert node.instance_id is None
    assert node.instance_info == {}
    assert node.last_error is None
    assert not driver.instance_exists(instance)
    assert instance.node in driver.get_available_nodes()
    assert instance.uuid not in driver.list_instance_uuids()
    # The ``fake`` deploy's tear-down neither powers the node off nor deletes the
    # volume targets (the agent-based deploys do both); the connector belongs to the
    # node and stays.
    assert node.power_state == "power on"
    assert [t.id for t in bm.volume_targets(node=instance.node)] == [target_id]
    assert [c.id for c in bm.volume_connectors(node=instance.node)] == [STATE["connector"].id]
    # A second destroy finds no instance and returns quietly, as Nova needs.
    driver.destroy(ctx, instance, STATE["nw_info"])
    del nova_db.instances[instance.uuid]
    # The operator's clean-up: a target can only go while the node is powered off.
    with pytest.raises(sdk_exc.BadRequestException, match="power on"):
        bm.delete_volume_target(target_id)
    bm.set_node_power_state(instance.node, "power off", wait=True)
    bm.delete_volume_target(target_id)
    assert list(bm.volume_targets(node=instance.node)) == []
    STATE["destroyed"] = True


def test_spawn_with_two_root_volumes_cleans_up(driver, bm, ctx, nova_db):
    """Two volumes with boot index 0: the second target is refused (409), spawn raises
    InstanceDeployFailure and Nova's clean-up leaves the node as it found it."""
    from nova import exception

    node_id, _ = _step_needs("node", "destroyed")
    nw_info = network_info()
    instance = make_instance(ctx, nova_db, node_id, nw_info)
    driver.prepare_for_spawn(instance)
    other = str(uuid.uuid4())
    bdi = block_device_info(instance, nova_db, volumes=(
        (ROOT_VOLUME, 0, ROOT_CONNECTION),
        (other, 0, {**ROOT_CONNECTION, "data": {**ROOT_CONNECTION["data"], "volume_id": other}}),
    ))
    with pytest.raises(exception.InstanceDeployFailure):
        driver.spawn(ctx, instance, image_meta(), [], None, {}, nw_info, bdi)
    node = bm.get_node(node_id)
    assert node.provision_state == "available"
    assert node.instance_id is None
    assert node.instance_info == {}
    assert list(bm.volume_targets(node=node_id)) == []
    del nova_db.instances[instance.uuid]


def test_spawn_fails_validation_cleans_up(driver, bm, ctx, nova_db, make_node):
    """A volume boot with ``external`` storage needs a boot interface that boots iSCSI
    over iPXE: on a ``pxe``-boot node the storage validation fails, spawn raises
    ValidationError and cleans up before any deploy."""
    from nova import exception

    node, _, _ = make_node(boot_interface="pxe")
    nw_info = network_info()
    instance = make_instance(ctx, nova_db, node.id, nw_info)
    driver.prepare_for_spawn(instance)
    bdi = block_device_info(instance, nova_db)
    with pytest.raises(exception.ValidationError, match="storage: .*ipxe"):
        driver.spawn(ctx, instance, image_meta(), [], None, {}, nw_info, bdi)
    after = bm.get_node(node.id)
    assert after.provision_state == "available"
    assert after.instance_id is None
    assert after.instance_info == {}
    assert list(bm.volume_targets(node=node.id)) == []
    result = bm.validate_node(node.id, required=None)
    assert result["storage"].result is True, "without targets there is no volume boot"
    del nova_db.instances[instance.uuid]


def test_spawn_with_trait_the_node_lacks(driver, bm, ctx, nova_db, make_node):
    """A flavor requiring a trait the node does not have: Nova writes it into
    instance_info, the deploy validation fails, spawn raises and cleans up."""
    from nova import exception

    node, _, _ = make_node()
    nw_info = network_info()
    instance = make_instance(ctx, nova_db, node.id, nw_info, traits=["CUSTOM_GOLD"])
    driver.prepare_for_spawn(instance)
    bdi = block_device_info(instance, nova_db)
    with pytest.raises(exception.ValidationError, match="deploy: .*missing traits CUSTOM_GOLD"):
        driver.spawn(ctx, instance, image_meta(), [], None, {}, nw_info, bdi)
    after = bm.get_node(node.id)
    assert after.provision_state == "available"
    assert after.target_provision_state is None
    assert after.instance_id is None
    assert after.instance_info == {}
    assert list(bm.volume_targets(node=node.id)) == []
    del nova_db.instances[instance.uuid]


def test_destroy_unknown_instance(driver, ctx, nova_db):
    """destroy of an instance no node carries returns quietly."""
    instance = make_instance(ctx, nova_db, str(uuid.uuid4()), network_info())
    driver.destroy(ctx, instance, None)
    assert not driver.instance_exists(instance)
    del nova_db.instances[instance.uuid]
