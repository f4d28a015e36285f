"""Fixtures of the Keystone tests: a real Keystone, and the service under test
authenticating against it with Ironic's default (secure RBAC) policy.

* ``keystone``: Keystone 30 from ``.venv-keystone`` (keystone_service.py), with the
  personas of ``keystone_service.PERSONAS``; the test is skipped when Keystone is not
  installed and cannot be (no PyPI).
* ``service``: the service under test, chosen by ``KEYSTONE_TEST_AGAINST``, once with
  ``rbac_service_role_elevated_access`` off (Ironic's default) and once on (the
  fixture's two parameters, ``elevated-off`` and ``elevated-on``); only one runs at a
  time, and the catalog's baremetal endpoints point at it.

  * ``ironic``: Ironic 39 from ``.venv-ironic``, all-in-one as the differential test
    runs it (its ``IRONIC_CONF``), with ``auth_strategy = keystone`` and a
    ``[keystone_authtoken]`` section for the ``ironic`` service user (no memcached:
    keystonemiddleware's in-process token cache);
  * ``sanlink`` (default): started by the client tests' code
    (``tests/clients/conftest.py``: embedded, or ``TEST_TOPOLOGY=production``) with
    the ``SANLINK_KEYSTONE_*`` settings below added to each process's environment.
"""

import importlib.util
import itertools
import os
import re
import subprocess
import sys
import time
import uuid
from pathlib import Path

import pytest
import requests

HERE = Path(__file__).resolve().parent
REPO = HERE.parents[1]
sys.path.insert(0, str(HERE))
import keystone_service  # noqa: E402

AGAINST = os.environ.get("KEYSTONE_TEST_AGAINST", "sanlink")
API_VERSION = "1.46"
GARBAGE_TOKEN = "gAAAAABgarbage-not-a-token"


