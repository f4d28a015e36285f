"""A machine boots from its iSCSI volume through sanlink, and only with the right keys.

Driven only through sanlink's API with openstacksdk, as a user would: a `redfish` node
for the machine, its port, an `iqn` volume connector and an `iscsi` boot volume
target carrying the SAN's portal, IQN, LUN and CHAP credentials; then manage, provide
and deploy. sanlink validates, sets PXE boot and powers the machine on through the
BMC; iPXE fetches sanlink's script and attaches the volume. The boot counts only when
the serial console shows this run's nonce, written into the volume's second sector.

With ``storage_interface=cinder`` the volume is a real Cinder's: the target names only
the volume, and sanlink attaches it through Cinder at deploy, taking the portal, IQN,
LUN and the CHAP credentials Cinder generated from the connection info it answers.
"""

import json
import os
import re
import subprocess
import sys
import uuid
from pathlib import Path

import pytest
import requests

from conftest import API_URL, BMC_URL, BOOT_SERVER, GUEST_HOST, REPO, wait_until
from disk import write_boot_sectors

BOOT_TIMEOUT = 120  # about 6 s of it is iPXE's own fixed waits under emulation
# What the served script prints when iPXE cannot attach the volume.
ATTACH_FAILED = "Could not attach the SAN volumes"
CHAP_USER = "sanlink-e2e"


def initiator():
    return f"iqn.2026-11.org.sanlink.e2e:node-{uuid.uuid4().hex[:8]}"


def create_node(cloud, machine, storage_interface):
    """The machine's `redfish` node, which boots from a volume with iPXE."""
    return cloud.create_node(
        driver="redfish",
        name=machine.name,
        driver_info={
            "redfish_address": BMC_URL,
            "redfish_system_id": machine.system_path,
            "redfish_username": "admin",
            "redfish_password": "bmc-password",
        },
        boot_interface="ipxe",
        deploy_interface="direct",
        storage_interface=storage_interface,
        properties={"capabilities": "iscsi_boot:true", "cpu_arch": "x86_64"},
    )


def enroll(cloud, machine, connector_iqn, target, secret):
    """Creates the node, its port, connector and boot volume target; returns the node."""
    node = create_node(cloud, machine, "external")
    cloud.create_port(node_uuid=node.id, address=machine.mac)
    cloud.create_volume_connector(node_id=node.id, type="iqn", connector_id=connector_iqn)
    cloud.create_volume_target(
        node_id=node.id,
        volume_type="iscsi",
        boot_index=0,
        volume_id=str(uuid.uuid4()),
        properties={
            "target_portal": target.portal,
            "target_iqn": target.iqn,
            "target_lun": target.lun,
            "auth_method": "CHAP",
            "auth_username": CHAP_USER,
            "auth_password": secret,
        },
    )
    return node


def deploy(cloud, node, machine, evidence):
    """manage, provide, validate and deploy; the node ends active and powered on."""
    evidence["served script"] = lambda: script(node).text
    cloud.set_node_provision_state(node, "manage", wait=True, timeout=60)
    cloud.set_node_provision_state(node, "provide", wait=True, timeout=60)
    validation = cloud.validate_node(node, required=None)
    for interface in ("boot", "deploy", "management", "power", "storage"):
        assert validation[interface].result, (interface, validation[interface].reason)
    assert machine.state() == "shut off"
    node = cloud.set_node_provision_state(node, "active", wait=True, timeout=120)
    assert (node.provision_state, node.power_state, node.last_error) == (
        "active", "power on", None)
    assert machine.redfish()["Boot"]["BootSourceOverrideTarget"] == "Pxe"
    assert machine.state() == "running"
    return node


def script(node):
    return requests.get(f"{BOOT_SERVER}/{node.id}/config", timeout=10)


def console_shows(machine, *texts):
    """Waits until the console shows one of ``texts``; returns the one it shows."""
    return wait_until(
        f"one of {texts} on the serial console",
        lambda: next((t for t in texts if t in machine.console()), None),
        BOOT_TIMEOUT,
    )


def tear_down(cloud, node, machine):
    """Undeploys; the machine is off, the targets are gone and nothing is served."""
    node = cloud.set_node_provision_state(node, "deleted", wait=True, timeout=120)
    assert (node.provision_state, node.power_state, node.last_error) == (
        "available", "power off", None)
    assert machine.redfish()["PowerState"] == "Off"
    assert machine.state() == "shut off"
    assert list(cloud.volume_targets(node=node.id)) == []
    assert script(node).status_code == 404
    cloud.delete_node(node)


def test_the_machine_boots_its_volume_over_iscsi_with_chap(cloud, machine, san, evidence):
    node_iqn, secret = initiator(), "chap-secret-e2e"
    target = san(node_iqn, CHAP_USER, secret)
    node = deploy(cloud, enroll(cloud, machine, node_iqn, target, secret), machine, evidence)
    served = script(node)
    assert served.status_code == 200
    assert f"set initiator-iqn {node_iqn}" in served.text.splitlines()

    assert console_shows(machine, target.banner, ATTACH_FAILED) == target.banner
    tear_down(cloud, node, machine)


