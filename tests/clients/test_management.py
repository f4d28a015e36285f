"""Node management with the real clients: the boot device, NMI injection and the serial
console, through the `baremetal` CLI (python-ironicclient) and openstacksdk, on a
fake-hardware node and on a redfish node whose BMC is sushy-emulator (fake driver).
"""

import pytest
from openstack import exceptions

from conftest import unique
from test_nova_bfv_redfish import SYSTEM_ID, bmc  # noqa: F401  (the emulator fixture)

NO_NMI = "Driver fake-hardware does not support inject_nmi (disabled or not implemented)."
NO_CONSOLE = "Driver fake-hardware does not support console (disabled or not implemented)."


# --- fake-hardware: the CLI --------------------------------------------------------


def test_cli_boot_device_on_fake_hardware(cli, node):
    name = node["name"]
    shown = cli.json("node", "boot", "device", "show", name)
    assert shown == {"boot_device": "pxe", "persistent": False}
    supported = cli.json("node", "boot", "device", "show", "--supported", name)
    # The CLI shows the list as text.
    assert supported == {"supported_boot_devices": "pxe"}
    cli.run("node", "boot", "device", "set", name, "pxe", "--persistent")
    failed = cli.run("node", "boot", "device", "set", name, "disk", check=False)
    assert failed.returncode != 0
    assert "Invalid boot device disk specified." in failed.stderr


def test_cli_inject_nmi_is_refused_by_fake_management(cli, node):
    failed = cli.run("node", "inject", "nmi", node["uuid"], check=False)
    assert failed.returncode != 0
    assert NO_NMI in failed.stderr
    missing = cli.run("node", "inject", "nmi", unique("nope"), check=False)
    assert missing.returncode != 0 and "could not be found" in missing.stderr


def test_cli_console_enable_show_disable(cli, node):
    name = node["name"]
    assert cli.json("node", "console", "show", name) == {
        "console_enabled": False, "console_info": None,
    }
    cli.run("node", "console", "enable", name)
    assert cli.json("node", "console", "show", name) == {
        "console_enabled": True, "console_info": {},
    }
    assert cli.json("node", "show", name, "--fields", "console_enabled") == {"console_enabled": True}
    listed = cli.json("node", "list", "--fields", "name", "console_enabled")
    assert {"name": name, "console_enabled": True} in listed
    cli.run("node", "console", "disable", name)
    assert cli.json("node", "console", "show", name)["console_enabled"] is False
    assert cli.json("node", "show", name, "--fields", "console_enabled") == {"console_enabled": False}


def test_cli_no_console_is_refused_naming_the_interface(cli, make_node):
    node = make_node(console_interface="no-console")
    failed = cli.run("node", "console", "enable", node["uuid"], check=False)
    assert failed.returncode != 0
    assert NO_CONSOLE in failed.stderr
    assert cli.json("node", "console", "show", node["uuid"])["console_enabled"] is False


# --- fake-hardware: openstacksdk ---------------------------------------------------


def test_sdk_boot_device_nmi_and_console_on_fake_hardware(bm, node):
    ident = node["uuid"]
    assert bm.get_node_boot_device(ident) == {"boot_device": "pxe", "persistent": False}
    assert bm.get_node_supported_boot_devices(ident) == {"supported_boot_devices": ["pxe"]}
    bm.set_node_boot_device(ident, "pxe", persistent=True)
    with pytest.raises(exceptions.BadRequestException, match="Invalid boot device cdrom"):
        bm.set_node_boot_device(ident, "cdrom")
    with pytest.raises(exceptions.BadRequestException, match="does not support inject_nmi"):
        bm.inject_nmi_to_node(ident)

    assert bm.get_node_console(ident) == {"console_enabled": False, "console_info": None}
    bm.enable_node_console(ident)
    assert bm.get_node_console(ident) == {"console_enabled": True, "console_info": {}}
    assert bm.get_node(ident).is_console_enabled is True
    bm.disable_node_console(ident)
    assert bm.get_node_console(ident)["console_enabled"] is False
    assert bm.get_node(ident).is_console_enabled is False


# --- redfish (sushy-emulator) --------------------------------------------------------


@pytest.fixture
def rf_node(api, bmc):  # noqa: F811
    body = {
        "driver": "redfish",
        "name": unique("mgmt-rf"),
        "driver_info": {
            "redfish_address": bmc.url,
            "redfish_system_id": SYSTEM_ID,
            "redfish_username": "admin",
            "redfish_password": "password",
        },
    }
    return api.post("/v1/nodes", body, expect=201).json()


def test_cli_boot_device_on_redfish_reaches_the_bmc(cli, bmc, rf_node):  # noqa: F811
    name = rf_node["name"]
    # The emulator's system boots from its disk on every boot until told otherwise.
    assert cli.json("node", "boot", "device", "show", name) == {
        "boot_device": "disk", "persistent": True,
    }
    supported = cli.json("node", "boot", "device", "show", "--supported", name)
    assert supported == {"supported_boot_devices": "pxe, disk, cdrom, uefihttp"}
    cli.run("node", "boot", "device", "set", name, "pxe")
    assert bmc.system()["Boot"]["BootSourceOverrideTarget"] == "Pxe"
    assert cli.json("node", "boot", "device", "show", name)["boot_device"] == "pxe"
    cli.run("node", "boot", "device", "set", name, "cdrom", "--persistent")
    assert bmc.system()["Boot"]["BootSourceOverrideTarget"] == "Cd"
    assert bmc.system()["Boot"]["BootSourceOverrideEnabled"] == "Continuous"
    failed = cli.run("node", "boot", "device", "set", name, "bios", check=False)
    assert failed.returncode != 0 and "Invalid boot device bios specified." in failed.stderr


def test_sdk_nmi_and_boot_device_on_redfish(bm, bmc, rf_node):  # noqa: F811
    ident = rf_node["uuid"]
    bm.set_node_boot_device(ident, "cdrom", persistent=True)
    assert bm.get_node_boot_device(ident) == {"boot_device": "cdrom", "persistent": True}
    assert bmc.system()["Boot"]["BootSourceOverrideTarget"] == "Cd"
    assert "cdrom" in bm.get_node_supported_boot_devices(ident)["supported_boot_devices"]
    # The reset reaches the BMC; the emulator's fake driver does not emulate NMIs and
    # answers 501, which the client sees as the server's failure naming the BMC.
    with pytest.raises(exceptions.HttpException, match="HTTP 501") as raised:
        bm.inject_nmi_to_node(ident)
    assert raised.value.status_code == 500
    assert "Actions/ComputerSystem.Reset" in bmc.log.read_text()
    # No console interface for redfish.
    with pytest.raises(exceptions.BadRequestException, match="Driver redfish does not support console"):
        bm.enable_node_console(ident)
