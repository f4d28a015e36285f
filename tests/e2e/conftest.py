"""Fixtures of the boot-from-SAN end-to-end test: a machine really boots its volume.

Every part is real and runs inside a network namespace that has only loopback
(``tests/e2e/run.sh`` makes it), so fixed ports cannot clash and nothing leaves:

* sanlink: the embedded ``sanlink`` (``TEST_TOPOLOGY=embedded``, default) or
  ``api-gateway`` + two ``conductor`` processes over a RabbitMQ of the test's own on
  PostgreSQL (``TEST_TOPOLOGY=production``); API on 127.0.0.1:6385, boot server on
  127.0.0.1:8088, which the machine reaches as 10.0.2.2:8088 through QEMU's NAT;
* the SAN: ``tgtd`` on 127.0.0.1:3260 exporting a fresh disk image, with CHAP and an
  initiator-name ACL;
* the machine: a diskless libvirt domain (QEMU under software emulation, iPXE in
  its NIC's option ROM) behind sushy-tools' Redfish emulator on 127.0.0.1:8000;
* for the tests that use the ``cinder`` fixture: a real Cinder
  (``tests/cinder/cinder_service.py``, ``.venv-cinder``) with API on 127.0.0.1:8776
  and its own tgtd on 127.0.0.1:3261, over the namespace's RabbitMQ (the ``broker``
  fixture, which the production topology's sanlink uses as well). Its endpoint is
  fixed in advance (port and project id), so sanlink always starts with
  ``SANLINK_CINDER_AUTH_TYPE=none`` and that endpoint, and Cinder (and in the embedded
  topology the broker) start only when a test asks for them.

``TEST_AUTH=keystone`` (default ``none``) puts a real Keystone
(``tests/keystone/keystone_service.py``, ``.venv-keystone``) on 127.0.0.1:5000 in front
of both: it starts before sanlink, which runs with ``SANLINK_AUTH_STRATEGY=keystone`` as
the service user ``ironic`` and finds Cinder in Keystone's catalog
(``SANLINK_CINDER_AUTH_TYPE=password``, no endpoint override); Cinder runs with
``auth_strategy = keystone`` and makes ``ironic`` an admin of its project; the test's
own client authenticates as the system admin ``s-admin``. In that mode only the Cinder
tests run: those on the ``san`` fixture and the docs' walk-throughs (marked
``needs_no_auth``: they set OS_AUTH_TYPE=none) are skipped. The machine's boot server
needs no token either way.

A failed test shows the machine's serial console, the script sanlink served it and
the logs of sanlink, the SAN and the BMC (and of Cinder, when it was in it).
"""

import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path

import openstack
import pytest
import requests

from disk import write_boot_disk

HERE = Path(__file__).resolve().parent
REPO = HERE.parents[1]
GUEST_HOST = "10.0.2.2"  # the host's loopback, as QEMU's user-mode network shows it
API_PORT, BOOT_PORT, ISCSI_PORT, BMC_PORT, AMQP_PORT = 6385, 8088, 3260, 8000, 5672
CINDER_PORT, CINDER_ISCSI_PORT = 8776, 3261
KEYSTONE_PORT = 5000
CINDER_PROJECT = "5a9c1e2b0d7f4e3c8b6a1f0e9d8c7b6a"  # any hex id (Cinder's project_id_regex)
CINDER_ENDPOINT = f"http://127.0.0.1:{CINDER_PORT}/v3/{CINDER_PROJECT}"
API_URL = f"http://127.0.0.1:{API_PORT}"
BOOT_SERVER = f"http://127.0.0.1:{BOOT_PORT}"
BMC_URL = f"http://127.0.0.1:{BMC_PORT}"
TOPOLOGY = os.environ.get("TEST_TOPOLOGY", "embedded")
AUTH = os.environ.get("TEST_AUTH", "none")
START_TIMEOUT = 60.0


