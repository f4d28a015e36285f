"""The conductors' database connections cut while they work on nodes: PostgreSQL
backends ended with pg_terminate_backend, MariaDB connections with KILL, only those of
this test's own database. Afterwards no node stays locked for longer than a few
heartbeat intervals, although the conductors never stop heart-beating (the heartbeat
timeout is long, so no takeover hides a leaked lock), writes succeed again, none is
applied twice, and a lock still in use is not released early.

Backend: TEST_FAULTS_DATABASE (postgres, default, or mysql), as in conftest.py.
"""

import os
import socket
import subprocess
import threading
import time
import uuid

import pytest

from conftest import HEARTBEAT_INTERVAL, RPC_TIMEOUT, Cluster

KIND = os.environ.get("TEST_FAULTS_DATABASE", "postgres")
# Long enough that no conductor is taken for dead during the test.
HEARTBEAT_TIMEOUT = 60
# How long each cut lasts: every connection made meanwhile is ended too.
CUT = 3.0
# After the database is back, idle locks must be gone within this long.
UNLOCKED_WITHIN = 4 * HEARTBEAT_INTERVAL + 1.0


def sql(statement, database=None):
    """Runs `statement` with the servers' command-line clients; returns its output."""
    if KIND == "mysql":
        cmd = ["mariadb", "-h", "127.0.0.1", "-u", "root", "-N", "-B", "-e", statement]
    else:
        cmd = ["psql", "-q", "-A", "-t", "-h", "127.0.0.1", "-U", "postgres",
               "-d", database or "postgres", "-c", statement]
    return subprocess.run(cmd, check=True, capture_output=True, text=True, timeout=30).stdout


def server_url():
    if KIND == "mysql":
        return os.environ.get("TEST_MYSQL_URL", "mysql://root@127.0.0.1:3306/").rstrip("/")
    return os.environ.get("TEST_PG_URL", "postgres://postgres@127.0.0.1:5432/").rstrip("/")


def cut_connections(name):
    """Ends every connection to database `name` (and only to it)."""
    if KIND == "mysql":
        ids = sql(f"SELECT id FROM information_schema.processlist "
                  f"WHERE db = '{name}' AND id <> CONNECTION_ID()").split()
        for id_ in ids:
            try:
                sql(f"KILL {int(id_)}")
            except subprocess.CalledProcessError:
                pass  # gone meanwhile
    else:
        sql(f"SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
            f"WHERE datname = '{name}' AND pid <> pg_backend_pid()")


def cut_for(name, seconds):
    """Keeps cutting `name`'s connections for `seconds`, as an outage would."""
    end = time.monotonic() + seconds
    while time.monotonic() < end:
        cut_connections(name)
        time.sleep(0.1)


@pytest.fixture
def cut_cluster(tmp_path, request):
    name = f"sanlink_cuts_{uuid.uuid4().hex[:12]}"
    if KIND == "mysql":
        sql(f"CREATE DATABASE {name} CHARACTER SET utf8mb4 COLLATE utf8mb4_bin")
    else:
        sql(f"CREATE DATABASE {name}")
    c = Cluster(tmp_path, db_url=f"{server_url()}/{name}")
    c.db_name = name
    c.env["SANLINK_HEARTBEAT_TIMEOUT"] = str(HEARTBEAT_TIMEOUT)
    c.start()
    yield c
    c.stop()
    if getattr(request.node, "rep_call", None) and request.node.rep_call.failed:
        print(c.logs())
    force = "" if KIND == "mysql" else " WITH (FORCE)"
    sql(f"DROP DATABASE IF EXISTS {name}{force}")


def make_nodes(cluster, count, **body):
    made = []
    for _ in range(count):
        r = cluster.ready_call("POST", "/v1/nodes", json={"driver": "fake-hardware", **body})
        assert r.status_code == 201, r.text
        made.append(r.json()["uuid"])
    return made


def reservations(cluster, nodes):
    listed = cluster.ready_call("GET", "/v1/nodes/detail").json()["nodes"]
    return {n["uuid"]: n["reservation"] for n in listed if n["uuid"] in nodes}


def wait_unlocked(cluster, nodes, within):
    """The nodes still locked once `within` seconds have passed (or none, earlier)."""
    deadline = time.monotonic() + within
    while True:
        held = {u: h for u, h in reservations(cluster, nodes).items() if h}
        if not held or time.monotonic() > deadline:
            return held
        time.sleep(0.1)


