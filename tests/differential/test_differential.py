"""Sends the corpus (corpus.py) to the real Ironic and to sanlink, step by step, and
compares the answers; a difference fails unless docs/differences-from-ironic.md lists
it with its reason."""

import fnmatch
import json
import os
import time
from pathlib import Path

import pytest
import requests

from compare import Normaliser, answer, diff, known_differences, substitute
from corpus import CORPUS

DOC = Path(__file__).resolve().parents[2] / "docs" / "differences-from-ironic.md"
KNOWN = known_differences(DOC)
WAIT_TIMEOUT = 60.0
# A production gateway answers writes with 503 until it has seen a conductor; clients
# retry those, and so does the harness, for this long.
RETRY_503_FOR = 30.0


class Service:
    def __init__(self, name, base):
        self.name = name
        self.base = base
        self.saved = {}
        self.session = requests.Session()
        r = self.session.get(base + "/", timeout=10)
        self.max_version = r.headers.get("X-OpenStack-Ironic-API-Maximum-Version")

    def send(self, s):
        headers = {"Accept": "application/json"}
        if s.get("version"):
            headers["X-OpenStack-Ironic-API-Version"] = s["version"]
        headers.update(s.get("headers", {}))
        data = None
        if "body" in s:
            data = json.dumps(substitute(s["body"], self.saved))
        elif "raw" in s:
            data = s["raw"]
        if data is not None:
            headers["Content-Type"] = "application/json"
        url = self.base + substitute(s["path"], self.saved)
        deadline = time.monotonic() + RETRY_503_FOR
        while True:
            resp = self.session.request(s["method"], url, data=data, headers=headers, timeout=60)
            if resp.status_code != 503 or time.monotonic() > deadline:
                return resp
            time.sleep(0.5)

    def wait(self, name, want):
        deadline = time.monotonic() + WAIT_TIMEOUT
        while True:
            r = self.session.get(
                f"{self.base}/v1/nodes/{self.saved[name]}",
                headers={"X-OpenStack-Ironic-API-Version": "1.46"}, timeout=30,
            )
            node = r.json() if r.status_code == 200 else {}
            if all(node.get(k) == v for k, v in want.items()):
                return None
            if time.monotonic() > deadline:
                got = {k: node.get(k) for k in want} if node else r.text
                return f"{self.name}: node {name} never reached {want}: {got}"
            time.sleep(0.2)


@pytest.fixture(scope="session")
def results(ironic, sanlink):
    """name -> (Ironic's answer, sanlink's answer, problems running the step)."""
    services = [Service("ironic", ironic), Service("sanlink", sanlink)]
    out = {}
    for s in CORPUS:
        answers, problems = [], []
        for svc in services:
            try:
                resp = svc.send(s)
            except KeyError as e:
                problems.append(f"{svc.name}: {e}")
                answers.append(None)
                continue
            if "save" in s and resp.status_code in (200, 201):
                svc.saved[s["save"]] = resp.json()["uuid"]
            if "wait" in s:
                problem = svc.wait(*s["wait"])
                if problem:
                    problems.append(problem)
            latest = str(s.get("version")).lower() == "latest"
            got = answer(resp, Normaliser(svc.base, svc.saved, svc.max_version), latest)
            if "order" in s and resp.status_code == 200:
                key, field = s["order"]
                raw = [item[field] for item in resp.json()[key]]
                if raw != sorted(raw):
                    problems.append(f"{svc.name}: {key} not in ascending order of {field}: {raw}")
                got["body"][key].sort(key=lambda item: json.dumps(item, sort_keys=True))
            if "normalise" in s:
                # What differs by configuration, not behaviour (the step says why).
                got["body"] = s["normalise"](got["body"])
            answers.append(got)
        out[s["name"]] = (answers[0], answers[1], problems)
    if os.environ.get("DIFFERENTIAL_DUMP"):
        # Both answers of every step, for reading the differences at leisure.
        Path(os.environ["DIFFERENTIAL_DUMP"]).write_text(json.dumps(out, indent=1))
    return out


def short(v):
    text = json.dumps(v) if not isinstance(v, str) else repr(v)
    return text if len(text) <= 400 else text[:400] + "..."


@pytest.mark.parametrize("name", [s["name"] for s in CORPUS])
def test_step(results, name):
    ironic, sanlink, problems = results[name]
    assert not problems, "\n".join(problems)
    unexplained = []
    for path, a, b in diff(ironic, sanlink):
        known = [k for k in KNOWN if k.covers(name, path)]
        for k in known:
            k.used = True
        if not known:
            unexplained.append(f"  {path}:\n    Ironic:  {short(a)}\n    sanlink: {short(b)}")
    assert not unexplained, (
        f"sanlink differs from Ironic on step {name} (not listed in docs/differences-from-ironic.md):\n"
        + "\n".join(unexplained)
    )


def test_known_differences_name_corpus_steps():
    names = [s["name"] for s in CORPUS]
    for k in KNOWN:
        for pattern in k.steps:
            assert fnmatch.filter(names, pattern), f"docs/differences-from-ironic.md names no step: {pattern}"


def test_every_known_difference_still_occurs(results):
    # Runs after every test_step (same module, defined later); a listed difference that
    # no longer occurs must leave the list.
    for name in results:
        ironic, sanlink, _ = results[name]
        for path, _, _ in diff(ironic, sanlink):
            for k in KNOWN:
                if k.covers(name, path):
                    k.used = True
    stale = [f"{', '.join(k.steps)} | {', '.join(k.paths)}" for k in KNOWN if not k.used]
    assert not stale, "listed in docs/differences-from-ironic.md but no longer different:\n" + "\n".join(stale)
