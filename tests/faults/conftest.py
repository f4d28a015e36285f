"""A production topology to break: one api-gateway and two conductors over RabbitMQ on
a fresh PostgreSQL (or MariaDB) database, with short heartbeats so that takeover
happens within seconds. Binaries come from target/debug (scripts/test.sh builds them).

Environment: TEST_FAULTS_DATABASE (postgres, default, or mysql), TEST_PG_URL,
TEST_MYSQL_URL, TEST_AMQP_URL.
"""

import os
import shutil
import signal
import socket
import subprocess
import time
import uuid
from pathlib import Path

import pytest
import requests

REPO = Path(__file__).resolve().parents[2]
HEADERS = {"X-OpenStack-Ironic-API-Version": "1.46"}
HEARTBEAT_INTERVAL = 0.5
HEARTBEAT_TIMEOUT = 2.0
RPC_TIMEOUT = 8.0


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def fresh_database(name):
    """Creates an empty database; returns its URL."""
    kind = os.environ.get("TEST_FAULTS_DATABASE", "postgres")
    if kind == "mysql":
        server = os.environ.get("TEST_MYSQL_URL", "mysql://root@127.0.0.1:3306/").rstrip("/")
        sql = f"DROP DATABASE IF EXISTS {name}; CREATE DATABASE {name};"
        subprocess.run(["mariadb", "-h", "127.0.0.1", "-u", "root", "-e", sql], check=True)
        return f"{server}/{name}"
    server = os.environ.get("TEST_PG_URL", "postgres://postgres@127.0.0.1:5432/").rstrip("/")
    for sql in (f"DROP DATABASE IF EXISTS {name}", f"CREATE DATABASE {name}"):
        subprocess.run(
            ["psql", "-q", "-h", "127.0.0.1", "-U", "postgres", "-d", "postgres", "-c", sql],
            check=True,
        )
    return f"{server}/{name}"


class Cluster:
    def __init__(self, workdir, db_url=None):
        self.workdir = workdir
        self.db_url = db_url or fresh_database("sanlink_faults")
        self.port = free_port()
        self.base = f"http://127.0.0.1:{self.port}"
        self.env = {k: v for k, v in os.environ.items() if not k.startswith("SANLINK_")}
        self.env.update(
            NO_COLOR="1",
            SANLINK_DATABASE_URL=self.db_url,
            SANLINK_AMQP_URL=os.environ.get(
                "TEST_AMQP_URL", "amqp://guest:guest@127.0.0.1:5672/%2f"
            ),
            SANLINK_AMQP_PREFIX=f"sanlink-faults-{uuid.uuid4().hex[:8]}",
            SANLINK_LISTEN=f"127.0.0.1:{self.port}",
            # Several conductors share this host: each boot server takes a free port.
            SANLINK_BOOT_LISTEN="127.0.0.1:0",
            SANLINK_RPC_TIMEOUT=str(RPC_TIMEOUT),
            SANLINK_HEARTBEAT_INTERVAL=str(HEARTBEAT_INTERVAL),
            SANLINK_HEARTBEAT_TIMEOUT=str(HEARTBEAT_TIMEOUT),
            SANLINK_NODE_LOCKED_RETRY_INTERVAL="0.2",
        )
        self.procs = {}

    def spawn(self, name, binary, preexec_fn=None, **extra):
        log = open(self.workdir / f"{name}.log", "ab")
        self.procs[name] = subprocess.Popen(
            [str(REPO / "target" / "debug" / binary)],
            env={**self.env, **extra}, stdout=log, stderr=subprocess.STDOUT,
            preexec_fn=preexec_fn,
        )

    def wait_log(self, name, text, timeout=30):
        deadline = time.monotonic() + timeout
        path = self.workdir / f"{name}.log"
        while time.monotonic() < deadline:
            if path.exists() and text in path.read_text(errors="replace"):
                return
            assert self.procs[name].poll() is None, f"{name} exited; see {path}"
            time.sleep(0.1)
        raise AssertionError(f"{name} did not log {text!r}")

    def start(self):
        for name in ("c1", "c2"):
            self.spawn(name, "conductor", SANLINK_CONDUCTOR_HOSTNAME=name)
            self.wait_log(name, "conductor serving")
        self.spawn("gateway", "api-gateway")
        self.wait_log("gateway", "api-gateway serving")

    def kill(self, name):
        self.procs[name].send_signal(signal.SIGKILL)
        self.procs[name].wait()

    def stop(self):
        for p in self.procs.values():
            if p.poll() is None:
                p.terminate()
        for p in self.procs.values():
            try:
                p.wait(timeout=15)
            except subprocess.TimeoutExpired:
                p.kill()

    def logs(self):
        return "\n".join(
            f"----- {p.name} -----\n{p.read_text(errors='replace')[-6000:]}"
            for p in sorted(self.workdir.glob("*.log"))
        )

    # --- API helpers ---
    def call(self, method, path, **kw):
        return requests.request(method, self.base + path, headers=HEADERS, timeout=RPC_TIMEOUT + 5, **kw)

    def ready_call(self, method, path, timeout=20, **kw):
        """Retries 503s until the service answers: conductors may still be joining."""
        deadline = time.monotonic() + timeout
        while True:
            r = self.call(method, path, **kw)
            if r.status_code != 503 or time.monotonic() > deadline:
                return r
            time.sleep(0.2)


@pytest.fixture
def cluster(tmp_path, request):
    c = Cluster(tmp_path)
    c.start()
    yield c
    c.stop()
    if request.node.rep_call.failed if hasattr(request.node, "rep_call") else False:
        print(c.logs())


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item, call):
    outcome = yield
    rep = outcome.get_result()
    setattr(item, "rep_" + rep.when, rep)