class Process:
    """A child process with its log file; stopped by ``stop``."""

    def __init__(self, name, argv, log, env=None, cwd=None):
        self.name = name
        self.log = Path(log)
        with open(self.log, "ab") as out:
            self.popen = subprocess.Popen(
                argv, stdin=subprocess.DEVNULL, stdout=out, stderr=subprocess.STDOUT,
                env=env, cwd=cwd,
            )

    def running(self):
        return self.popen.poll() is None

    def stop(self, sig=signal.SIGTERM, timeout=15):
        if self.running():
            self.popen.send_signal(sig)
            try:
                self.popen.wait(timeout=timeout)
            except subprocess.TimeoutExpired:
                self.popen.kill()
                self.popen.wait()

    def tail(self, lines=80):
        text = self.log.read_text(errors="replace") if self.log.exists() else ""
        return "\n".join(text.splitlines()[-lines:])


def wait_until(what, check, timeout, procs=()):
    """Polls ``check`` until it returns a true value; fails naming ``what``."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        for proc in procs:
            if not proc.running():
                pytest.fail(f"{proc.name} exited while waiting for {what}:\n{proc.tail()}")
        result = check()
        if result:
            return result
        time.sleep(0.1)
    pytest.fail(f"timed out after {timeout}s waiting for {what}")


def answers(url):
    try:
        return requests.get(url, timeout=2).status_code < 500
    except requests.RequestException:
        return False


def run(*argv, check=True):
    return subprocess.run(argv, check=check, capture_output=True, text=True)


def pytest_configure(config):
    if AUTH not in ("none", "keystone"):
        pytest.exit(f"TEST_AUTH must be none or keystone, not {AUTH!r}", returncode=4)
    config.addinivalue_line(
        "markers", "needs_no_auth: runs only without authentication (TEST_AUTH=none)")
    # A run stopped by SIGTERM (a CI timeout) still tears down: machines, tgtd, libvirtd,
    # the BMC and sanlink are stopped by the fixtures' finalizers.
    def interrupt(signum, frame):
        raise KeyboardInterrupt(f"signal {signum}")

    signal.signal(signal.SIGTERM, interrupt)


# --- diagnostics --------------------------------------------------------------

# What to show when a test fails: title -> function returning the text.
_EVIDENCE = {}


@pytest.fixture
def evidence():
    """Register ``evidence[title] = callable`` to show its text if the test fails."""
    _EVIDENCE.clear()
    yield _EVIDENCE
    _EVIDENCE.clear()


def pytest_collection_modifyitems(config, items):
    """With TEST_AUTH=keystone, skips what cannot run behind Keystone: the ``san``
    tests (a SAN of the test's own, nothing of Keystone's to exercise) and those
    marked ``needs_no_auth`` (the docs' walk-throughs set OS_AUTH_TYPE=none)."""
    if AUTH == "none":
        return
    for item in items:
        if item.get_closest_marker("needs_no_auth"):
            item.add_marker(pytest.mark.skip(
                reason="TEST_AUTH=keystone: the walk-through configures no authentication "
                       "(OS_AUTH_TYPE=none); run it with TEST_AUTH=none"))
        elif "san" in item.fixturenames:
            item.add_marker(pytest.mark.skip(
                reason="TEST_AUTH=keystone runs only the Cinder tests; the san tests run "
                       "with TEST_AUTH=none"))


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item, call):
    outcome = yield
    report = outcome.get_result()
    if report.failed:
        for title, source in list(_EVIDENCE.items()):
            try:
                text = source()
            except Exception as e:  # the evidence itself may be what broke
                text = f"(unavailable: {e})"
            report.sections.append((title, text))


# --- the namespace --------------------------------------------------------------


@pytest.fixture(scope="session", autouse=True)
def loopback_only():
    """Refuses to run outside a network namespace that has only loopback."""
    # /proc/net/dev lists this namespace's interfaces (/sys/class/net may be the host's).
    lines = Path("/proc/self/net/dev").read_text().splitlines()[2:]
    links = sorted(line.split(":")[0].strip() for line in lines)
    if links != ["lo"]:
        pytest.exit(
            f"the e2e test runs in a network namespace with only loopback (found {links}); "
            "start it with tests/e2e/run.sh",
            returncode=3,
        )


@pytest.fixture(scope="session")
def work(tmp_path_factory):
    return tmp_path_factory.mktemp("e2e")


# --- sanlink ---------------------------------------------------------------------


BINARY_VARIABLES = {"sanlink": "SANLINK_BIN", "api-gateway": "SANLINK_GATEWAY_BIN",
                    "conductor": "SANLINK_CONDUCTOR_BIN"}


