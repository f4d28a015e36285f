"""Fixtures for the client integration tests.

The service under test is started once per test session, on a free loopback port:

* ``TEST_TOPOLOGY=embedded`` (default): one ``sanlink`` process, binary
  ``$SANLINK_BIN`` (default ``target/debug/sanlink``);
* ``TEST_TOPOLOGY=production``: two ``conductor`` processes and an ``api-gateway``
  (``$SANLINK_CONDUCTOR_BIN``, ``$SANLINK_GATEWAY_BIN``, default
  ``target/debug/{conductor,api-gateway}``) talking over RabbitMQ at
  ``$TEST_AMQP_URL`` (default ``amqp://guest:guest@127.0.0.1:5672/%2f``) with
  queue names private to this run; needs a server database.

The (first) conductor's boot server, which serves the iPXE scripts and the
conductor's /healthz, /readyz and /metrics, listens on a free loopback port as
well: the ``boot_url`` fixture. In the production topology the conductors log JSON
lines (``SANLINK_LOG_FORMAT=json``) and the gateway text.

Nothing is built here (``scripts/test.sh`` builds the binaries first). The
database is a fresh SQLite file in a temporary data directory, or
``$TEST_DATABASE_URL`` as given (creating an empty database for it is the
caller's job). The service's logs are printed at the end of a run in which a
test failed.
"""

import json
import os
import shutil
import socket
import subprocess
import sys
import time
import uuid
from pathlib import Path

import pytest
import requests

REPO = Path(__file__).resolve().parents[2]
API_VERSION = "1.46"
STARTUP_TIMEOUT = 60.0
TOPOLOGY = os.environ.get("TEST_TOPOLOGY", "embedded")

# The running service's processes and logs, for pytest_terminal_summary, and the
# address of its (first) boot server.
_SERVER = {"logs": [], "procs": [], "boot_url": None, "env": None, "data_dir": None}


def _free_port():
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _wait_http(base, procs, deadline):
    while time.monotonic() < deadline:
        if any(p.poll() is not None for p in procs):
            return False
        try:
            if requests.get(base + "/", timeout=2).status_code == 200:
                return True
        except requests.RequestException:
            pass
        time.sleep(0.1)
    return False


def _wait_log(path, text, proc, deadline):
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            return False
        if Path(path).exists() and text in Path(path).read_text(errors="replace"):
            return True
        time.sleep(0.1)
    return False


def _stop(procs):
    for proc in reversed(procs):
        if proc.poll() is None:
            proc.terminate()
    for proc in reversed(procs):
        try:
            proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


def _binary(env_var, name):
    binary = Path(os.environ.get(env_var, REPO / "target" / "debug" / name))
    if not binary.is_absolute():
        binary = REPO / binary
    if not binary.exists():
        pytest.exit(
            f"{name} binary {binary} not found: run `cargo build --bin {name}` or set {env_var}",
            returncode=3,
        )
    return binary


def _start(data_dir):
    """Starts the service; returns (processes, base URL or None).

    The (first) conductor's boot server listens on a port chosen here, recorded in
    ``_SERVER["boot_url"]``; any further conductor's boot server takes a free port.
    """
    port = _free_port()
    boot_listen = f"127.0.0.1:{_free_port()}"
    _SERVER["boot_url"] = f"http://{boot_listen}"
    env = {k: v for k, v in os.environ.items() if not k.startswith("SANLINK_")}
    env.update(
        SANLINK_LISTEN=f"127.0.0.1:{port}",
        SANLINK_BOOT_LISTEN=boot_listen,
        SANLINK_DATA_DIR=str(data_dir),
        SANLINK_LOG=os.environ.get("SANLINK_LOG", "info"),
        NO_COLOR="1",
        # Keep 409s on a busy node quick: the clients retry on their own.
        SANLINK_NODE_LOCKED_RETRY_INTERVAL="0.2",
    )
    if os.environ.get("TEST_DATABASE_URL"):
        env["SANLINK_DATABASE_URL"] = os.environ["TEST_DATABASE_URL"]
    deadline = time.monotonic() + STARTUP_TIMEOUT
    base = f"http://127.0.0.1:{port}"

    def spawn(binary, extra_env, log):
        if log not in _SERVER["logs"]:
            _SERVER["logs"].append(log)
        with open(log, "ab") as out:
            return subprocess.Popen(
                [str(binary)], env={**env, **extra_env}, stdout=out,
                stderr=subprocess.STDOUT, cwd=data_dir,
            )

    _SERVER["env"] = env
    _SERVER["data_dir"] = data_dir
    if TOPOLOGY == "production":
        amqp = {
            "SANLINK_AMQP_URL": os.environ.get(
                "TEST_AMQP_URL", "amqp://guest:guest@127.0.0.1:5672/%2f"
            ),
            "SANLINK_AMQP_PREFIX": f"sanlink-test-{uuid.uuid4().hex[:8]}",
        }
        _SERVER["env"] = {**env, **amqp}
        # Two conductors compete for the requests, as in a scaled-out deployment.
        # Both share this host: the second one's boot server takes a free port.
        procs = []
        for host, boot in (("conductor-1", boot_listen), ("conductor-2", "127.0.0.1:0")):
            log = data_dir / f"{host}.log"
            proc = spawn(
                _binary("SANLINK_CONDUCTOR_BIN", "conductor"),
                # Conductors log JSON lines, the gateway text: both formats get used.
                {**amqp, "SANLINK_CONDUCTOR_HOSTNAME": host, "SANLINK_BOOT_LISTEN": boot,
                 "SANLINK_LOG_FORMAT": "json"},
                log,
            )
            procs.append(proc)
            if not _wait_log(log, "conductor serving", proc, deadline):
                _stop(procs)
                return procs, None
        gateway = _binary("SANLINK_GATEWAY_BIN", "api-gateway")
        procs.append(spawn(gateway, amqp, data_dir / "api-gateway.log"))
    else:
        procs = [spawn(_binary("SANLINK_BIN", "sanlink"), {}, data_dir / "sanlink.log")]
    if _wait_http(base, procs, deadline):
        return procs, base
    _stop(procs)
    return procs, None