def _load(name, path):
    spec = importlib.util.spec_from_file_location(name, path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


# The start-up code of the client tests and of the differential test, under names of
# their own (this copy of the clients' module is ours: see _SubprocessWithEnv).
clients = _load("sanlink_clients_support_keystone", REPO / "tests/clients/conftest.py")
differential = _load("sanlink_differential_support_keystone",
                     REPO / "tests/differential/conftest.py")
_LOGS = []


@pytest.fixture(scope="session")
def keystone(tmp_path_factory):
    try:
        keystone_service.ensure_venv()
    except keystone_service.KeystoneUnavailable as exc:
        pytest.skip(f"SKIPPED Keystone tests: {exc}")
    state = tmp_path_factory.mktemp("keystone")
    ks = keystone_service.Keystone(state)
    _LOGS.extend([ks.log, state / "keystone-gunicorn.log"])
    t0 = time.monotonic()
    ks.start()
    _TIMINGS["start-up"] = time.monotonic() - t0
    _TIMINGS.update(ks.timings)
    yield ks
    ks.stop()


# -- Ironic ---------------------------------------------------------------------------

# keystonemiddleware as an Ironic deployment configures it, the ironic service user
# authenticating by password; no memcached_servers: its in-process token cache.
IRONIC_KEYSTONE = """
[DEFAULT]
rbac_service_role_elevated_access = {elevated}

[keystone_authtoken]
auth_type = password
auth_url = {auth_url}
www_authenticate_uri = {auth_url}
username = ironic
password = {password}
project_name = service
user_domain_name = Default
project_domain_name = Default
region_name = RegionOne
"""


def _start_ironic(work, ks, elevated, probe_token):
    venv = differential.IRONIC_VENV
    exe = venv / "bin" / "ironic"
    if not exe.exists():
        pytest.exit(f"{exe} not found: run tests/differential/run.sh, which installs Ironic",
                    returncode=3)
    port = keystone_service.free_port()
    conf = work / "ironic.conf"
    text = differential.IRONIC_CONF.format(port=port, db=work / "ironic.sqlite")
    assert "auth_strategy = noauth" in text
    text = text.replace("auth_strategy = noauth", "auth_strategy = keystone")
    # oslo.config merges a section given twice, so [DEFAULT] may be continued below.
    text += IRONIC_KEYSTONE.format(elevated=elevated, auth_url=ks.auth_url,
                                   password=keystone_service.password("ironic"))
    conf.write_text(text)
    log = work / "ironic.log"
    _LOGS.append(log)
    env = {k: v for k, v in os.environ.items() if not k.startswith("OS_")}
    with open(log, "ab") as out:
        subprocess.run([str(venv / "bin" / "ironic-dbsync"), f"--config-file={conf}",
                        "create_schema"], stdout=out, stderr=subprocess.STDOUT, check=True,
                       env=env, cwd=work)
        proc = subprocess.Popen([str(exe), f"--config-file={conf}"], stdout=out,
                                stderr=subprocess.STDOUT, env=env, cwd=work)
    base = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + differential.STARTUP_TIMEOUT
    headers = {"X-OpenStack-Ironic-API-Version": API_VERSION, "X-Auth-Token": probe_token}
    while True:  # up once its conductor has registered the hardware type
        try:
            r = requests.get(base + "/v1/drivers", headers=headers, timeout=5)
            if r.status_code == 200 and any(d.get("name") == "fake-hardware"
                                            for d in r.json().get("drivers", [])):
                return [proc], base
        except requests.RequestException:
            pass
        if proc.poll() is not None or time.monotonic() > deadline:
            proc.kill()
            proc.wait()
            sys.stderr.write(log.read_text(errors="replace")[-20000:])
            pytest.exit("Ironic did not start; its log is above", returncode=3)
        time.sleep(0.5)


# -- sanlink --------------------------------------------------------------------------


class _SubprocessWithEnv:
    """Stands in for the ``subprocess`` module of our copy of tests/clients/conftest.py.

    That module builds the service's environment itself and drops every ``SANLINK_*``
    variable it inherits, so the Keystone settings are added where it spawns."""

    def __init__(self, extra):
        self.extra = extra

    def __getattr__(self, name):
        return getattr(subprocess, name)

    def Popen(self, args, env=None, **kw):  # noqa: N802 - subprocess's name
        return subprocess.Popen(args, env={**(env or os.environ), **self.extra}, **kw)


def sanlink_keystone_env(ks, elevated):
    return {
        "SANLINK_AUTH_STRATEGY": "keystone",
        "SANLINK_KEYSTONE_AUTH_URL": ks.auth_url,
        "SANLINK_KEYSTONE_USERNAME": "ironic",
        "SANLINK_KEYSTONE_PASSWORD": keystone_service.password("ironic"),
        "SANLINK_KEYSTONE_PROJECT_NAME": "service",
        "SANLINK_KEYSTONE_USER_DOMAIN_NAME": "Default",
        "SANLINK_KEYSTONE_PROJECT_DOMAIN_NAME": "Default",
        "SANLINK_KEYSTONE_REGION_NAME": "RegionOne",
        "SANLINK_RBAC_SERVICE_ROLE_ELEVATED_ACCESS": "true" if elevated else "false",
    }


def _start_sanlink(work, ks, elevated):
    topology = clients.TOPOLOGY
    if topology not in ("embedded", "production"):
        pytest.exit(f"TEST_TOPOLOGY={topology!r}: expected embedded or production", returncode=3)
    if topology == "production" and not os.environ.get("TEST_DATABASE_URL", "").startswith(
            ("postgres", "mysql", "mariadb")):
        pytest.exit("TEST_TOPOLOGY=production needs a PostgreSQL or MySQL TEST_DATABASE_URL",
                    returncode=3)
    clients.subprocess = _SubprocessWithEnv(sanlink_keystone_env(ks, elevated))
    for _ in range(3):  # a port picked as free may be taken before the server binds it
        procs, base = clients._start(work)
        if base:
            clients._SERVER["procs"] = procs
            return procs, base
    for line in clients._log_lines():
        sys.stderr.write(line + "\n")
    pytest.exit("sanlink did not start; its log is above", returncode=3)


class Service:
    def __init__(self, kind, base, elevated, procs):
        self.kind, self.base, self.elevated, self.procs = kind, base, elevated, procs

    def __repr__(self):
        return f"<{self.kind} {self.base} elevated={self.elevated}>"


@pytest.fixture(scope="session", params=[False, True], ids=["elevated-off", "elevated-on"])
def service(request, keystone, tmp_path_factory):
    elevated = request.param
    work = tmp_path_factory.mktemp(f"{AGAINST}-elevated-{'on' if elevated else 'off'}")
    if AGAINST == "ironic":
        procs, base = _start_ironic(work, keystone, elevated, keystone.token("s-reader")[0])
    elif AGAINST == "sanlink":
        procs, base = _start_sanlink(work, keystone, elevated)
    else:
        pytest.exit(f"KEYSTONE_TEST_AGAINST={AGAINST!r}: expected sanlink or ironic", returncode=3)
    keystone.set_baremetal_url(base)
    yield Service(AGAINST, base, elevated, procs)
    clients._stop(procs)

# -----------------------------------------------------------------------------------
# Calling the service as a persona, and the world the tests call it on

# The callers: Keystone's personas, "nova" again as "nova+" (the column of the run with
# rbac_service_role_elevated_access on), no token, and a token Keystone never issued.
COLUMNS = ("s-admin", "s-member", "s-reader", "p-admin", "p-member", "p-reader", "p-none",
           "nova", "nova+", "anon", "garbage")


class Caller:
    """``call(persona, method, path, body)``: one request at microversion 1.46."""

    def __init__(self, base, tokens):
        self.base = base
        self.tokens = tokens
        self.session = requests.Session()

    def __call__(self, persona, method, path, body=None, headers=None):
        h = {"X-OpenStack-Ironic-API-Version": API_VERSION, "Accept": "application/json"}
        token = self.tokens.get(persona.rstrip("+"))
        if token:
            h["X-Auth-Token"] = token
        h.update(headers or {})
        kw = {"json": body} if body is not None else {}
        return self.session.request(method, self.base + path, headers=h, timeout=60, **kw)

    def admin(self, method, path, body=None, expect=None):
        r = self("s-admin", method, path, body)
        if expect is not None and r.status_code != expect:
            raise AssertionError(f"{method} {path} {body}: {r.status_code} {r.text}")
        return r


@pytest.fixture(scope="session")
def tokens(keystone):
    """persona -> token (None for anon); one token each for the whole session."""
    toks = {p: keystone.token(p)[0] for p in keystone_service.PERSONAS}
    toks.update(garbage=GARBAGE_TOKEN, anon=None)
    return toks


@pytest.fixture(scope="session")
def call(service, tokens):
    return Caller(service.base, dict(tokens))


_index = itertools.count(10)


def next_index():
    """A volume target boot index no other target of the node has."""
    return next(_index)


def new_mac():
    return "52:54:00:%02x:%02x:%02x" % tuple(uuid.uuid4().bytes[:3])


def new_name(prefix="policy"):
    return f"{prefix}-{uuid.uuid4().hex[:10]}"


def new_iqn():
    return f"iqn.2024-01.org.example:{uuid.uuid4().hex[:12]}"


TARGET_PROPERTIES = {"target_iqn": "iqn.2024-01.org.example:boot", "target_lun": 0,
                     "target_portal": "192.0.2.10:3260", "auth_method": "CHAP",
                     "auth_username": "policy", "auth_password": "s3cr3t"}
# fake-hardware with the fake interfaces (inspection, console, BIOS, RAID and vendor
# passthru work), and network "noop": VIF calls succeed without Neutron.
NODE_FIELDS = {"driver": "fake-hardware", "network_interface": "noop",
               "inspect_interface": "fake", "console_interface": "fake",
               "bios_interface": "fake", "raid_interface": "fake", "vendor_interface": "fake",
               "management_interface": "fake", "power_interface": "fake",
               "deploy_interface": "fake", "boot_interface": "fake"}


def wait_idle(call, node, timeout=60):
    """Waits until the node is neither locked nor on its way to another state."""
    deadline = time.monotonic() + timeout
    while True:
        r = call.admin("GET", f"/v1/nodes/{node}")
        if r.status_code == 404:
            return None
        n = r.json()
        if (not n.get("reservation") and not n.get("target_power_state")
                and not n.get("target_provision_state")
                and n.get("provision_state") not in ("inspecting", "verifying")):
            return n
        if time.monotonic() > deadline:
            raise AssertionError(f"node {node} stays busy: {n}")
        time.sleep(0.1)


# Who makes the ``own`` node. In Ironic a project admin's node belongs to its project
# (``baremetal:node:create:self_owned_node``), even below 1.50 where ``owner`` is not
# shown. sanlink's nodes have no owner until it serves 1.50 (docs/differences-from-
# ironic.md, "Keystone and policy"): it refuses a project admin's node, so there the
# ``own`` node is made by s-admin and is owned by nobody, like ``sys``.
OWNED_NODES = AGAINST == "ironic"
OWN_NODE_CREATOR = "p-admin" if OWNED_NODES else "s-admin"


def make_node(call, persona="s-admin", chassis=None):
    """A node created by ``persona`` (p-admin's belongs to project tenant)."""
    body = {**NODE_FIELDS, "name": new_name("node")}
    if chassis:
        body["chassis_uuid"] = chassis
    r = call(persona, "POST", "/v1/nodes", body)
    assert r.status_code == 201, f"node creation as {persona}: {r.status_code} {r.text}"
    return r.json()["uuid"]


def make_children(call, node):
    group = call.admin("POST", "/v1/portgroups", {"node_uuid": node, "address": new_mac(),
                                                  "name": new_name("pg")}, 201).json()["uuid"]
    port = call.admin("POST", "/v1/ports", {"node_uuid": node, "address": new_mac(),
                                            "portgroup_uuid": group}, 201).json()["uuid"]
    connector = call.admin("POST", "/v1/volume/connectors",
                           {"node_uuid": node, "type": "iqn", "connector_id": new_iqn()},
                           201).json()["uuid"]
    target = call.admin("POST", "/v1/volume/targets",
                        {"node_uuid": node, "volume_type": "iscsi", "boot_index": 0,
                         "volume_id": str(uuid.uuid4()), "properties": TARGET_PROPERTIES},
                        201).json()["uuid"]
    return {"port": port, "portgroup": group, "connector": connector, "target": target}


@pytest.fixture(scope="session")
def world(call):
    """Chassis ``chassis``; ``own`` and ``sys``: a node (created by p-admin, and by
    s-admin in the chassis), manageable and powered off, with a port in a port group,
    a volume connector and a volume target; ``missing``: UUIDs nothing has."""
    chassis = call.admin("POST", "/v1/chassis", {"description": "policy"}, 201).json()["uuid"]
    world = {"chassis": chassis}
    for variant, persona in (("own", OWN_NODE_CREATOR), ("sys", "s-admin")):
        node = make_node(call, persona, chassis if variant == "sys" else None)
        call.admin("PUT", f"/v1/nodes/{node}/states/provision", {"target": "manage"}, 202)
        wait_idle(call, node)
        call.admin("PUT", f"/v1/nodes/{node}/states/power", {"target": "power off"}, 202)
        wait_idle(call, node)
        name = call.admin("GET", f"/v1/nodes/{node}").json()["name"]
        world[variant] = {"node": node, "node_name": name, **make_children(call, node)}
    world["missing"] = {k: str(uuid.uuid4()) for k in
                        ("node", "port", "portgroup", "connector", "target", "chassis")}
    world["missing"]["node_name"] = "missing-node"
    return world


_TIMINGS = {}


def pytest_terminal_summary(terminalreporter, exitstatus, config):
    if _TIMINGS:
        terminalreporter.write_line("Keystone: " + ", ".join(
            f"{k} {v:.1f}s" for k, v in _TIMINGS.items()))
    failed = terminalreporter.stats.get("failed") or terminalreporter.stats.get("error")
    if not failed:
        return
    for path in _LOGS:
        if Path(path).exists():
            terminalreporter.section(f"{path} (last 150 lines)")
            for line in Path(path).read_text(errors="replace").splitlines()[-150:]:
                terminalreporter.write_line(line)
    if AGAINST == "sanlink":
        clients.pytest_terminal_summary(terminalreporter, exitstatus, config)