def _binary(name):
    """The binary to run: $SANLINK_BIN etc. as for the client tests, or target/debug."""
    path = Path(os.environ.get(BINARY_VARIABLES[name], REPO / "target" / "debug" / name))
    if not path.exists():
        pytest.exit(f"{path} not found: run `cargo build --bin {name}`", returncode=3)
    return str(path)


def _sanlink_env(data_dir, keystone=None):
    env = {k: v for k, v in os.environ.items() if not k.startswith("SANLINK_")}
    env.update(
        SANLINK_LISTEN=f"127.0.0.1:{API_PORT}",
        SANLINK_BOOT_LISTEN=f"127.0.0.1:{BOOT_PORT}",
        SANLINK_BOOT_URL=f"http://{GUEST_HOST}:{BOOT_PORT}",
        SANLINK_DATA_DIR=str(data_dir),
        SANLINK_LOG=os.environ.get("SANLINK_LOG", "info"),
        NO_COLOR="1",
    )
    if keystone is None:
        # The `cinder` fixture's Cinder (started only by the tests that use it).
        env.update(SANLINK_CINDER_AUTH_TYPE="none",
                   SANLINK_CINDER_ENDPOINT_OVERRIDE=CINDER_ENDPOINT)
    else:
        # As a cloud's Ironic: Keystone validates the API's tokens, and the conductor
        # finds Cinder in the catalog of its own service user's token.
        env.update(
            SANLINK_AUTH_STRATEGY="keystone",
            SANLINK_KEYSTONE_AUTH_URL=keystone.auth_url,
            SANLINK_KEYSTONE_USERNAME="ironic",
            SANLINK_KEYSTONE_PASSWORD=keystone_service.password("ironic"),
            SANLINK_KEYSTONE_PROJECT_NAME="service",
            SANLINK_CINDER_AUTH_TYPE="password",
        )
    return env


@pytest.fixture(scope="session")
def sanlink(work, request):
    """The running service; yields its processes (their logs show on failure)."""
    data = work / "sanlink"
    data.mkdir()
    # The keystone fixture stops Keystone, after sanlink.
    ks = request.getfixturevalue("keystone") if AUTH == "keystone" else None
    env = _sanlink_env(data, ks)
    procs = []
    # The broker fixture stops the broker, after sanlink.
    broker = [request.getfixturevalue("broker")] if TOPOLOGY == "production" else []
    try:
        if TOPOLOGY == "production":
            procs += _start_production(work, data, env)
        else:
            procs.append(Process("sanlink", [_binary("sanlink")], data / "sanlink.log", env, data))
        wait_until("the sanlink API", lambda: answers(API_URL + "/"), START_TIMEOUT,
                   broker + procs)
        yield ([KeystoneLog(ks)] if ks else []) + broker + procs
    finally:
        for proc in reversed(procs):
            proc.stop()


@pytest.fixture(scope="session")
def broker():
    """A RabbitMQ of the namespace's own on 127.0.0.1:5672 (guest/guest): the
    production topology's and Cinder's. Started on first use, stopped at the end."""
    proc = _start_rabbitmq()
    try:
        yield proc
    finally:
        proc.stop()
        # rabbitmq-server started the namespace's Erlang port mapper as a daemon.
        run("epmd", "-kill", check=False)


def _start_production(work, data, env):
    """Two conductors and a gateway on PostgreSQL, over the namespace's RabbitMQ."""
    env = dict(
        env,
        SANLINK_AMQP_URL=f"amqp://guest:guest@127.0.0.1:{AMQP_PORT}/%2f",
        SANLINK_DATABASE_URL=_fresh_postgres_database(),
    )
    procs = []
    for n, boot in ((1, f"127.0.0.1:{BOOT_PORT}"), (2, f"127.0.0.1:{BOOT_PORT + 1}")):
        conductor = Process(
            f"conductor-{n}", [_binary("conductor")], data / f"conductor-{n}.log",
            dict(env, SANLINK_CONDUCTOR_HOSTNAME=f"conductor-{n}", SANLINK_BOOT_LISTEN=boot),
            data,
        )
        procs.append(conductor)
        wait_until(f"conductor-{n}", lambda: "conductor serving" in conductor.tail(1000),
                   START_TIMEOUT, [conductor])
    procs.append(Process("api-gateway", [_binary("api-gateway")], data / "api-gateway.log",
                         env, data))
    return procs