@pytest.fixture(scope="session")
def sanlink(tmp_path_factory):
    """Base URL (no trailing slash) of the running service."""
    if TOPOLOGY not in ("embedded", "production"):
        pytest.exit(f"TEST_TOPOLOGY={TOPOLOGY!r}: expected embedded or production", returncode=3)
    if TOPOLOGY == "production" and not os.environ.get("TEST_DATABASE_URL", "").startswith(
        ("postgres", "mysql", "mariadb")
    ):
        pytest.exit("TEST_TOPOLOGY=production needs a PostgreSQL or MySQL TEST_DATABASE_URL", returncode=3)
    data_dir = tmp_path_factory.mktemp("sanlink-data")
    # A port picked as free may be taken before the server binds it: try again.
    for _ in range(3):
        procs, base = _start(data_dir)
        if base:
            break
    else:
        for line in _log_lines():
            sys.stderr.write(line + "\n")
        pytest.exit("the service did not start; its log is above", returncode=3)
    _SERVER["procs"] = procs
    yield base
    _stop(procs)


def _log_lines(keep=400):
    lines = []
    for path in _SERVER["logs"]:
        if not Path(path).exists():
            continue
        text = Path(path).read_text(errors="replace").splitlines()
        lines.append(f"----- {path} -----")
        if len(text) > keep:
            lines.append(f"... ({len(text) - keep} earlier lines cut)")
            text = text[-keep:]
        lines.extend(text)
    return lines


def pytest_collection_modifyitems(config, items):
    """Marks the tests that drive the `baremetal` CLI, so that a run may leave them out
    (`-m "not cli"`)."""
    for item in items:
        if "cli" in getattr(item, "fixturenames", ()):
            item.add_marker(pytest.mark.cli)


def pytest_terminal_summary(terminalreporter, exitstatus, config):
    failed = terminalreporter.stats.get("failed") or terminalreporter.stats.get("error")
    died = any(p.returncode not in (None, 0, -15) for p in _SERVER["procs"])
    if failed or died:
        terminalreporter.section("service log (%s topology)" % TOPOLOGY)
        for line in _log_lines():
            terminalreporter.write_line(line)


# ---------------------------------------------------------------------------
# Plain HTTP, for setting up nodes and for checks the clients cannot express.


