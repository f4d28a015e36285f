"""A real Cinder (29.0.0, from ``.venv-cinder``) for tests that need block storage.

Importable from any test directory (it needs only the standard library and
``requests``; no pytest). Runs as root: tgtd needs it::

    cd = Cinder(state_dir)                      # auth="noauth"
    cd.start()                                  # tgtd, cinder-api, -volume, -scheduler
    vid = cd.create_volume(size_gb=1, name="boot")   # waits for "available"
    cd.backing_file(vid).write_bytes(image)     # the volume's bytes, a sparse file
    cd.settings()                               # what a client needs (below)
    cd.stop()                                   # everything stopped, vhost deleted

    ks = Keystone(state_dir / "ks").start()     # tests/keystone/keystone_service.py
    cd = Cinder(state_dir / "cd", auth="keystone", keystone=ks).start()

``ensure_venv()`` builds ``.venv-cinder`` from ``requirements.txt`` (which applies the
pins of ``constraints.txt``) when the sha256 of the two differs from the one kept in
the venv (``.requirements.sha256``), and raises ``CinderUnavailable`` when that has
to happen and PyPI cannot be reached: callers turn that into a skip. A missing tgt
(``tests/cinder/install-deps.sh`` installs it) is an error, not a skip.

What one ``Cinder`` runs, all of it on 127.0.0.1, state in ``state_dir``:

* its own tgtd: control socket ``/var/run/tgtd/socket.<tgt_control>`` (a free number
  up to 32767, tgtd's limit), iSCSI portal ``127.0.0.1:<iscsi_port>``. Cinder runs
  plain ``tgt-admin``/``tgtadm``; the wrappers in ``state_dir/bin`` (first on the
  services' PATH) point them at this tgtd and its ``tgt-targets.conf``. tgtd ignores
  SIGTERM: ``stop()`` deletes its targets and the system through tgtadm, then
  SIGKILLs what is left. tgt has no per-initiator ACL (targets accept ``ALL``
  initiators): CHAP is the only gate;
* cinder-api (one worker) on ``port``, cinder-volume with one backend ``file``
  (``sanlink_file_driver.SparseFileDriver``: Cinder's LVM driver with a sparse file
  per volume instead of a logical volume, since the kernel here has no
  device-mapper), cinder-scheduler. The three start at once. The scheduler asks the
  volume services for their capabilities when it starts, and a volume service that
  is not listening yet misses that; then, with Cinder's defaults, the scheduler knows
  no pool (creates fail "No valid backend") until the volume service's first periodic
  report, 60 to 120 s later. Here the volume service reports every 5 s
  (``backend_stats_polling_interval``, ``periodic_interval``,
  ``periodic_fuzzy_delay = 0``). ``start()`` returns when the scheduler knows the
  pool. SQLite in ``state_dir`` holds the database: the services' sitecustomize
  (``SQLITE_SHIM``) makes its transactions begin IMMEDIATE, or two processes that
  write at once fail one of them with "database is locked";
* a RabbitMQ vhost of its own on 127.0.0.1:5672 (guest/guest), made with
  ``rabbitmqctl add_vhost`` and deleted by ``stop()``; SQLite in ``state_dir``.
  ``rabbit="user:password@host:port"`` (default ``$CINDER_RABBIT``, else the above)
  names another broker, and ``rabbitmqctl=[argv...]`` (with ``rabbitmqctl_env``) the
  command that reaches that broker's node, e.g. ``["rabbitmqctl", "-n",
  "node@localhost"]`` for a broker of a network namespace of its own;
* ``target_ip`` (default 127.0.0.1) is Cinder's ``target_ip_address``: the host of
  the ``target_portal`` that the connection info carries (``settings()["iscsi_portal"]``),
  for an initiator that reaches tgtd by another address (a QEMU guest behind user-mode
  NAT sees the host's loopback as 10.0.2.2). tgtd itself listens on
  ``127.0.0.1:<iscsi_port>`` whatever it is (``settings()["iscsi_listen"]``).

How a client talks to it (``settings()`` returns these):

* ``auth="noauth"`` (``auth_strategy = noauth``): the endpoint is
  ``http://127.0.0.1:<port>/v3/<project_id>`` with header
  ``X-Auth-Token: <user>:<project_id>``. Cinder's noauth middleware takes user and
  project from the token (no token: it answers 204 with a fake one) and makes every
  request an admin's. The project id in the URL must match the token's and must
  match ``project_id_regex``, ``[0-9a-f-]+``: ``/v3/admin/...`` is no route (404),
  hence a hex project id (a uuid4 hex by default). ``/v3/volumes`` (no project in
  the URL) works as well, on the token's project;
* ``auth="keystone"``: keystonemiddleware against the given Keystone. ``start()``
  registers user ``cinder`` (password ``sanlink-cinder``) with roles ``service`` and
  ``admin`` on project ``service`` (``service`` alone validates tokens, but Cinder's
  policy answers 403 to most volume calls), and services ``block-storage`` (name
  ``cinder``) and ``volumev3`` (name ``cinderv3``) with public, internal and admin
  endpoints ``http://127.0.0.1:<port>/v3/%(project_id)s``: Keystone puts the
  token's project id in the catalog's URL. ``admin_users`` also grants ``admin`` on
  project ``service`` to other (existing) users, such as ``ironic``, as devstack
  does for service users.

Start-up from an installed venv takes about 5-6 s on two cores (2.3 s of
``cinder-manage db sync`` and ``rabbitmqctl``, then 3 s until the three services are
up and the scheduler knows the pool, most of it Python imports); add about 1 s in
keystone mode for the registration. Memory: about 0.4 GB PSS (0.65 GB RSS) in six
processes after start, 0.5 GB once a volume was exported (a privsep daemon more).
``timings`` and ``memory()`` say how much it was.
"""