class Broker(Process):
    """rabbitmq-server, which hands the broker to another user: stopped with rabbitmqctl."""

    NODE = "sanlink-e2e@localhost"

    def __init__(self, base, env):
        super().__init__("rabbitmq", ["rabbitmq-server"], base / "rabbitmq.out", env, cwd=base)
        self.base = base
        self.env = env

    def ctl(self, tool, *args):
        return subprocess.run([tool, "-n", self.NODE, *args], env=self.env, capture_output=True)

    def stop(self, sig=signal.SIGTERM, timeout=15):
        # Given the PID file, rabbitmqctl waits until the broker's process has ended.
        self.ctl("rabbitmqctl", "stop", str(self.base / "pid"))
        super().stop(sig, timeout)
        shutil.rmtree(self.base, ignore_errors=True)


def _start_rabbitmq():
    """rabbitmq-server as a node of its own (own name, data and Erlang port mapper)."""
    # Debian's rabbitmq-server runs the broker as the rabbitmq user: a directory it owns.
    base = Path(tempfile.mkdtemp(prefix="sanlink-e2e-rabbitmq."))
    env = dict(
        os.environ,
        RABBITMQ_NODENAME=Broker.NODE,
        RABBITMQ_NODE_IP_ADDRESS="127.0.0.1",
        RABBITMQ_NODE_PORT=str(AMQP_PORT),
        RABBITMQ_DIST_PORT=str(AMQP_PORT + 20000),
        RABBITMQ_MNESIA_BASE=str(base / "mnesia"),
        RABBITMQ_LOG_BASE=str(base / "log"),
        RABBITMQ_PID_FILE=str(base / "pid"),
        RABBITMQ_FEATURE_FLAGS_FILE=str(base / "feature_flags"),
        RABBITMQ_ENABLED_PLUGINS_FILE=str(base / "enabled_plugins"),
        RABBITMQ_CONFIG_FILE=str(base / "rabbitmq"),
    )
    (base / "mnesia").mkdir()
    (base / "log").mkdir()
    (base / "enabled_plugins").write_text("[].\n")
    shutil.chown(base, "rabbitmq", "rabbitmq")
    for path in base.iterdir():
        shutil.chown(path, "rabbitmq", "rabbitmq")
    broker = Broker(base, env)

    wait_until(
        "RabbitMQ",
        lambda: broker.ctl("rabbitmq-diagnostics", "check_port_connectivity").returncode == 0,
        120, [broker],
    )
    return broker


def _fresh_postgres_database():
    """A new database on the host's PostgreSQL, reached through its Unix socket (a
    network namespace does not separate those)."""
    socket_dir = os.environ.get("TEST_PG_SOCKET_DIR", "/var/run/postgresql")
    name = "sanlink_e2e"
    for sql in (f"DROP DATABASE IF EXISTS {name}", f"CREATE DATABASE {name}"):
        run("psql", "-h", socket_dir, "-U", "postgres", "-d", "postgres", "-v",
            "ON_ERROR_STOP=1", "-q", "-c", sql)
    return f"postgres://postgres@/{name}?host={socket_dir}"


@pytest.fixture
def cloud(sanlink, bmc, evidence, request):
    """openstacksdk's baremetal proxy on sanlink, as a standalone user configures it
    (TEST_AUTH=keystone: as the system admin ``s-admin``, sanlink from the catalog)."""
    for proc in [*sanlink, bmc]:
        evidence[f"{proc.name} log"] = proc.tail
    if AUTH == "keystone":
        ks = request.getfixturevalue("keystone")
        conn = openstack.connect(
            load_yaml_config=False, load_envvars=False, auth_type="password",
            auth_url=ks.auth_url, username="s-admin",
            password=keystone_service.password("s-admin"), user_domain_name="Default",
            system_scope="all", region_name=keystone_service.REGION,
            interface="public", identity_api_version="3", baremetal_api_version="1.46",
        )
        # From the catalog, with the version discovery found in it.
        assert conn.baremetal.get_endpoint().rstrip("/") in (API_URL, API_URL + "/v1")
        # Keystone is really in front: no token, no nodes.
        assert requests.get(API_URL + "/v1/nodes", timeout=10).status_code == 401
        return conn.baremetal
    conn = openstack.connect(
        load_yaml_config=False, load_envvars=False, auth_type="none",
        baremetal_endpoint_override=API_URL + "/", baremetal_api_version="1.46",
    )
    return conn.baremetal


