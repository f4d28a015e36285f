"""The embedded `sanlink` on SQLite killed (SIGKILL) in the middle of a stream of writes:
every write it acknowledged is there once it is started again on the same file, none
twice. The writes run long enough for the service's checkpoints to copy the log into the
database and start it over several times first (docs/operations.md, "The embedded
database's log")."""

import threading
import time
from concurrent.futures import ThreadPoolExecutor

from conftest import Cluster

# Long enough for a few checkpoints (every 100 ms) to restart the log before the kill.
WRITING_BEFORE_KILL = 1.5


def start_embedded(cluster, name):
    cluster.spawn(name, "sanlink")
    cluster.wait_log(name, "sanlink serving")


def all_connector_ids(cluster):
    """Every stored connector's connector_id, page by page."""
    ids, marker = [], None
    while True:
        query = "/v1/volume/connectors?detail=True&limit=500" + (f"&marker={marker}" if marker else "")
        r = cluster.ready_call("GET", query)
        assert r.status_code == 200, r.text
        page = r.json()["connectors"]
        ids += [c["connector_id"] for c in page]
        if len(page) < 500:
            return ids
        marker = page[-1]["uuid"]


def test_killing_the_embedded_service_mid_stream_loses_no_acknowledged_write(tmp_path):
    cluster = Cluster(tmp_path, db_url=f"sqlite://{tmp_path}/sanlink.sqlite")
    try:
        start_embedded(cluster, "sanlink")
        r = cluster.ready_call("POST", "/v1/nodes", json={"driver": "fake-hardware"})
        assert r.status_code == 201, r.text
        node = r.json()["uuid"]

        acknowledged, lock, stop = [], threading.Lock(), threading.Event()

        def write(worker):
            n = 0
            while not stop.is_set():
                cid = f"iqn.kill:{worker}:{n}"
                n += 1
                body = {"node_uuid": node, "type": "iqn", "connector_id": cid}
                try:
                    r = cluster.call("POST", "/v1/volume/connectors", json=body)
                except Exception:  # the service died under this request
                    return
                if r.status_code == 201:
                    with lock:
                        acknowledged.append(cid)

        with ThreadPoolExecutor(max_workers=6) as pool:
            writers = [pool.submit(write, w) for w in range(6)]
            time.sleep(WRITING_BEFORE_KILL)
            cluster.kill("sanlink")
            stop.set()
            for w in writers:
                w.result()
        print("acknowledged before the kill:", len(acknowledged))
        assert len(acknowledged) > 100, f"only {len(acknowledged)} writes before the kill"

        start_embedded(cluster, "sanlink-again")
        stored = all_connector_ids(cluster)
        assert len(stored) == len(set(stored)), "a write was stored twice"
        missing = set(acknowledged) - set(stored)
        assert not missing, f"{len(missing)} of {len(acknowledged)} acknowledged writes lost"
    finally:
        cluster.stop()
