"""A PostgreSQL restart under load, on a private server (private_postgres.py): during
the outage the API answers 503 quickly (no hang, no 500, no stack trace), it recovers by
itself, and every write it acknowledged is there afterwards.

The database here is always the private PostgreSQL, whatever TEST_FAULTS_DATABASE
says; scripts/test.sh runs this file in its PostgreSQL fault step only.
"""

import threading
import time

import pytest

from conftest import RPC_TIMEOUT, Cluster, free_port
from private_postgres import PrivatePostgres

# Longer than the 5 s the connection pool waits, so that requests in the outage fail.
OUTAGE = 8.0
# A request must end within this long, outage or not: the pool waits 5 s for a
# connection, a conductor call at most RPC_TIMEOUT.
LONGEST = RPC_TIMEOUT + 7.0


@pytest.fixture
def postgres():
    pg = PrivatePostgres(free_port())
    pg.start()
    yield pg
    pg.destroy()


@pytest.fixture
def pg_cluster(tmp_path, postgres, request):
    c = Cluster(tmp_path, db_url=postgres.url)
    c.start()
    yield c
    c.stop()
    if getattr(request.node, "rep_call", None) and request.node.rep_call.failed:
        print(c.logs())
        print(postgres.log.read_text(errors="replace")[-4000:])


def test_a_postgres_restart_gives_503s_recovers_and_loses_no_acknowledged_write(
    pg_cluster, postgres
):
    cluster = pg_cluster
    r = cluster.ready_call("POST", "/v1/nodes", json={"driver": "fake-hardware"})
    assert r.status_code == 201, r.text
    node = r.json()["uuid"]

    results = []  # (started, elapsed, op, status, body, connector_id)
    lock = threading.Lock()
    stop = threading.Event()

    def worker(w):
        i = 0
        while not stop.is_set():
            i += 1
            cid = f"iqn.pg-restart:{w}-{i}"
            started = time.monotonic()
            if i % 2:
                op = "create"
                resp = cluster.call("POST", "/v1/volume/connectors",
                                    json={"node_uuid": node, "type": "iqn", "connector_id": cid})
            else:
                op = "list"
                resp = cluster.call("GET", "/v1/volume/connectors?limit=5")
            with lock:
                results.append((started, time.monotonic() - started, op, resp.status_code,
                                resp.text, cid))
            time.sleep(0.02)

    threads = [threading.Thread(target=worker, args=(w,)) for w in range(4)]
    for t in threads:
        t.start()
    time.sleep(1.5)
    outage_start = time.monotonic()
    postgres.stop("immediate")
    time.sleep(OUTAGE)
    postgres.start()
    outage_end = time.monotonic()

    # Recovers by itself: a write succeeds again without anyone restarting sanlink.
    deadline = time.monotonic() + 30
    recovered = None
    while time.monotonic() < deadline:
        with lock:
            recovered = next((r for r in results if r[0] > outage_end and r[3] == 201), None)
        if recovered:
            break
        time.sleep(0.2)
    time.sleep(1.0)
    stop.set()
    for t in threads:
        t.join(timeout=LONGEST + 5)

    statuses = sorted({r[3] for r in results})
    counts = {s: sum(1 for r in results if r[3] == s) for s in statuses}
    print(f"{len(results)} requests; statuses {counts}")
    assert recovered, f"no write succeeded within 30 s after the restart: {counts}"
    assert set(statuses) <= {200, 201, 503}, [r[2:5] for r in results if r[3] not in (200, 201, 503)][:5]
    # Each worker waits out a request that meets the outage (the pool's 5 s, or the RPC
    # deadline), so few start inside it: those that do, or that began as it began,
    # must include 503s, and nothing may succeed while the database is down.
    during = [r for r in results if outage_start <= r[0] < outage_end]
    assert during, "no request was made during the outage"
    assert any(r[3] == 503 for r in during), {r[3] for r in during}
    answered_inside = [r for r in results
                       if outage_start + 0.5 < r[0] and r[0] + r[1] < outage_end - 0.5]
    assert all(r[3] == 503 for r in answered_inside), [r[2:4] for r in answered_inside]
    slowest = max(r[1] for r in results)
    assert slowest < LONGEST, f"a request took {slowest:.1f} s"
    for r in results:
        if r[3] == 503:
            assert "error_message" in r[4] and "Traceback" not in r[4], r[4]

    # Every acknowledged create is stored, exactly once.
    listed = cluster.ready_call("GET", f"/v1/volume/connectors?node={node}&detail=True")
    assert listed.status_code == 200, listed.text
    stored = [c["connector_id"] for c in listed.json()["connectors"]]
    acknowledged = [r[5] for r in results if r[2] == "create" and r[3] == 201]
    assert acknowledged
    missing = [cid for cid in acknowledged if cid not in stored]
    assert not missing, f"acknowledged but lost: {missing}"
    assert len(stored) == len(set(stored))