# --- Keystone (TEST_AUTH=keystone) -----------------------------------------------------

sys.path.insert(0, str(REPO / "tests" / "keystone"))
import keystone_service  # noqa: E402  (standard library and requests only)


class KeystoneLog:
    """Keystone as one of the sanlink fixture's processes: for its log on failure."""

    name = "keystone"

    def __init__(self, ks):
        self.ks = ks

    def running(self):
        return self.ks.proc is not None and self.ks.proc.poll() is None

    def tail(self, lines=80):
        text = ""
        for log in (self.ks.log, self.ks.state / f"{self.ks.name}-gunicorn.log"):
            if log.exists():
                text += f"== {log.name}\n" + "\n".join(
                    log.read_text(errors="replace").splitlines()[-lines:]) + "\n"
        return text


@pytest.fixture(scope="session")
def keystone(work):
    """A real Keystone on 127.0.0.1:5000 (TEST_AUTH=keystone only), its catalog's
    baremetal endpoint sanlink's API; started before sanlink, stopped after it.
    Skipped when .venv-keystone is missing and cannot be made."""
    if AUTH != "keystone":
        pytest.fail("the keystone fixture is for TEST_AUTH=keystone")
    try:
        keystone_service.ensure_venv()
    except keystone_service.KeystoneUnavailable as exc:
        pytest.skip(f"no Keystone: {exc}")
    ks = keystone_service.Keystone(work / "keystone", port=KEYSTONE_PORT,
                                   baremetal_url=API_URL)
    t0 = time.monotonic()
    try:
        ks.start()
    except Exception as exc:  # noqa: BLE001 - its log says why
        ks.stop()
        pytest.fail(f"Keystone did not start: {exc}\n{KeystoneLog(ks).tail()}")
    _SUMMARY.append(f"Keystone started in {time.monotonic() - t0:.1f}s ("
                    + ", ".join(f"{k} {v:.1f}s" for k, v in ks.timings.items()) + ")")
    try:
        yield ks
    finally:
        ks.stop()


# --- the machine and its BMC ---------------------------------------------------------


def virsh(*args, check=True):
    return run("virsh", "-q", "-c", "qemu:///system", *args, check=check)


@pytest.fixture(scope="session")
def libvirtd(work):
    """A libvirtd of the test's own (unix socket only), stopped at the end."""
    if virsh("version", check=False).returncode == 0:
        pytest.exit("a libvirtd is already running; the e2e test starts its own", returncode=3)
    daemon = Process("libvirtd", ["libvirtd"], work / "libvirtd.log")
    try:
        wait_until("libvirtd", lambda: virsh("version", check=False).returncode == 0,
                   START_TIMEOUT, [daemon])
        yield daemon
    finally:
        daemon.stop()


@pytest.fixture(scope="session")
def bmc(work, libvirtd):
    """sushy-tools' Redfish emulator in front of libvirt: the machines' BMC."""
    config = work / "sushy.conf"
    config.write_text(
        "SUSHY_EMULATOR_LISTEN_IP = '127.0.0.1'\n"
        f"SUSHY_EMULATOR_LISTEN_PORT = {BMC_PORT}\n"
        "SUSHY_EMULATOR_LIBVIRT_URI = 'qemu:///system'\n"
    )
    emulator = str(Path(sys.executable).parent / "sushy-emulator")
    proc = Process("sushy-emulator", [emulator, "--config", str(config)], work / "sushy.log")
    try:
        wait_until("the Redfish emulator", lambda: answers(BMC_URL + "/redfish/v1/"),
                   START_TIMEOUT, [proc])
        yield proc
    finally:
        proc.stop()