def test_cut_connections_leave_no_node_locked_and_apply_no_write_twice(cut_cluster):
    cluster = cut_cluster
    nodes = make_nodes(cluster, 16, extra={"log": []})
    results = []  # (node, entry or None, status)
    lock = threading.Lock()
    stop = threading.Event()

    def writer(w):
        n = 0
        while not stop.is_set():
            n += 1
            node = nodes[(w + n) % len(nodes)]
            if n % 3:
                # Node-locked work in one transaction; applied twice, the entry shows twice.
                entry = f"w{w}-{n}"
                patch = [{"op": "add", "path": "/extra/log/-", "value": entry}]
                r = cluster.call("PATCH", f"/v1/nodes/{node}", json=patch)
            else:
                # Node-locked work outside a transaction (a power action).
                entry = None
                target = "power on" if n % 2 else "power off"
                r = cluster.call("PUT", f"/v1/nodes/{node}/states/power", json={"target": target})
            with lock:
                results.append((node, entry, r.status_code))

    threads = [threading.Thread(target=writer, args=(w,)) for w in range(8)]
    for t in threads:
        t.start()
    time.sleep(1.0)
    for _ in range(3):
        cut_for(cluster.db_name, CUT)
        time.sleep(1.0)
    stop.set()
    for t in threads:
        t.join(timeout=RPC_TIMEOUT + 10)

    counts = {}
    for _, _, s in results:
        counts[s] = counts.get(s, 0) + 1
    print("statuses", sorted(counts.items()))
    assert counts.get(200), "no write succeeded"
    assert set(counts) <= {200, 202, 409, 503}, counts

    held = wait_unlocked(cluster, nodes, UNLOCKED_WITHIN)
    assert not held, f"still locked {UNLOCKED_WITHIN} s after the database came back: {held}"

    # Every node takes writes again.
    for node in nodes:
        r = cluster.call("PATCH", f"/v1/nodes/{node}",
                         json=[{"op": "add", "path": "/extra/after", "value": True}])
        assert r.status_code == 200, (node, r.status_code, r.text)

    # Nothing applied twice, nothing acknowledged lost.
    for node in nodes:
        log = cluster.call("GET", f"/v1/nodes/{node}").json()["extra"]["log"]
        twice = {e for e in log if log.count(e) > 1}
        assert not twice, (node, twice)
        acknowledged = {e for n, e, s in results if n == node and e and s == 200}
        assert acknowledged <= set(log), (node, acknowledged - set(log))


class StalledBmc:
    """A BMC that accepts connections and never answers, until closed."""

    def __init__(self):
        self.listener = socket.socket()
        self.listener.bind(("127.0.0.1", 0))
        self.listener.listen()
        self.port = self.listener.getsockname()[1]
        self.held = []
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self):
        while True:
            try:
                conn, _ = self.listener.accept()
            except OSError:
                return
            self.held.append(conn)

    def close(self):
        self.listener.close()
        for conn in self.held:
            conn.close()


def test_a_lock_in_use_is_kept_through_a_cut(cut_cluster):
    cluster = cut_cluster
    bmc = StalledBmc()
    try:
        node, = make_nodes(cluster, 1, driver="redfish", driver_info={
            "redfish_address": f"http://127.0.0.1:{bmc.port}",
            "redfish_system_id": "/redfish/v1/Systems/1",
        })
        # The power action waits for the BMC with the node locked, past the RPC
        # timeout (the client gets 503 meanwhile; the conductor works on).
        power = threading.Thread(target=cluster.call, args=(
            "PUT", f"/v1/nodes/{node}/states/power"), kwargs={"json": {"target": "power on"}})
        power.start()
        deadline = time.monotonic() + 10
        while not (holder := reservations(cluster, [node])[node]):
            assert time.monotonic() < deadline, "the power action never locked the node"
            time.sleep(0.1)

        cut_for(cluster.db_name, CUT)
        # Sweeps run every heartbeat interval: give them several.
        time.sleep(4 * HEARTBEAT_INTERVAL)
        assert reservations(cluster, [node])[node] == holder, "a lock in use was released"
        r = cluster.call("PATCH", f"/v1/nodes/{node}",
                         json=[{"op": "add", "path": "/extra/k", "value": 1}])
        assert r.status_code == 409, r.text
    finally:
        bmc.close()
    # The BMC call fails at once now; the action ends and releases the node.
    held = wait_unlocked(cluster, [node], 10)
    assert not held, held
    power.join(timeout=RPC_TIMEOUT + 5)
    got = cluster.call("GET", f"/v1/nodes/{node}").json()
    assert got["last_error"], got