class Api:
    """A tiny JSON client speaking microversion 1.46 by default."""

    def __init__(self, base, version=API_VERSION):
        self.base = base
        self.version = version
        self.session = requests.Session()

    def request(self, method, path, body=None, version=None, expect=None, **kw):
        headers = {"Accept": "application/json"}
        v = version or self.version
        if v:
            headers["X-OpenStack-Ironic-API-Version"] = v
        if body is not None:
            headers["Content-Type"] = "application/json"
            kw["data"] = json.dumps(body)
        resp = self.session.request(method, self.base + path, headers=headers, timeout=60, **kw)
        if expect is not None and resp.status_code != expect:
            raise AssertionError(
                f"{method} {path} {json.dumps(body) if body is not None else ''}: "
                f"expected {expect}, got {resp.status_code}: {resp.text}"
            )
        return resp

    def get(self, path, **kw):
        return self.request("GET", path, **kw)

    def post(self, path, body, **kw):
        return self.request("POST", path, body, **kw)

    def patch(self, path, body, **kw):
        return self.request("PATCH", path, body, **kw)

    def put(self, path, body, **kw):
        return self.request("PUT", path, body, **kw)

    def delete(self, path, **kw):
        return self.request("DELETE", path, **kw)

    def node(self, ident):
        return self.get(f"/v1/nodes/{ident}", expect=200).json()

    def wait_node(self, ident, timeout=60, **want):
        """Polls the node until every `want` field has the given value."""
        deadline = time.monotonic() + timeout
        while True:
            node = self.node(ident)
            if all(node.get(k) == v for k, v in want.items()):
                return node
            if time.monotonic() > deadline:
                raise AssertionError(f"node {ident} never reached {want}: {node}")
            time.sleep(0.2)

    def set_power(self, ident, target):
        self.put(f"/v1/nodes/{ident}/states/power", {"target": target}, expect=202)
        return self.wait_node(ident, power_state=target, target_power_state=None)

    def set_provision(self, ident, target, stable):
        self.put(f"/v1/nodes/{ident}/states/provision", {"target": target}, expect=202)
        return self.wait_node(ident, provision_state=stable, target_provision_state=None)


@pytest.fixture(scope="session")
def boot_url(sanlink):
    """Base URL of the boot server of the service (its first conductor's)."""
    return _SERVER["boot_url"]


@pytest.fixture(scope="session")
def service(sanlink):
    """How the service runs: its environment (``SANLINK_*`` settings), data directory
    and log files, for running the admin commands against it and reading its logs."""
    return {
        "env": dict(_SERVER["env"]),
        "data_dir": Path(_SERVER["data_dir"]),
        "logs": [Path(p) for p in _SERVER["logs"]],
        "topology": TOPOLOGY,
    }


@pytest.fixture(scope="session")
def api(sanlink):
    return Api(sanlink)


def unique(prefix):
    return f"{prefix}-{uuid.uuid4().hex[:10]}"


def iqn():
    return f"iqn.2024-01.org.example:{uuid.uuid4().hex[:12]}"


@pytest.fixture
def make_node(api):
    """Creates nodes through the node API: fake-hardware, powered off.

    ``make_node(available=True)`` also takes the node through manage/provide.
    """

    def make(available=False, power="power off", **fields):
        body = {"driver": "fake-hardware", "name": unique("node")}
        body.update(fields)
        node = api.post("/v1/nodes", body, expect=201).json()
        if power:
            api.set_power(node["uuid"], power)
        if available:
            api.set_provision(node["uuid"], "manage", "manageable")
            api.set_provision(node["uuid"], "provide", "available")
        return api.node(node["uuid"])

    return make


@pytest.fixture
def node(make_node):
    """A fresh powered-off fake-hardware node (enroll state)."""
    return make_node()


# ---------------------------------------------------------------------------
# openstacksdk


@pytest.fixture(scope="session")
def sdk_connect(sanlink):
    import openstack

    def connect(retries=0):
        # No Keystone: auth_type "none" plus an endpoint override. Config files and
        # OS_* variables are ignored so the developer's own cloud never leaks in.
        return openstack.connect(
            load_yaml_config=False,
            load_envvars=False,
            auth_type="none",
            baremetal_endpoint_override=sanlink + "/",
            baremetal_status_code_retries=retries,
        )

    return connect


@pytest.fixture(scope="session")
def conn(sdk_connect):
    """An openstacksdk connection without 409/503 retries (errors surface at once)."""
    return sdk_connect(0)


@pytest.fixture(scope="session")
def bm(conn):
    return conn.baremetal


# ---------------------------------------------------------------------------
# The `baremetal` CLI


def _baremetal_exe():
    exe = Path(sys.executable).parent / "baremetal"
    if exe.exists():
        return str(exe)
    found = shutil.which("baremetal")
    if not found:
        pytest.skip("the baremetal command (python-ironicclient) is not installed")
    return found


class Cli:
    def __init__(self, base):
        self.base = base
        self.exe = _baremetal_exe()

    def env(self):
        env = {k: v for k, v in os.environ.items() if not k.startswith("OS_")}
        env["PYTHONWARNINGS"] = "ignore"
        return env

    def run(self, *args, check=True):
        cmd = [self.exe, "--os-endpoint", self.base, "--os-auth-type", "none", *args]
        proc = subprocess.run(cmd, env=self.env(), capture_output=True, text=True, timeout=180)
        if check and proc.returncode != 0:
            raise AssertionError(
                f"{' '.join(cmd)} exited {proc.returncode}\nstdout: {proc.stdout}\nstderr: {proc.stderr}"
            )
        return proc

    def json(self, *args):
        return json.loads(self.run(*args, "-f", "json").stdout)


@pytest.fixture(scope="session")
def cli(sanlink):
    return Cli(sanlink)