class Machine:
    """A diskless PC: a libvirt domain whose one NIC network-boots iPXE."""

    def __init__(self, work, name, mac):
        self.name = name
        self.mac = mac
        self.serial = work / f"{name}.serial.log"
        xml = (HERE / "domain.xml.in").read_text()
        for key, value in {
            "NAME": name, "MAC": mac, "SERIAL": str(self.serial),
            "EMULATOR": str(HERE / "qemu-wrapper.sh"),
            "BOOT_FILE": f"http://{GUEST_HOST}:{BOOT_PORT}/boot.ipxe",
        }.items():
            xml = xml.replace(f"@{key}@", value)
        (work / f"{name}.xml").write_text(xml)
        virsh("define", str(work / f"{name}.xml"))
        self.uuid = virsh("domuuid", name).stdout.strip()
        self.system_path = f"/redfish/v1/Systems/{self.uuid}"

    def console(self):
        """The serial console so far, with terminal escapes and blank lines removed."""
        if not self.serial.exists():
            return ""
        text = self.serial.read_bytes().decode(errors="replace").replace("\x1b", "")
        return "\n".join(line for line in text.replace("\r", "\n").splitlines() if line.strip())

    def state(self):
        return virsh("domstate", self.name).stdout.strip()

    def redfish(self):
        resp = requests.get(BMC_URL + self.system_path, timeout=10)
        resp.raise_for_status()
        return resp.json()

    def remove(self):
        virsh("destroy", self.name, check=False)
        virsh("undefine", self.name, check=False)


@pytest.fixture
def machine(work, bmc, evidence):
    """A fresh diskless machine behind the BMC, removed after the test."""
    name = f"sanlink-e2e-{uuid.uuid4().hex[:8]}"
    mac = "52:54:00:%02x:%02x:%02x" % tuple(uuid.uuid4().bytes[:3])
    node = Machine(work, name, mac)
    evidence["serial console"] = node.console
    evidence["QEMU log"] = lambda: Path(f"/var/log/libvirt/qemu/{name}.log").read_text()[-4000:]
    yield node
    node.remove()


# --- the SAN -------------------------------------------------------------------------


class Target:
    """One iSCSI target on tgtd, exporting a fresh boot disk as LUN 1."""

    def __init__(self, name, banner, process, control):
        self.iqn = f"iqn.2026-11.org.sanlink.e2e:{name}"
        self.portal = f"{GUEST_HOST}:{ISCSI_PORT}"
        self.lun = 1
        self.banner = banner
        self.process = process
        self.control = control

    def tgtadm(self, *args):
        return run("tgtadm", "-C", str(self.control), "--lld", "iscsi", *args)


@pytest.fixture
def san(work, evidence):
    """``san(initiator_iqn, user, secret)``: starts tgtd exporting a fresh disk to that
    initiator only, with CHAP; returns the Target. Stopped after the test."""
    started = []
    # tgtd's management socket is a file, shared with the host: a number of our own.
    control = 20000 + os.getpid() % 12000  # tgtd accepts up to 32767

    def export(initiator_iqn, user, secret):
        name = f"volume-{uuid.uuid4().hex[:8]}"
        disk = work / f"{name}.img"
        banner = write_boot_disk(disk)
        proc = Process("tgtd", ["tgtd", "-f", "-C", str(control),
                                "--iscsi", f"portal=127.0.0.1:{ISCSI_PORT}"],
                       work / f"{name}.tgtd.log")
        started.append(proc)
        evidence["tgtd log"] = proc.tail
        target = Target(name, banner, proc, control)
        wait_until("tgtd", lambda: run("tgtadm", "-C", str(control), "--lld", "iscsi", "--op",
                                       "show", "--mode", "target", check=False).returncode == 0,
                   START_TIMEOUT, [proc])
        target.tgtadm("--op", "new", "--mode", "target", "--tid", "1", "--targetname", target.iqn)
        target.tgtadm("--op", "new", "--mode", "logicalunit", "--tid", "1", "--lun", "1",
                      "--backing-store", str(disk))
        # tgt admits an initiator whose address OR name is bound: bind the name alone.
        target.tgtadm("--op", "bind", "--mode", "target", "--tid", "1",
                      "--initiator-name", initiator_iqn)
        target.tgtadm("--op", "new", "--mode", "account", "--user", user, "--password", secret)
        target.tgtadm("--op", "bind", "--mode", "account", "--tid", "1", "--user", user)
        return target

    yield export
    for proc in started:
        # tgtd ignores SIGTERM: delete the target, then the system; SIGKILL if it stays.
        run("tgtadm", "-C", str(control), "--lld", "iscsi", "--op", "delete", "--mode",
            "target", "--tid", "1", "--force", check=False)
        run("tgtadm", "-C", str(control), "--op", "delete", "--mode", "system", check=False)
        try:
            proc.popen.wait(timeout=3)
        except subprocess.TimeoutExpired:
            proc.stop(signal.SIGKILL)
    if started:
        # tgtd leaves its socket files behind in /var/run/tgtd (the host's).
        for suffix in ("", ".lock"):
            Path(f"/var/run/tgtd/socket.{control}{suffix}").unlink(missing_ok=True)