def test_a_secret_iPXE_would_mangle_still_boots(cloud, machine, san, evidence):
    # Spaces, ${...} and a leading # mean something to iPXE's command line: sanlink
    # writes such a value percent-encoded, and iPXE must still log in with it.
    node_iqn, secret = initiator(), "#s3cret ${net0/mac} &&  x"
    target = san(node_iqn, CHAP_USER, secret)
    node = deploy(cloud, enroll(cloud, machine, node_iqn, target, secret), machine, evidence)
    assert "set password:uristring " in script(node).text

    assert console_shows(machine, target.banner, ATTACH_FAILED) == target.banner
    tear_down(cloud, node, machine)


@pytest.mark.parametrize("wrong", ["chap secret", "initiator"])
def test_the_san_refuses_a_machine_without_the_right_keys(cloud, machine, san, evidence, wrong):
    node_iqn, secret = initiator(), "chap-secret-e2e"
    target = san(node_iqn, CHAP_USER, secret)
    if wrong == "chap secret":
        secret = "not-the-secret"
    else:
        node_iqn = initiator()
    node = deploy(cloud, enroll(cloud, machine, node_iqn, target, secret), machine, evidence)

    assert console_shows(machine, target.banner, ATTACH_FAILED) == ATTACH_FAILED
    assert "Could not open SAN device" in machine.console()
    assert target.banner not in machine.console()
    tear_down(cloud, node, machine)


def test_the_machine_boots_a_volume_cinder_exports(cloud, machine, cinder, evidence):
    # The target names only the Cinder volume: at deploy sanlink reserves it, hands
    # Cinder the node's connector and boots from the connection info Cinder answers
    # (tgtd's portal as the machine sees it, the volume's IQN, LUN 1 and the CHAP
    # credentials Cinder generated for it).
    evidence["cinder-volume log"] = lambda: cinder_log(cinder, "cinder-volume")
    evidence["cinder-api log"] = lambda: cinder_log(cinder, "cinder-api")
    evidence["Cinder's tgtd"] = cinder.tgt_show
    vid = cinder.create_volume(size_gb=1, name=machine.name)
    backing = cinder.backing_file(vid)
    banner = write_boot_sectors(backing)
    assert backing.stat().st_size == 1024 ** 3

    node_iqn = initiator()
    node = create_node(cloud, machine, "cinder")
    cloud.create_port(node_uuid=node.id, address=machine.mac)
    cloud.create_volume_connector(node_id=node.id, type="iqn", connector_id=node_iqn)
    cloud.create_volume_target(node_id=node.id, volume_type="iscsi", boot_index=0,
                               volume_id=vid)
    node = deploy(cloud, node, machine, evidence)

    volume = cinder.volume(vid)
    assert volume["status"] == "in-use", volume
    (attachment,) = volume["attachments"]
    assert attachment["server_id"] == (node.instance_id or node.id), attachment
    (target,) = cloud.volume_targets(node=node.id, details=True)
    props = target.properties
    iqn = f"iqn.2010-10.org.openstack:volume-{vid}"
    portal = f"{GUEST_HOST}:{cinder.iscsi_port}"
    assert (props["target_portal"], props["target_iqn"], props["target_lun"],
            props["auth_method"]) == (portal, iqn, 1, "CHAP"), props
    assert iqn in cinder.tgt_show()
    served = script(node)
    assert served.status_code == 200
    assert f"set initiator-iqn {node_iqn}" in served.text.splitlines()
    assert f"iscsi:{GUEST_HOST}::{cinder.iscsi_port}:1:{iqn}" in served.text, served.text

    assert console_shows(machine, banner, ATTACH_FAILED) == banner
    # Logged in to Cinder's tgtd with the connector's initiator name.
    assert f"Initiator: {node_iqn} " in cinder.tgt_show()
    tear_down(cloud, node, machine)
    volume = cinder.wait_status(vid, "available", timeout=60)
    assert volume["attachments"] == [], volume
    assert iqn not in cinder.tgt_show()
    cinder.delete_volume(vid)


def cinder_log(cinder, name, lines=80):
    text = (cinder.logs / f"{name}.log").read_text(errors="replace").splitlines()
    return "\n".join(text[-lines:])


CINDER_SECTION = "\n## Booting from a Cinder volume\n"


def walkthrough_blocks(cinder=False):
    """The command blocks of docs/boot-from-volume.md, in order: those of the
    walk-through (set-up, enroll, deploy, tear down), or with ``cinder`` the set-up
    block and those of its section "Booting from a Cinder volume" (enroll, deploy,
    tear down)."""
    text = (REPO / "docs" / "boot-from-volume.md").read_text()
    main, _, cinder_part = text.partition(CINDER_SECTION)

    def blocks(part):
        return re.findall(r"^```bash\n(.*?)^```", part, flags=re.M | re.S)

    found = blocks(main)
    assert len(found) == 4, f"the walk-through has {len(found)} command blocks, not 4"
    if not cinder:
        return found
    more = blocks(cinder_part)
    assert len(more) == 3, f"the Cinder section has {len(more)} command blocks, not 3"
    return [found[0], *more]