import contextlib
import hashlib
import json
import os
import random
import shlex
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.request
import uuid
from pathlib import Path

HERE = Path(__file__).resolve().parent
REPO = HERE.parents[1]
VENV = Path(os.environ.get("CINDER_VENV", REPO / ".venv-cinder"))
REQUIREMENTS = HERE / "requirements.txt"
CONSTRAINTS = HERE / "constraints.txt"
STARTUP_TIMEOUT = 180.0
RABBIT = os.environ.get("CINDER_RABBIT", "guest:guest@127.0.0.1:5672")

BACKEND = "file"  # the backend section of cinder.conf, and the pool's name
HOST = "sanlink-cinder"  # [DEFAULT] host: services are HOST and HOST@BACKEND
SERVICE_ROLES = ("service", "admin")
TGT_TOOLS = ("tgtd", "tgtadm", "tgt-admin")
SERVICES = ("cinder-api", "cinder-volume", "cinder-scheduler")


class CinderUnavailable(Exception):
    """Cinder cannot be installed here (no PyPI and no venv): a reason to skip."""


class CinderError(RuntimeError):
    """Cinder did not come up, or a volume did not do what was asked."""


def free_port():
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _requirements_sha256():
    h = hashlib.sha256()
    for f in (REQUIREMENTS, CONSTRAINTS):
        h.update(f.read_bytes())
    return h.hexdigest()


def ensure_venv(venv=VENV, log=lambda msg: print(msg, file=sys.stderr)):
    """Creates or updates the Cinder venv when requirements.txt or constraints.txt changed."""
    want = _requirements_sha256()
    stamp = Path(venv) / ".requirements.sha256"
    have = stamp.read_text().strip() if stamp.exists() else None
    if have == want and (Path(venv) / "bin" / "cinder-volume").exists():
        return Path(venv)
    index = os.environ.get("PIP_INDEX_URL", "https://pypi.org/simple").rstrip("/")
    try:
        urllib.request.urlopen(f"{index}/cinder/", timeout=20).close()
    except Exception as exc:  # noqa: BLE001 - any failure means "cannot install"
        raise CinderUnavailable(
            f"PyPI ({index}) is unreachable ({exc}) and {venv} has no Cinder") from exc
    log(f"installing Cinder into {venv} (takes about 30 s)")
    py = Path(venv) / "bin" / "python"
    if not py.exists():
        subprocess.run([os.environ.get("PYTHON", "python3"), "-m", "venv", str(venv)], check=True)
    pip = [str(py), "-m", "pip", "install", "--quiet", "--disable-pip-version-check"]
    subprocess.run([*pip, "--upgrade", "pip"], check=True)
    # requirements.txt says "-c constraints.txt": pip reads it beside requirements.txt.
    subprocess.run([*pip, "-r", str(REQUIREMENTS)], check=True)
    stamp.write_text(want + "\n")
    return Path(venv)


def missing_tools():
    """The system tools the fixture needs and cannot find (tgt; rabbitmqctl)."""
    return [t for t in (*TGT_TOOLS, "rabbitmqctl") if not shutil.which(t, path=_SYSTEM_PATH)]


_SYSTEM_PATH = os.pathsep.join([os.environ.get("PATH", ""), "/usr/sbin", "/usr/bin", "/sbin"])


def _free_tgt_control():
    """A tgtd control port that no socket in /var/run/tgtd uses."""
    used = {p.name.split(".")[1] for p in Path("/var/run/tgtd").glob("socket.*")}
    rnd = random.SystemRandom()
    while True:
        n = rnd.randint(1024, 32767)
        if str(n) not in used:
            return n


def _tool(name):
    return shutil.which(name, path=_SYSTEM_PATH) or name


def _tail(path, lines=40):
    try:
        text = Path(path).read_text(errors="replace").splitlines()
    except OSError:
        return f"--- {path}: (none)"
    return f"--- {path} (last {min(lines, len(text))} of {len(text)} lines):\n" + \
        "\n".join(text[-lines:])


