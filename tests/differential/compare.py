"""Normalising two answers to the same request, comparing them, and the allow-list of
known differences (docs/differences-from-ironic.md)."""

import fnmatch
import json
import re
from pathlib import Path

UUID_RE = re.compile(r"[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}")
TS_RE = re.compile(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?(\+00:00|Z)?")
PLACEHOLDER_RE = re.compile(r"\{(\w+)(?::(upper))?\}")

# Response headers clients read.
HEADERS = [
    "X-OpenStack-Ironic-API-Version",
    "X-OpenStack-Ironic-API-Minimum-Version",
    "X-OpenStack-Ironic-API-Maximum-Version",
    "Location",
    "Content-Type",
]
# Headers whose presence (not value) is compared.
PRESENT = ["X-OpenStack-Request-Id"]


def substitute(value, saved):
    """Replaces ``{name}`` / ``{name:upper}`` in every string of ``value``."""
    if isinstance(value, str):
        def repl(m):
            if m.group(1) not in saved:
                raise KeyError(f"nothing saved under {m.group(1)!r}")
            v = saved[m.group(1)]
            return v.upper() if m.group(2) else v
        return PLACEHOLDER_RE.sub(repl, value)
    if isinstance(value, list):
        return [substitute(v, saved) for v in value]
    if isinstance(value, dict):
        return {k: substitute(v, saved) for k, v in value.items()}
    return value


class Normaliser:
    """Rewrites what must differ between two services: their base URLs, the UUIDs
    they generated (named after the step that saved them), other UUIDs, timestamps,
    and their highest microversion."""

    def __init__(self, base, saved, max_version):
        self.base = base
        self.saved = saved
        self.max_version = max_version

    def text(self, s):
        s = s.replace(self.base, "<base>")
        for name, value in self.saved.items():
            s = s.replace(value, f"<{name}>").replace(value.upper(), f"<{name}:upper>")
        s = UUID_RE.sub("<uuid>", s)
        s = TS_RE.sub("<ts>", s)
        if self.max_version:
            s = s.replace(f", {self.max_version}]", ", <max>]")
        return s

    def value(self, v, key=None):
        if isinstance(v, str):
            # The discovery documents' "version" is the service's highest version.
            if key == "version" and v == self.max_version:
                return "<max>"
            return self.text(v)
        if isinstance(v, list):
            return [self.value(x) for x in v]
        if isinstance(v, dict):
            return {k: self.value(x, k) for k, x in v.items()}
        return v


def answer(resp, normaliser, latest=False):
    """A response as compared: status, the headers clients read, the body (an error's
    ``error_message`` decoded). The highest microversion is the one thing the two
    services may not share: it reads ``<max>`` in the maximum-version header, and in
    the version header of a request for ``latest``."""
    headers = {}
    for h in HEADERS:
        if h in resp.headers:
            headers[h] = normaliser.text(resp.headers[h])
    maximum = "X-OpenStack-Ironic-API-Maximum-Version"
    if maximum in headers:
        headers[maximum] = "<max>"
    current = "X-OpenStack-Ironic-API-Version"
    if latest and headers.get(current) == normaliser.max_version:
        headers[current] = "<max>"
    for h in PRESENT:
        headers[h] = "<present>" if h in resp.headers else None
    body = resp.text
    if body:
        try:
            body = json.loads(body)
        except ValueError:
            pass
    if isinstance(body, dict) and isinstance(body.get("error_message"), str):
        try:
            body["error_message"] = json.loads(body["error_message"])
        except ValueError:
            pass
    return {"status": resp.status_code, "header": headers, "body": normaliser.value(body)}


ABSENT = "<absent>"


def diff(a, b, path=""):
    """Yields (path, a, b) for every place where two normalised values differ. Two
    answers of different statuses differ in their status and their body as a whole."""
    if path == "" and isinstance(a, dict) and isinstance(b, dict) and a.get("status") != b.get("status"):
        yield ("status", a.get("status"), b.get("status"))
        yield from diff(a.get("header"), b.get("header"), "header")
        if a.get("body") != b.get("body"):
            yield ("body", a.get("body"), b.get("body"))
        return
    if isinstance(a, dict) and isinstance(b, dict):
        for k in list(a) + [k for k in b if k not in a]:
            yield from diff(a.get(k, ABSENT), b.get(k, ABSENT), f"{path}/{k}" if path else k)
    elif isinstance(a, list) and isinstance(b, list) and len(a) == len(b):
        for i, (x, y) in enumerate(zip(a, b)):
            yield from diff(x, y, f"{path}/{i}")
    elif a != b or type(a) is not type(b):
        yield (path, a, b)


class KnownDifference:
    def __init__(self, steps, paths, reason):
        self.steps = steps
        self.paths = paths
        self.reason = reason
        self.used = False

    def covers(self, step, path):
        return any(fnmatch.fnmatchcase(step, s) for s in self.steps) and any(
            fnmatch.fnmatchcase(path, p) or fnmatch.fnmatchcase(path, p + "/*") for p in self.paths
        )


def known_differences(doc: Path):
    """The table rows of the doc's "Known differences" section:
    ``| `step`, `step*` | `path`, `path` | reason |``."""
    rows = []
    in_section = False
    for line in doc.read_text().splitlines():
        if line.startswith("## "):
            in_section = line.strip().lower() == "## known differences"
            continue
        if not in_section or not line.startswith("|"):
            continue
        cells = [c.strip() for c in line.strip().strip("|").split("|")]
        if len(cells) < 3 or set(cells[0]) <= {"-", " ", ":"} or cells[0].lower() == "step":
            continue
        steps = re.findall(r"`([^`]+)`", cells[0])
        paths = re.findall(r"`([^`]+)`", cells[1])
        if not steps or not paths or not cells[2]:
            raise ValueError(f"{doc}: malformed known-difference row: {line}")
        rows.append(KnownDifference(steps, paths, cells[2]))
    return rows