def run_blocks(blocks, env):
    """Runs shell blocks as a reader would paste them, stopping at the first failure."""
    script = "set -euo pipefail\n" + "\n".join(blocks)
    done = subprocess.run(["bash", "-c", script], env=env, capture_output=True, text=True,
                          timeout=300)
    assert done.returncode == 0, f"exit {done.returncode}\n{done.stdout}\n{done.stderr}"
    return done.stdout


@pytest.mark.needs_no_auth  # the docs' set-up block: OS_AUTH_TYPE=none
def test_the_walkthrough_in_the_docs_boots_the_machine(cloud, machine, san, evidence):
    setup, enroll_block, deploy_block, tear_down_block = walkthrough_blocks()
    node_iqn, secret = initiator(), "chap-secret-docs"
    target = san(node_iqn, CHAP_USER, secret)
    env = {
        **os.environ,
        # The venv's `baremetal` first.
        "PATH": f"{Path(sys.executable).parent}:{os.environ['PATH']}",
        "OS_ENDPOINT": API_URL, "NAME": machine.name, "BMC_URL": BMC_URL,
        "SYSTEM_ID": machine.system_path, "MAC": machine.mac, "INITIATOR_IQN": node_iqn,
        "TARGET_PORTAL": target.portal, "TARGET_IQN": target.iqn,
        "TARGET_LUN": str(target.lun), "CHAP_USER": CHAP_USER, "CHAP_SECRET": secret,
    }
    shown = run_blocks([setup, enroll_block], env)
    # The CLI shows the target it created, with the CHAP secret masked.
    assert target.iqn in shown and secret not in shown, shown
    node = cloud.get_node(machine.name)
    evidence["served script"] = lambda: script(node).text

    shown = run_blocks([setup, deploy_block], env)
    assert "\npower on\nactive\n" in shown, shown  # `node show -f value`
    assert console_shows(machine, target.banner, ATTACH_FAILED) == target.banner

    shown = run_blocks([setup, tear_down_block], env)
    assert "\npower off\navailable\n" in shown, shown
    node = cloud.get_node(node.id)
    assert (node.provision_state, node.power_state) == ("available", "power off")
    assert machine.state() == "shut off"
    assert list(cloud.volume_targets(node=node.id)) == []
    cloud.delete_node(node)


@pytest.mark.needs_no_auth  # the docs' set-up block: OS_AUTH_TYPE=none
def test_the_cinder_walkthrough_in_the_docs_boots_the_machine(cloud, machine, cinder,
                                                                evidence):
    setup, enroll_block, deploy_block, tear_down_block = walkthrough_blocks(cinder=True)
    evidence["cinder-volume log"] = lambda: cinder_log(cinder, "cinder-volume")
    vid = cinder.create_volume(size_gb=1, name=machine.name)
    banner = write_boot_sectors(cinder.backing_file(vid))
    node_iqn = initiator()
    env = {
        **os.environ,
        "PATH": f"{Path(sys.executable).parent}:{os.environ['PATH']}",
        "OS_ENDPOINT": API_URL, "NAME": machine.name, "BMC_URL": BMC_URL,
        "SYSTEM_ID": machine.system_path, "MAC": machine.mac, "INITIATOR_IQN": node_iqn,
        "VOLUME_ID": vid,
    }
    run_blocks([setup, enroll_block], env)
    node = cloud.get_node(machine.name)
    assert node.storage_interface == "cinder"
    evidence["served script"] = lambda: script(node).text

    shown = run_blocks([setup, deploy_block], env)
    # The target list (JSON): what Cinder returned, the CHAP secret masked.
    (target,) = json.loads(shown[shown.index("["):])
    # Keyed by field name or by column title ("Volume ID"), depending on the client.
    target = {k.lower().replace(" ", "_"): v for k, v in target.items()}
    iqn = f"iqn.2010-10.org.openstack:volume-{vid}"
    assert target["volume_id"] == vid, target
    props = target["properties"]
    assert (props["target_portal"], props["target_iqn"], props["auth_password"]) == (
        f"{GUEST_HOST}:{cinder.iscsi_port}", iqn, "******"), props
    assert cinder.volume(vid)["status"] == "in-use"
    assert console_shows(machine, banner, ATTACH_FAILED) == banner

    shown = run_blocks([setup, tear_down_block], env)
    assert "power off\navailable\n" in shown, shown
    node = cloud.get_node(node.id)
    assert (node.provision_state, node.power_state) == ("available", "power off")
    assert machine.state() == "shut off"
    assert list(cloud.volume_targets(node=node.id)) == []
    assert cinder.wait_status(vid, "available", timeout=60)["attachments"] == []
    cloud.delete_node(node)
    cinder.delete_volume(vid)
