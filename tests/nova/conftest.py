"""Fixtures of the Nova test: the service under test, and Nova's ironic driver
configured against it.

The service is chosen by ``NOVA_TEST_AGAINST``:

* ``sanlink`` (default): started exactly as the client tests start it
  (``tests/clients/conftest.py``, its fixture itself): the embedded ``sanlink`` on
  SQLite, or with ``TEST_TOPOLOGY=production`` two ``conductor``s and an
  ``api-gateway`` over RabbitMQ on ``TEST_DATABASE_URL``;
* ``ironic``: OpenStack Ironic 39 from ``.venv-ironic``, all-in-one, started as the
  differential test starts it (``tests/differential/conftest.py``, its fixture
  itself).

Nova itself is not a service here: its ironic driver runs in this process, configured
through oslo.config from a ``nova.conf`` written the way a nova-compute of an
Ironic deployment without Keystone has it (``[ironic] auth_type = none``,
``endpoint_override``).
"""

# nova-compute runs on native threads (nova/cmd/compute.py): so does its driver here.
from nova import monkey_patch

monkey_patch.patch(backend="threading")

import importlib.util  # noqa: E402
import os  # noqa: E402
import sys  # noqa: E402
from pathlib import Path  # noqa: E402

import pytest  # noqa: E402

HERE = Path(__file__).resolve().parent
REPO = HERE.parents[1]
AGAINST = os.environ.get("NOVA_TEST_AGAINST", "sanlink")


def _load(name, path):
    spec = importlib.util.spec_from_file_location(name, path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


# The start-up code of the client tests and of the differential test, under names of
# their own (both are conftest modules of other directories).
clients = _load("sanlink_clients_support", REPO / "tests/clients/conftest.py")
differential = _load("sanlink_differential_support", REPO / "tests/differential/conftest.py")

sanlink = clients.sanlink
ironic = differential.ironic


@pytest.fixture(scope="session")
def service_url(request):
    """Base URL (no trailing slash) of the service under test."""
    if AGAINST == "sanlink":
        return request.getfixturevalue("sanlink")
    if AGAINST == "ironic":
        return request.getfixturevalue("ironic")
    pytest.exit(f"NOVA_TEST_AGAINST={AGAINST!r}: expected sanlink or ironic", returncode=3)


@pytest.fixture(scope="session")
def bm(service_url):
    """openstacksdk's baremetal proxy on the service: the checks after each step."""
    import openstack

    conn = openstack.connect(
        load_yaml_config=False,
        load_envvars=False,
        auth_type="none",
        baremetal_endpoint_override=service_url + "/",
        baremetal_status_code_retries=0,
    )
    return conn.baremetal


NOVA_CONF = """[DEFAULT]
host = nova-compute-ironic
compute_driver = ironic.IronicDriver
# No genisoimage on the test machines: pycdlib's command-line twin (from the venv)
# takes the same arguments Nova passes (nova/virt/configdrive.py).
mkisofs_cmd = {mkisofs}
config_drive_format = iso9660
state_path = {state}
use_stderr = false
debug = true
log_file = {state}/nova-compute.log

[ironic]
# As a nova-compute of a deployment without Keystone configures it.
auth_type = none
endpoint_override = {endpoint}/
# Nova polls every api_retry_interval seconds (default 2) while it waits for a state.
api_retry_interval = 1
api_max_retries = 60
serial_console_state_timeout = 10
"""


@pytest.fixture(scope="session")
def nova_conf(service_url, tmp_path_factory):
    """nova.conf parsed into Nova's global oslo.config object."""
    import nova.conf
    from nova import config, objects

    state = tmp_path_factory.mktemp("nova-state")
    path = state / "nova.conf"
    path.write_text(NOVA_CONF.format(
        mkisofs=Path(sys.executable).parent / "pycdlib-genisoimage",
        state=state,
        endpoint=service_url,
    ))
    conf = nova.conf.CONF
    # What nova-compute's main() does: parse the arguments and config files, set up
    # logging, register the versioned objects.
    config.parse_args(
        ["nova-compute", "--config-file", str(path)], configure_db=False, init_rpc=False
    )
    from oslo_log import log as logging
    logging.setup(conf, "nova")
    objects.register_all()
    yield conf
    conf.reset()


def pytest_terminal_summary(terminalreporter, exitstatus, config):
    if AGAINST == "ironic":
        differential.pytest_terminal_summary(terminalreporter, exitstatus, config)
    else:
        clients.pytest_terminal_summary(terminalreporter, exitstatus, config)
