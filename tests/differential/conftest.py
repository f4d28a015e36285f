"""Fixtures of the differential test: the real Ironic and sanlink, side by side.

* ``ironic``: OpenStack Ironic 39 from ``.venv-ironic`` (``run.sh`` installs it),
  all-in-one (API and conductor in one process, ``rpc_transport = none``), SQLite,
  ``noauth``, the ``fake-hardware`` type with the interfaces sanlink offers for it
  enabled, on a free loopback port.
* ``sanlink``: started exactly as the client tests start it (``tests/clients/conftest.py``):
  the embedded ``sanlink`` on SQLite by default, or with ``TEST_TOPOLOGY=production``
  two ``conductor``s and an ``api-gateway`` over RabbitMQ on ``TEST_DATABASE_URL``.

Both logs are printed at the end of a run in which a test failed.
"""

import importlib.util
import os
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest
import requests

HERE = Path(__file__).resolve().parent
REPO = HERE.parents[1]
IRONIC_VENV = Path(os.environ.get("IRONIC_VENV", REPO / ".venv-ironic"))
STARTUP_TIMEOUT = 120.0

# The client tests' start-up code, loaded under a name of its own.
_spec = importlib.util.spec_from_file_location("sanlink_clients_support", REPO / "tests/clients/conftest.py")
clients = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(clients)

_LOGS = []


def _free_port():
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


# Interfaces as sanlink offers them for fake-hardware (conductor/src/drivers/hardware.rs),
# where Ironic has them; the defaults follow sanlink's (storage `noop`, network `flat`).
IRONIC_CONF = """[DEFAULT]
auth_strategy = noauth
rpc_transport = none
host = differential-ironic
enabled_hardware_types = fake-hardware
enabled_bios_interfaces = fake,no-bios
enabled_boot_interfaces = fake,ipxe,pxe,http-ipxe,http
enabled_console_interfaces = fake,no-console
enabled_deploy_interfaces = fake,autodetect,direct,ramdisk,bootc,anaconda
enabled_firmware_interfaces = fake,no-firmware
enabled_inspect_interfaces = fake,no-inspect
enabled_management_interfaces = fake
enabled_network_interfaces = flat,neutron,noop
default_network_interface = flat
enabled_power_interfaces = fake
enabled_raid_interfaces = fake,no-raid
enabled_rescue_interfaces = fake,no-rescue
enabled_storage_interfaces = fake,noop,cinder,external
default_storage_interface = noop
enabled_vendor_interfaces = fake,no-vendor
use_stderr = true
debug = false

[api]
host_ip = 127.0.0.1
port = {port}
api_workers = 1

[database]
connection = sqlite:///{db}

[dhcp]
dhcp_provider = none

[conductor]
automated_clean = false
heartbeat_interval = 2
sync_power_state_interval = -1
"""


def _ready(base, path, version="1.46"):
    try:
        r = requests.get(base + path, headers={"X-OpenStack-Ironic-API-Version": version}, timeout=2)
        return r
    except requests.RequestException:
        return None


@pytest.fixture(scope="session")
def ironic(tmp_path_factory):
    """Base URL of a running Ironic."""
    exe = IRONIC_VENV / "bin" / "ironic"
    if not exe.exists():
        pytest.exit(f"{exe} not found: run tests/differential/run.sh, which installs Ironic", returncode=3)
    work = tmp_path_factory.mktemp("ironic")
    port = _free_port()
    conf = work / "ironic.conf"
    conf.write_text(IRONIC_CONF.format(port=port, db=work / "ironic.sqlite"))
    log = work / "ironic.log"
    _LOGS.append(log)
    env = {k: v for k, v in os.environ.items() if not k.startswith("OS_")}
    with open(log, "ab") as out:
        subprocess.run(
            [str(IRONIC_VENV / "bin" / "ironic-dbsync"), f"--config-file={conf}", "create_schema"],
            stdout=out, stderr=subprocess.STDOUT, check=True, env=env, cwd=work,
        )
        proc = subprocess.Popen(
            [str(exe), f"--config-file={conf}"], stdout=out, stderr=subprocess.STDOUT, env=env, cwd=work,
        )
    base = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + STARTUP_TIMEOUT
    # Up once its conductor has registered the hardware type: node writes need it.
    while True:
        r = _ready(base, "/v1/drivers")
        if r is not None and r.status_code == 200 and any(
            d.get("name") == "fake-hardware" for d in r.json().get("drivers", [])
        ):
            break
        if proc.poll() is not None or time.monotonic() > deadline:
            proc.kill()
            sys.stderr.write(log.read_text(errors="replace")[-20000:])
            pytest.exit("Ironic did not start; its log is above", returncode=3)
        time.sleep(0.5)
    yield base
    proc.terminate()
    try:
        proc.wait(timeout=20)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()


# sanlink is started as the client tests start it (embedded, or the production topology
# that TEST_TOPOLOGY names), with their fixture itself.
sanlink = clients.sanlink


def pytest_terminal_summary(terminalreporter, exitstatus, config):
    failed = terminalreporter.stats.get("failed") or terminalreporter.stats.get("error")
    if not failed:
        return
    terminalreporter.section("Ironic log (last 200 lines)")
    for path in _LOGS:
        if path.exists():
            for line in path.read_text(errors="replace").splitlines()[-200:]:
                terminalreporter.write_line(line)
    clients.pytest_terminal_summary(terminalreporter, exitstatus, config)