CONF = """[DEFAULT]
host = {host}
state_path = {state}
my_ip = 127.0.0.1
transport_url = rabbit://{rabbit}/{vhost}
auth_strategy = {auth}
api_paste_config = {venv}/etc/cinder/api-paste.ini
rootwrap_config = {venv}/etc/cinder/rootwrap.conf
osapi_volume_listen = 127.0.0.1
osapi_volume_listen_port = {port}
osapi_volume_workers = 1
enabled_backends = {backend}
default_volume_type = __DEFAULT__
# The volume service reports its pool to the scheduler every 5 s, the first time 5 s
# after it starts (by default every 60 s, the first time after 60 to 120 s): a
# scheduler whose start-up request for capabilities came too early for the volume
# service knows the pool that much sooner.
backend_stats_polling_interval = 5
periodic_interval = 5
periodic_fuzzy_delay = 0
graceful_shutdown_timeout = 5
debug = {debug}

[database]
connection = sqlite:///{state}/cinder.sqlite

[oslo_concurrency]
lock_path = {state}/lock

[coordination]
backend_url = file://{state}/lock

[oslo_messaging_notifications]
driver = noop

# As root, processutils runs commands without a root helper; privsep starts its
# daemons with these (oslo.privsep appends the context and socket arguments).
[cinder_sys_admin]
helper_command = {venv}/bin/privsep-helper --config-file {conf}

[privsep_osbrick]
helper_command = {venv}/bin/privsep-helper --config-file {conf}

[{backend}]
volume_backend_name = {backend}
volume_driver = sanlink_file_driver.SparseFileDriver
volume_group = sanlink-{backend}
file_volume_dir = {state}/volumes
file_volume_capacity_gb = {capacity}
volume_clear = none
lvm_type = default
target_helper = tgtadm
target_protocol = iscsi
target_ip_address = {target_ip}
target_port = {iscsi_port}
target_prefix = iqn.2010-10.org.openstack:
volumes_dir = {state}/tgt-targets
"""

# The services' sitecustomize (state_dir/python, first on their PYTHONPATH). oslo.db
# opens every SQLite transaction with a plain (deferred) BEGIN: a transaction that read
# holds a SHARED lock, and when two such transactions both go on to write (an attach
# in cinder-volume and a service heartbeat, say), SQLite cannot wait for either and
# fails one at once with "database is locked". BEGIN IMMEDIATE takes the write lock
# up front, where the busy timeout applies: the services' transactions queue instead.
SQLITE_SHIM = """\
# Written by tests/cinder/cinder_service.py: SQLite transactions start with
# BEGIN IMMEDIATE (see SQLITE_SHIM there), and wait up to 60 s for a lock.
import sqlite3 as _sqlite3
import sqlite3.dbapi2 as _dbapi2


class _Cursor(_sqlite3.Cursor):
    def execute(self, sql, *args):
        if isinstance(sql, str) and sql.strip().upper() == "BEGIN":
            sql = "BEGIN IMMEDIATE"
        return super().execute(sql, *args)


class _Connection(_sqlite3.Connection):
    def cursor(self, factory=_Cursor):
        return super().cursor(factory)

    def execute(self, sql, *args):
        return self.cursor().execute(sql, *args)


_connect = _sqlite3.connect


def connect(*args, **kwargs):
    kwargs.setdefault("factory", _Connection)
    if len(args) < 2:
        kwargs.setdefault("timeout", 60.0)
    return _connect(*args, **kwargs)


_sqlite3.connect = _dbapi2.connect = connect
"""

KEYSTONE_CONF = """
[keystone_authtoken]
www_authenticate_uri = {auth_url}
auth_url = {auth_url}
auth_type = password
username = cinder
password = {password}
project_name = service
user_domain_name = Default
project_domain_name = Default
region_name = RegionOne
service_token_roles_required = true
"""


