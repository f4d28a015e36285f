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

``NOVA_TEST_AUTH=keystone`` (``run.sh --auth keystone``) runs it the way a cloud does,
behind a real Keystone (``tests/keystone/keystone_service.py``, started once per
session by the Keystone tests' own ``keystone`` fixture):

* sanlink is started by the Keystone tests' ``_start_sanlink`` (the settings of
  ``sanlink_keystone_env``, with ``SANLINK_RBAC_SERVICE_ROLE_ELEVATED_ACCESS=true``,
  which Nova's service user needs), Ironic by their ``_start_ironic`` (likewise), and
  the catalog's baremetal endpoints point at it;
* Nova's ``[ironic]`` section is the one docs/operations.md gives operators (the
  ```ini block after ``<!-- ops:nova-ironic -->``), read from there with only the
  Keystone URL and the password of the ``nova`` user put in: password authentication
  as ``nova`` (role ``service`` in project ``service``), the endpoint from the catalog;
* the checks (``bm``) authenticate as ``s-admin`` (system scope, password), the
  endpoint from the catalog too.
"""

# nova-compute runs on native threads (nova/cmd/compute.py): so does its driver here.
from nova import monkey_patch

monkey_patch.patch(backend="threading")

import importlib.util  # noqa: E402
import os  # noqa: E402
import re  # noqa: E402
import sys  # noqa: E402
from pathlib import Path  # noqa: E402

import pytest  # noqa: E402

HERE = Path(__file__).resolve().parent
REPO = HERE.parents[1]
AGAINST = os.environ.get("NOVA_TEST_AGAINST", "sanlink")
AUTH = os.environ.get("NOVA_TEST_AUTH", "none")


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

if AUTH == "keystone":
    # The Keystone tests' conftest, under a name of its own: its ``keystone`` fixture
    # and its start-up code for a service behind Keystone.
    keystone_tests = _load("sanlink_keystone_support_nova", REPO / "tests/keystone/conftest.py")
    keystone_service = keystone_tests.keystone_service
    keystone = keystone_tests.keystone
elif AUTH != "none":
    pytest.exit(f"NOVA_TEST_AUTH={AUTH!r}: expected none or keystone", returncode=3)


@pytest.fixture(scope="session")
def keystone_service_url(keystone, tmp_path_factory):
    """The service under test behind Keystone, with the service role's elevated
    access on (Nova's service user needs it); the catalog points at it."""
    work = tmp_path_factory.mktemp(f"{AGAINST}-keystone")
    if AGAINST == "sanlink":
        procs, base = keystone_tests._start_sanlink(work, keystone, elevated=True)
    elif AGAINST == "ironic":
        procs, base = keystone_tests._start_ironic(work, keystone, True,
                                                   keystone.token("s-reader")[0])
    else:
        pytest.exit(f"NOVA_TEST_AGAINST={AGAINST!r}: expected sanlink or ironic", returncode=3)
    keystone.set_baremetal_url(base)
    yield base
    keystone_tests.clients._stop(procs)


@pytest.fixture(scope="session")
def service_url(request):
    """Base URL (no trailing slash) of the service under test."""
    if AUTH == "keystone":
        return request.getfixturevalue("keystone_service_url")
    if AGAINST == "sanlink":
        return request.getfixturevalue("sanlink")
    if AGAINST == "ironic":
        return request.getfixturevalue("ironic")
    pytest.exit(f"NOVA_TEST_AGAINST={AGAINST!r}: expected sanlink or ironic", returncode=3)


@pytest.fixture(scope="session")
def bm(service_url, request):
    """openstacksdk's baremetal proxy on the service: the checks after each step."""
    import openstack

    if AUTH == "keystone":
        ks = request.getfixturevalue("keystone")
        conn = openstack.connect(
            load_yaml_config=False,
            load_envvars=False,
            auth_type="password",
            auth={"auth_url": ks.auth_url, "username": "s-admin",
                  "password": keystone_service.password("s-admin"),
                  "user_domain_name": keystone_service.DOMAIN, "system_scope": "all"},
            region_name=keystone_service.REGION,
            interface="public",
            identity_api_version="3",
            baremetal_status_code_retries=0,
        )
        endpoint = conn.baremetal.get_endpoint()
        assert endpoint.startswith(service_url), (endpoint, service_url)
        return conn.baremetal
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

{ironic}"""
NOVA_IRONIC_NOAUTH = """[ironic]
# As a nova-compute of a deployment without Keystone configures it.
auth_type = none
endpoint_override = {endpoint}/
# Nova polls every api_retry_interval seconds (default 2) while it waits for a state.
api_retry_interval = 1
api_max_retries = 60
serial_console_state_timeout = 10
"""
OPS_DOC = REPO / "docs" / "operations.md"
DOC_AUTH_URL = "http://127.0.0.1:5000/v3"
DOC_PASSWORD = "NOVA_PASSWORD"


def nova_ironic_keystone(ks):
    """The [ironic] section of docs/operations.md (<!-- ops:nova-ironic -->), as written
    there but for the Keystone URL and the nova user's password."""
    text = OPS_DOC.read_text()
    m = re.search(r"<!-- ops:nova-ironic -->\n```ini\n(.*?)^```", text, re.S | re.M)
    assert m, f"{OPS_DOC}: no ```ini block after <!-- ops:nova-ironic -->"
    section = m.group(1)
    for placeholder in (DOC_AUTH_URL, DOC_PASSWORD):
        assert section.count(placeholder) == 1, f"{OPS_DOC}: {placeholder!r} in {section!r}"
    # What the doc promises: password authentication, the endpoint from the catalog.
    assert re.search(r"^auth_type = password$", section, re.M), section
    assert "endpoint_override" not in section, section
    return (section.replace(DOC_AUTH_URL, ks.auth_url)
            .replace(DOC_PASSWORD, keystone_service.password("nova")))


@pytest.fixture(scope="session")
def nova_conf(service_url, tmp_path_factory, request):
    """nova.conf parsed into Nova's global oslo.config object."""
    import nova.conf
    from nova import config, objects

    state = tmp_path_factory.mktemp("nova-state")
    path = state / "nova.conf"
    if AUTH == "keystone":
        ironic_section = nova_ironic_keystone(request.getfixturevalue("keystone"))
    else:
        ironic_section = NOVA_IRONIC_NOAUTH.format(endpoint=service_url)
    path.write_text(NOVA_CONF.format(
        mkisofs=Path(sys.executable).parent / "pycdlib-genisoimage",
        state=state,
        ironic=ironic_section,
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
    if AUTH == "keystone":
        # Keystone's timings; on a failure, its logs and the service's.
        keystone_tests.pytest_terminal_summary(terminalreporter, exitstatus, config)
    elif AGAINST == "ironic":
        differential.pytest_terminal_summary(terminalreporter, exitstatus, config)
    else:
        clients.pytest_terminal_summary(terminalreporter, exitstatus, config)