# --- Cinder ------------------------------------------------------------------------

sys.path.insert(0, str(REPO / "tests" / "cinder"))
import cinder_service  # noqa: E402  (standard library and requests only)


def _free_cinder_tgt_control():
    """A tgtd control number for Cinder's tgtd: below the ``san`` fixture's range
    (20000-31999) and unused in /var/run/tgtd (shared with the host)."""
    used = {p.name.split(".")[1] for p in Path("/var/run/tgtd").glob("socket.*")}
    for n in range(10000 + os.getpid() % 9000, 20000):
        if str(n) not in used:
            return n
    pytest.fail("no free tgtd control number between 10000 and 19999")


@pytest.fixture(scope="session")
def cinder(work, request):
    """A real Cinder at ``CINDER_ENDPOINT`` (auth_strategy = noauth; with
    TEST_AUTH=keystone, auth_strategy = keystone and the endpoint in Keystone's catalog,
    http://127.0.0.1:8776/v3/<the service project's id>), over the namespace's
    broker, with its own tgtd on 127.0.0.1:3261 and ``target_ip_address`` 10.0.2.2:
    the connection info it hands sanlink names the portal as the machine reaches it.
    Skipped when .venv-cinder is missing and cannot be made."""
    try:
        cinder_service.ensure_venv()
    except cinder_service.CinderUnavailable as exc:
        pytest.skip(f"no Cinder: {exc}")
    broker = request.getfixturevalue("broker")  # started only now, when Cinder can be
    if AUTH == "keystone":
        # keystonemiddleware against the test's Keystone; Cinder registers itself in
        # the catalog (project: `service`'s id) and makes sanlink's `ironic` an admin.
        auth = dict(auth="keystone", keystone=request.getfixturevalue("keystone"),
                    admin_users=("ironic",))
    else:
        auth = dict(project_id=CINDER_PROJECT)
    cd = cinder_service.Cinder(
        work / "cinder", port=CINDER_PORT, iscsi_port=CINDER_ISCSI_PORT,
        tgt_control=_free_cinder_tgt_control(), **auth,
        rabbit=f"guest:guest@127.0.0.1:{AMQP_PORT}",
        rabbitmqctl=["rabbitmqctl", "-n", Broker.NODE], rabbitmqctl_env=broker.env,
        target_ip=GUEST_HOST,
    )
    t0 = time.monotonic()
    try:
        cd.start()
    except cinder_service.CinderError as exc:
        pytest.fail(f"Cinder did not start: {exc}")
    _SUMMARY.append(f"Cinder started in {time.monotonic() - t0:.1f}s ("
                    + ", ".join(f"{k} {v:.1f}s" for k, v in cd.timings.items()) + ")")
    if AUTH == "none":
        assert cd.settings()["endpoint"] == CINDER_ENDPOINT
    else:
        assert requests.get(cd.endpoint + "/volumes", timeout=10).status_code == 401
    try:
        yield cd
    finally:
        cd.stop()
        left = cd.leftovers()
        _SUMMARY.append(f"Cinder stopped in {cd.timings['stop']:.1f}s; "
                        f"left running: {left or 'nothing'}")
        assert not left, f"left of Cinder: {left}"


_SUMMARY = []  # lines for the end of the run


def pytest_terminal_summary(terminalreporter):
    for line in _SUMMARY:
        terminalreporter.write_line(line)