class Cinder:
    """cinder-api/-volume/-scheduler and a tgtd; state in ``state_dir``."""

    def __init__(self, state_dir, auth="noauth", keystone=None, port=None, iscsi_port=None,
                 tgt_control=None, project_id=None, admin_users=(), capacity_gb=100,
                 venv=VENV, debug=False, rabbit=None, rabbitmqctl=None,
                 rabbitmqctl_env=None, target_ip="127.0.0.1"):
        if auth not in ("noauth", "keystone"):
            raise ValueError(f"auth must be noauth or keystone, not {auth!r}")
        if (auth == "keystone") != (keystone is not None):
            raise ValueError("auth='keystone' needs keystone=<a started Keystone>, and only it")
        self.state = Path(state_dir).resolve()
        self.state.mkdir(parents=True, exist_ok=True)
        self.auth = auth
        self.keystone = keystone
        self.port = port or free_port()
        self.iscsi_port = iscsi_port or free_port()
        # tgtd's control "port" (1-32767, tgtd refuses more): its socket is
        # /var/run/tgtd/socket.<tgt_control>.
        self.tgt_control = tgt_control or _free_tgt_control()
        self._auto_tgt_ports = iscsi_port is None and tgt_control is None
        self.venv = Path(venv)
        self.capacity_gb = capacity_gb
        self.debug = debug
        self.admin_users = tuple(admin_users)
        self.rabbit = rabbit or RABBIT
        self.rabbitmqctl = list(rabbitmqctl) if rabbitmqctl else [_tool("rabbitmqctl")]
        self.rabbitmqctl_env = rabbitmqctl_env
        self.target_ip = target_ip
        # noauth: any hex id (project_id_regex); keystone: the service project's id.
        self.project_id = project_id or uuid.uuid4().hex
        self.noauth_user = "sanlink"
        self.conf = self.state / "cinder.conf"
        self.logs = self.state / "logs"
        self.vhost = f"sanlink-cinder-{uuid.uuid4().hex[:12]}"
        # A restart keeps the first start's settings: same ports, vhost name, project.
        self._saved = self.state / "instance.json"
        if self._saved.exists():
            saved = json.loads(self._saved.read_text())
            self.port, self.iscsi_port = saved["port"], saved["iscsi_port"]
            self.tgt_control, self.vhost = saved["tgt_control"], saved["vhost"]
            self.project_id = saved["project_id"]
            self._auto_tgt_ports = False
        self.base_url = f"http://127.0.0.1:{self.port}"
        self.procs = {}  # name -> Popen (each the leader of its own process group)
        self.timings = {}  # step -> seconds
        self._token = None

    # -- life cycle ---------------------------------------------------------

    @property
    def endpoint(self):
        """The v3 endpoint with the project id in it, as a catalog would give it."""
        return f"{self.base_url}/v3/{self.project_id}"

    def start(self):
        """Sets up the state on the first call, starts everything, waits; returns self."""
        t_all = time.monotonic()
        if not (self.venv / "bin" / "cinder-volume").exists():
            raise CinderUnavailable(f"{self.venv} has no Cinder: call ensure_venv() first")
        missing = missing_tools()
        if missing:
            raise CinderError(f"missing {', '.join(missing)}: run tests/cinder/install-deps.sh "
                              "(apt-get install tgt libiscsi-bin) and have RabbitMQ running")
        if os.geteuid() != 0:
            raise CinderError("the Cinder fixture runs tgtd and needs root")
        try:
            for d in ("logs", "lock", "volumes", "tgt-targets", "bin", "python"):
                (self.state / d).mkdir(exist_ok=True)
            self._start_tgtd()
            self._setup()
            t0 = time.monotonic()
            for name in SERVICES:
                self._spawn(name)
            self._wait("the API", self._api_answers, ("cinder-api",))
            self.timings["api"] = time.monotonic() - t0
            self._wait("cinder-volume and cinder-scheduler to report up", self._services_up,
                       SERVICES)
            self.timings["services_up"] = time.monotonic() - t0
            self._wait(f"the scheduler to know pool {BACKEND}", self._pools, SERVICES)
            self.timings["pool_known"] = time.monotonic() - t0
        except BaseException:
            self.stop()
            raise
        self.timings["start"] = time.monotonic() - t_all
        return self

    def stop(self):
        """Stops every process this instance started and deletes its vhost; keeps the state
        (start() brings it back, volumes and all). Safe to call more than once."""
        t0 = time.monotonic()
        self._stop_groups(SERVICES, signal.SIGTERM, 10)
        self._stop_tgtd()
        # Anything still in one of our process groups (privsep daemons fork away from
        # cinder-volume but stay in its group).
        for name, proc in list(self.procs.items()):
            self._killpg(proc.pid, signal.SIGKILL)
        self.procs.clear()
        if (self.state / "vhost").exists():
            self._rabbitmqctl("-q", "delete_vhost", self.vhost)
            (self.state / "vhost").unlink()
        self._token = None
        self.timings["stop"] = time.monotonic() - t0

    def __enter__(self):
        return self.start()

    def __exit__(self, *exc):
        self.stop()

    # -- set-up -------------------------------------------------------------

    def _setup(self):
        if self.auth == "keystone":
            t0 = time.monotonic()
            self._register_in_keystone()
            self.timings["keystone"] = time.monotonic() - t0
        self._saved.write_text(json.dumps({
            "port": self.port, "iscsi_port": self.iscsi_port, "tgt_control": self.tgt_control,
            "vhost": self.vhost, "project_id": self.project_id}))
        conf = CONF.format(host=HOST, state=self.state, rabbit=self.rabbit, vhost=self.vhost,
                           auth=self.auth, venv=self.venv, port=self.port, backend=BACKEND,
                           debug=str(self.debug).lower(), conf=self.conf,
                           capacity=self.capacity_gb, iscsi_port=self.iscsi_port,
                           target_ip=self.target_ip)
        if self.auth == "keystone":
            conf += KEYSTONE_CONF.format(auth_url=self.keystone.auth_url,
                                         password=self._ks_password("cinder"))
        self.conf.write_text(conf)
        (self.state / "python" / "sitecustomize.py").write_text(SQLITE_SHIM)
        targets = self.state / "tgt-targets.conf"
        targets.write_text(f"include {self.state}/tgt-targets/*\n")
        wrappers = {
            "tgtadm": f'exec {_tool("tgtadm")} -C {self.tgt_control} "$@"\n',
            "tgt-admin": f'exec {_tool("tgt-admin")} -C {self.tgt_control} -c {targets} "$@"\n',
        }
        for name, body in wrappers.items():
            f = self.state / "bin" / name
            f.write_text("#!/bin/sh\n# this fixture's tgtd, not the system's\n" + body)
            f.chmod(0o755)
        # On a restart: the targets of volumes still exported (tgtd keeps nothing).
        if any((self.state / "tgt-targets").iterdir()):
            subprocess.run([str(self.state / "bin" / "tgt-admin"), "--update", "ALL"],
                           capture_output=True, timeout=60)

        # The vhost and the schema do not depend on each other: both at once.
        t0 = time.monotonic()
        jobs = {}
        with open(self.logs / "setup.log", "ab") as out:
            if not (self.state / "vhost").exists():
                ctl = " ".join(shlex.quote(a) for a in self.rabbitmqctl)
                user = self.rabbit.split("@", 1)[0].split(":", 1)[0]
                jobs["rabbitmq vhost"] = subprocess.Popen(
                    ["sh", "-c", f'{ctl} -q add_vhost "$1" && '
                     f'{ctl} -q set_permissions -p "$1" "$2" ".*" ".*" ".*"', "sh", self.vhost,
                     user],
                    stdout=out, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                    env=self.rabbitmqctl_env)
            if not (self.state / "db-synced").exists():
                jobs["cinder-manage db sync"] = subprocess.Popen(
                    [str(self.venv / "bin" / "cinder-manage"), "--config-file", str(self.conf),
                     "db", "sync"], stdout=out, stderr=subprocess.STDOUT,
                    stdin=subprocess.DEVNULL, cwd=self.state, env=self._env())
            codes = {}
            for what, proc in jobs.items():
                try:
                    codes[what] = proc.wait(timeout=STARTUP_TIMEOUT)
                except subprocess.TimeoutExpired:
                    proc.kill()
                    codes[what] = "timeout"
        if "rabbitmq vhost" in codes:
            # Made, or half made: either way stop() deletes it.
            (self.state / "vhost").write_text(self.vhost + "\n")
        failed = [f"{what} (exit {rc})" for what, rc in codes.items() if rc != 0]
        if failed:
            raise CinderError(f"{' and '.join(failed)} failed\n{_tail(self.logs / 'setup.log')}")
        (self.state / "db-synced").touch()
        self.timings["setup"] = time.monotonic() - t0

    def _env(self):
        return {**os.environ,
                "PATH": f"{self.state / 'bin'}{os.pathsep}{self.venv / 'bin'}{os.pathsep}"
                        f"{_SYSTEM_PATH}",
                "PYTHONPATH": f"{self.state / 'python'}{os.pathsep}{HERE}"}

    def _spawn(self, name, argv=None):
        argv = argv or [str(self.venv / "bin" / name), "--config-file", str(self.conf),
                        "--log-file", str(self.logs / f"{name}.log")]
        with open(self.logs / f"{name}.out", "ab") as out:
            self.procs[name] = subprocess.Popen(
                argv, stdout=out, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                cwd=self.state, env=self._env(), start_new_session=True)

    def _wait(self, what, ready, names, timeout=STARTUP_TIMEOUT):
        deadline = time.monotonic() + timeout
        last = None
        while time.monotonic() < deadline:
            dead = [n for n in names if self.procs[n].poll() is not None]
            if dead:
                last = f"{', '.join(dead)} exited (code {self.procs[dead[0]].returncode})"
                break
            try:
                if ready():
                    return
            except CinderError:
                raise
            except Exception as exc:  # noqa: BLE001 - not ready yet; say why at the end
                last = f"{type(exc).__name__}: {exc}"
            time.sleep(0.25)
        # The logs of a process that exited first: they say why.
        names = sorted(names, key=lambda n: self.procs[n].poll() is None)
        logs = "\n".join(_tail(self.logs / f"{n}{ext}", 25) for n in names
                         for ext in (".log", ".out"))
        raise CinderError(f"Cinder at {self.base_url}: gave up waiting for {what} "
                          f"({last or f'{timeout:.0f} s'}); state in {self.state}\n{logs}")

    def _api_answers(self):
        import requests

        return requests.get(self.base_url + "/", timeout=2).status_code in (200, 300)

    def _services_up(self):
        r = self.request("GET", "/os-services", timeout=10)
        r.raise_for_status()
        up = {s["binary"] for s in r.json()["services"] if s["state"] == "up"}
        return {"cinder-volume", "cinder-scheduler"} <= up

    def _pools(self):
        # An RPC call to the scheduler: sent before its queue exists, it is lost and the
        # API answers only after rpc_response_timeout (60 s). Hence the short timeout.
        r = self.request("GET", "/scheduler-stats/get_pools", timeout=5)
        r.raise_for_status()
        return bool(r.json()["pools"])

    def _rabbitmqctl(self, *args):
        return subprocess.run([*self.rabbitmqctl, *args], capture_output=True, text=True,
                              timeout=60, env=self.rabbitmqctl_env)

    # -- tgtd ---------------------------------------------------------------

    def _tgtadm(self, *args, timeout=30):
        return subprocess.run([_tool("tgtadm"), "-C", str(self.tgt_control), *args],
                              capture_output=True, text=True, timeout=timeout)

    def _start_tgtd(self):
        """Our tgtd; with ports of our choosing, new ones when another process took them
        in the meantime (tgtd then exits at once)."""
        t0 = time.monotonic()
        for attempt in range(1, 4):
            sock = Path(f"/var/run/tgtd/socket.{self.tgt_control}")
            if sock.exists() and self._tgtadm("--op", "show", "--mode", "sys").returncode == 0:
                raise CinderError(f"a tgtd that is not ours answers on {sock}")
            sock.parent.mkdir(parents=True, exist_ok=True)
            self._spawn("tgtd", [_tool("tgtd"), "-f", "-C", str(self.tgt_control),
                                 "--iscsi", f"portal=127.0.0.1:{self.iscsi_port}"])
            try:
                self._wait(f"tgtd (control socket {sock}, portal 127.0.0.1:{self.iscsi_port})",
                           self._tgtd_ready, ("tgtd",), timeout=30)
                break
            except CinderError:
                self._stop_tgtd()
                if not self._auto_tgt_ports or attempt == 3:
                    raise
                self.iscsi_port, self.tgt_control = free_port(), _free_tgt_control()
        self.timings["tgtd"] = time.monotonic() - t0

    def _tgtd_ready(self):
        if self._tgtadm("--op", "show", "--mode", "sys").returncode != 0:
            return False
        # A tgtd that cannot bind its portal says so in its log and serves on without.
        portals = self._tgtadm("--lld", "iscsi", "--op", "show", "--mode", "portal").stdout
        if f"Portal: 127.0.0.1:{self.iscsi_port}," not in portals:
            raise CinderError(f"tgtd has no portal 127.0.0.1:{self.iscsi_port} (port taken?)\n"
                              f"{_tail(self.logs / 'tgtd.out', 10)}")
        return True

    def _stop_tgtd(self):
        proc = self.procs.get("tgtd")
        if proc is None:
            return
        try:
            if proc.poll() is None:  # only then is the socket ours
                out = self._tgtadm("--lld", "iscsi", "--op", "show", "--mode", "target").stdout
                for line in out.splitlines():
                    if line.startswith("Target ") and ":" in line:
                        tid = line.split()[1].rstrip(":")
                        self._tgtadm("--lld", "iscsi", "--op", "delete", "--force", "--mode",
                                     "target", "--tid", tid)
                self._tgtadm("--op", "delete", "--mode", "system")  # tgtd ignores SIGTERM
                proc.wait(timeout=5)
        except (subprocess.TimeoutExpired, OSError):
            pass
        self._stop_groups(("tgtd",), signal.SIGKILL, 5)
        for suffix in ("", ".lock"):
            Path(f"/var/run/tgtd/socket.{self.tgt_control}{suffix}").unlink(missing_ok=True)

    # -- processes ----------------------------------------------------------

    @staticmethod
    def _killpg(pgid, sig):
        try:
            os.killpg(pgid, sig)
        except (ProcessLookupError, PermissionError):
            pass

    def _group_pids(self, pgid):
        pids = []
        for d in Path("/proc").iterdir():
            if d.name.isdigit():
                try:
                    # /proc/PID/stat: "pid (comm) state ppid pgrp ..."; comm may hold spaces.
                    fields = (d / "stat").read_text().rsplit(")", 1)[1].split()
                except OSError:
                    continue
                if int(fields[2]) == pgid and fields[0] != "Z":
                    pids.append(int(d.name))
        return pids

    def _stop_groups(self, names, sig, timeout):
        """Sends ``sig`` to the process groups of ``names`` (each process we started leads
        one, and what it forks stays in it), waits up to ``timeout`` for them to empty,
        then SIGKILLs what is left."""
        procs = {n: self.procs[n] for n in names if n in self.procs}
        for proc in procs.values():
            self._killpg(proc.pid, sig)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline and any(
                p.poll() is None or self._group_pids(p.pid) for p in procs.values()):
            time.sleep(0.1)
        for name, proc in procs.items():
            self._killpg(proc.pid, signal.SIGKILL)
            try:
                proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                pass
            self.procs.pop(name, None)

    def pids(self):
        """Every live process this instance started, by name: {name: [pid, ...]}."""
        return {name: self._group_pids(p.pid) for name, p in self.procs.items()}

    def leftovers(self):
        """What is left of this instance after stop(): live processes, tgtd's socket, the
        vhost; [] when nothing."""
        left = [f"{name}: pids {pids}" for name, pids in self.pids().items() if pids]
        sock = Path(f"/var/run/tgtd/socket.{self.tgt_control}")
        if sock.exists():
            left.append(f"tgtd socket {sock}")
        vhosts = self._rabbitmqctl("-q", "list_vhosts").stdout.split()
        if self.vhost in vhosts:
            left.append(f"RabbitMQ vhost {self.vhost}")
        return left

    def memory(self):
        """Memory of our processes in KiB, {name: {"rss": .., "pss": ..}} and "total"
        (RSS counts pages shared between forked workers once per process, PSS shares
        them out)."""
        out = {}
        for name, pids in self.pids().items():
            rss = pss = 0
            for pid in pids:
                try:
                    for line in Path(f"/proc/{pid}/smaps_rollup").read_text().splitlines():
                        key, _, rest = line.partition(":")
                        if key in ("Rss", "Pss"):
                            kb = int(rest.split()[0])
                            rss, pss = (rss + kb, pss) if key == "Rss" else (rss, pss + kb)
                except (OSError, ValueError):
                    continue
            out[name] = {"rss": rss, "pss": pss, "processes": len(pids)}
        out["total"] = {k: sum(v[k] for v in out.values()) for k in ("rss", "pss", "processes")}
        return out

    # -- Keystone -------------------------------------------------------------

    @staticmethod
    def _ks_password(user):
        return f"sanlink-{user}"  # keystone_service.password()

    def _register_in_keystone(self):
        """User cinder (service + admin on project service), the block-storage and volumev3
        services and their endpoints; idempotent. Through Keystone's REST API as the
        bootstrap admin on the system (Keystone.issue is the only part of its fixture used)."""
        import requests

        ks = self.keystone
        admin = ks.issue("admin")[0]
        h = {"X-Auth-Token": admin}

        def call(method, path, body=None, ok=(200, 201, 204)):
            r = requests.request(method, ks.auth_url + path, json=body, headers=h, timeout=30)
            if r.status_code not in ok:
                raise CinderError(f"Keystone {method} {path}: HTTP {r.status_code} {r.text}")
            return r.json() if r.content else None

        def ensure(kind, singular, body, **query):
            q = "&".join(f"{k}={v}" for k, v in query.items())
            found = call("GET", f"/{kind}?{q}")[kind]
            if found:
                return found[0]["id"]
            return call("POST", f"/{kind}", {singular: body})[singular]["id"]

        domain = call("GET", "/domains?name=Default")["domains"][0]["id"]
        project = ensure("projects", "project", {"name": "service", "domain_id": domain},
                         name="service", domain_id=domain)
        roles = {r: ensure("roles", "role", {"name": r}, name=r) for r in SERVICE_ROLES}
        user = ensure("users", "user", {"name": "cinder", "domain_id": domain,
                                         "password": self._ks_password("cinder"),
                                         "default_project_id": project},
                      name="cinder", domain_id=domain)
        for role in roles.values():
            call("PUT", f"/projects/{project}/users/{user}/roles/{role}")
        for other in self.admin_users:
            found = call("GET", f"/users?name={other}&domain_id={domain}")["users"]
            if not found:
                raise CinderError(f"admin_users: no user {other} in Keystone")
            call("PUT", f"/projects/{project}/users/{found[0]['id']}/roles/{roles['admin']}")
        url = f"{self.base_url}/v3/%(project_id)s"
        for name, stype in (("cinder", "block-storage"), ("cinderv3", "volumev3")):
            service = ensure("services", "service",
                             {"name": name, "type": stype, "description": "Block Storage"},
                             type=stype)
            have = {e["interface"]: e for e in
                    call("GET", f"/endpoints?service_id={service}")["endpoints"]}
            for iface in ("public", "internal", "admin"):
                if iface not in have:
                    call("POST", "/endpoints", {"endpoint": {
                        "service_id": service, "interface": iface, "url": url,
                        "region_id": "RegionOne"}})
                elif have[iface]["url"] != url:
                    call("PATCH", f"/endpoints/{have[iface]['id']}", {"endpoint": {"url": url}})
        self.project_id = project
        self.keystone_ids = {"project": project, "user": user, "roles": roles,
                             "domain": domain}

    def token(self, user="cinder", project="service"):
        """A Keystone token (keystone mode) for ``user`` on ``project``."""
        return self.keystone.issue(user, project)[0]

    # -- the API ------------------------------------------------------------

    def settings(self):
        """What a client needs to reach this Cinder."""
        s = {"auth": self.auth, "endpoint": self.endpoint, "base_url": self.base_url,
             "project_id": self.project_id, "iscsi_portal": f"{self.target_ip}:{self.iscsi_port}",
             "iscsi_listen": f"127.0.0.1:{self.iscsi_port}",
             "tgt_control_port": self.tgt_control, "state": str(self.state),
             "rabbit_vhost": self.vhost, "backend": BACKEND, "pool": f"{HOST}@{BACKEND}#{BACKEND}"}
        if self.auth == "noauth":
            token = f"{self.noauth_user}:{self.project_id}"
            s.update(token=token, headers={"X-Auth-Token": token})
        else:
            s.update(endpoint_template=f"{self.base_url}/v3/%(project_id)s",
                     service_types=["block-storage", "volumev3"], region="RegionOne",
                     auth_url=self.keystone.auth_url, username="cinder",
                     password=self._ks_password("cinder"), project_name="service",
                     user_domain_name="Default", project_domain_name="Default")
        return s

    def headers(self):
        if self.auth == "noauth":
            return {"X-Auth-Token": f"{self.noauth_user}:{self.project_id}"}
        if self._token is None:
            self._token = self.token()
        return {"X-Auth-Token": self._token}

    def request(self, method, path, json=None, headers=None, **kw):
        """An API call as this fixture's own user (noauth: an admin; keystone: cinder);
        ``path`` is relative to the endpoint (``/volumes``)."""
        import requests

        kw.setdefault("timeout", 60)
        for _ in range(2):
            r = requests.request(method, self.endpoint + path, json=json,
                                 headers={**self.headers(), **(headers or {})}, **kw)
            if r.status_code != 401 or self.auth == "noauth":
                return r
            self._token = None  # expired: once more with a new one
        return r

    def action(self, volume_id, name, body=None):
        """POST /volumes/{id}/action {name: body}; returns the response."""
        return self.request("POST", f"/volumes/{volume_id}/action", {name: body})

    def create_volume(self, size_gb=1, name=None, timeout=120, **extra):
        """Creates a volume of ``size_gb`` GiB, waits until it is available; its id."""
        body = {"size": size_gb, "name": name or f"sanlink-{uuid.uuid4().hex[:8]}", **extra}
        r = self.request("POST", "/volumes", {"volume": body})
        if r.status_code != 202:
            raise CinderError(f"create volume: HTTP {r.status_code} {r.text}")
        vid = r.json()["volume"]["id"]
        self.wait_status(vid, "available", timeout)
        return vid

    def volume(self, volume_id):
        """GET /volumes/{id}: the volume's JSON (the "volume" object)."""
        r = self.request("GET", f"/volumes/{volume_id}")
        if r.status_code != 200:
            raise CinderError(f"show volume {volume_id}: HTTP {r.status_code} {r.text}")
        return r.json()["volume"]

    def wait_status(self, volume_id, status, timeout=120):
        """Polls until the volume has ``status`` ("deleted": until it is gone); its JSON."""
        deadline = time.monotonic() + timeout
        seen = None
        while True:
            r = self.request("GET", f"/volumes/{volume_id}")
            if r.status_code == 404 and status == "deleted":
                return None
            if r.status_code != 200:
                raise CinderError(f"show volume {volume_id}: HTTP {r.status_code} {r.text}")
            vol = r.json()["volume"]
            seen = vol["status"]
            if seen == status:
                return vol
            if seen.startswith("error") and not status.startswith("error"):
                raise CinderError(f"volume {volume_id} went to {seen}, not {status}\n"
                                  f"{_tail(self.logs / 'cinder-volume.log')}\n"
                                  f"{_tail(self.logs / 'cinder-scheduler.log', 15)}")
            if time.monotonic() > deadline:
                raise CinderError(f"volume {volume_id} not {status} after {timeout} s "
                                  f"(still {seen})")
            time.sleep(0.2)

    def delete_volume(self, volume_id, force=False, timeout=120):
        """Deletes a volume and waits until it is gone. ``force``: first set it back to
        available and detached (os-reset_status), whatever it was doing."""
        if force:
            r = self.action(volume_id, "os-reset_status",
                            {"status": "available", "attach_status": "detached"})
            if r.status_code not in (202, 404):
                raise CinderError(f"reset volume {volume_id}: HTTP {r.status_code} {r.text}")
        r = self.request("DELETE", f"/volumes/{volume_id}")
        if r.status_code == 404:
            return
        if r.status_code != 202:
            raise CinderError(f"delete volume {volume_id}: HTTP {r.status_code} {r.text}")
        self.wait_status(volume_id, "deleted", timeout)

    def backing_file(self, volume_id):
        """The sparse file that holds the volume's bytes (it exists once it is available)."""
        return self.state / "volumes" / f"volume-{volume_id}"

    def tgt_show(self):
        """tgtadm's view of this tgtd's targets (text)."""
        return self._tgtadm("--lld", "iscsi", "--op", "show", "--mode", "target").stdout


@contextlib.contextmanager
def running(state_dir, **kwargs):
    """A started Cinder (``Cinder(state_dir, **kwargs)``, its venv made first if need
    be), stopped afterwards. Raises ``CinderUnavailable`` when Cinder cannot be
    installed, and ``CinderError`` when something of it is left running after the stop."""
    ensure_venv()
    with Cinder(state_dir, **kwargs) as cd:
        yield cd
    left = cd.leftovers()
    if left:
        raise CinderError(f"left running after the stop: {left}")


def main(argv):
    """``ensure-venv``: exit 0 when the venv is ready, 3 (and a reason) when it cannot be.
    ``serve STATE [noauth|keystone]``: a Cinder for trying things by hand (keystone: with
    a Keystone of tests/keystone in STATE/keystone), its settings as JSON, until Ctrl-C."""
    if argv[:1] == ["ensure-venv"]:
        try:
            ensure_venv()
        except CinderUnavailable as exc:
            print(exc)
            return 3
        return 0
    if argv[:1] == ["serve"] and len(argv) >= 2:
        auth = argv[2] if len(argv) > 2 else "noauth"
        ensure_venv()
        state = Path(argv[1])
        ks = None
        if auth == "keystone":
            sys.path.insert(0, str(HERE.parent / "keystone"))
            import keystone_service

            keystone_service.ensure_venv()
            ks = keystone_service.Keystone(state / "keystone").start()
        cd = Cinder(state / "cinder", auth=auth, keystone=ks,
                    port=int(os.environ.get("CINDER_PORT", 0)) or None,
                    iscsi_port=int(os.environ.get("ISCSI_PORT", 0)) or None)
        def interrupted(*_):
            raise KeyboardInterrupt

        signal.signal(signal.SIGTERM, interrupted)
        try:
            cd.start()
            print(json.dumps({"settings": cd.settings(), "timings": cd.timings,
                              "memory_kib": cd.memory()}, indent=1), flush=True)
            while all(p.poll() is None for p in cd.procs.values()):
                time.sleep(1)
            print("a Cinder process exited; stopping", file=sys.stderr)
            return 1
        except KeyboardInterrupt:
            return 0
        finally:
            cd.stop()
            if ks:
                ks.stop()
    print(main.__doc__, file=sys.stderr)
    return 2


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
