"""Operations against the running service: one request id in the gateway's and the
conductor's logs, the health and metrics endpoints of every process, and the admin
commands (check-config, conductor list, node release-lock) of the real binaries."""

import json
import re
import time
from pathlib import Path

import pytest
import requests

from conftest import REPO, TOPOLOGY, unique
from ops_support import MYSQL_URL, PG_URL, command_env, database_url, lock_node, run, sql


def _lines_with(path, text, timeout=10):
    deadline = time.monotonic() + timeout
    while True:
        lines = [l for l in Path(path).read_text(errors="replace").splitlines() if text in l]
        if lines or time.monotonic() > deadline:
            return lines
        time.sleep(0.1)


def test_one_request_id_follows_a_request_into_the_conductor(api, service):
    resp = api.post("/v1/nodes", {"driver": "fake-hardware", "name": unique("rid")}, expect=201)
    rid = resp.headers["x-openstack-request-id"]
    assert re.fullmatch(r"req-[0-9a-f-]{36}", rid), rid
    logs = {p.stem: p for p in service["logs"]}
    if TOPOLOGY == "embedded":
        lines = _lines_with(logs["sanlink"], rid)
        assert any("request{" in l for l in lines), lines
        assert any("rpc{" in l and "create_node" in l for l in lines), lines
        return
    gateway = _lines_with(logs["api-gateway"], rid)
    assert any("request answered" in l and "status=201" in l for l in gateway), gateway
    # One of the two conductors took it; they log JSON lines with the span's fields.
    handled = []
    for host in ("conductor-1", "conductor-2"):
        for line in _lines_with(logs[host], rid, timeout=2):
            handled.append(json.loads(line))
    assert handled, f"{rid} is in no conductor's log"
    for entry in handled:
        assert entry["span"]["request_id"] == rid, entry
        assert entry["span"]["name"] == "rpc", entry
    assert any(e["fields"]["message"] == "request done" for e in handled), handled


@pytest.mark.parametrize("where", ["api", "conductor"])
def test_health_endpoints_of_the_gateway_and_the_conductor(sanlink, boot_url, where):
    base = sanlink if where == "api" else boot_url
    resp = requests.get(base + "/healthz", timeout=10)
    assert (resp.status_code, resp.json()) == (200, {"status": "ok"})
    resp = requests.get(base + "/readyz", timeout=10)
    assert resp.status_code == 200, resp.text
    body = resp.json()
    assert body["status"] == "ready" and body["down"] == []
    expected = {"database"} | ({"broker"} if TOPOLOGY == "production" else set())
    assert set(body["checks"]) == expected, body
    metrics = requests.get(base + "/metrics", timeout=10)
    assert metrics.status_code == 200
    assert metrics.headers["content-type"].startswith("text/plain")
    alive = re.search(r"^sanlink_conductors_alive (\S+)$", metrics.text, re.M)
    assert alive, metrics.text
    assert float(alive.group(1)) == (2 if TOPOLOGY == "production" else 1)


def test_the_gateway_counts_requests_by_route(api, sanlink, node):
    api.get(f"/v1/nodes/{node['uuid']}", expect=200)
    text = requests.get(sanlink + "/metrics", timeout=10).text
    series = 'sanlink_http_requests_total{method="GET",route="/v1/nodes/{ident}",status="200"}'
    assert series in text, text
    assert node["uuid"] not in text
    assert re.search(r'^sanlink_rpc_duration_seconds_count\{method="create_node",outcome="ok"\} ', text, re.M)


def test_conductor_list_shows_each_conductor_and_its_heartbeat(service, tmp_path):
    env = command_env(service, tmp_path)
    proc = run(["sanlink", "conductor", "list"], env, tmp_path)
    assert proc.returncode == 0, proc.stderr
    rows = [l.split() for l in proc.stdout.splitlines()[1:]]
    assert proc.stdout.splitlines()[0].split()[:2] == ["hostname", "alive"]
    alive = {r[0] for r in rows if r[1] == "yes"}
    if TOPOLOGY == "production":
        assert {"conductor-1", "conductor-2"} <= alive, proc.stdout
        # The same command on the other binaries.
        other = run(["conductor", "conductor", "list"], env, tmp_path)
        assert other.returncode == 0 and other.stdout == proc.stdout, other.stderr
    else:
        assert len(alive) == 1, proc.stdout
    for row in rows:
        assert re.fullmatch(r"\d{4}-\d\d-\d\d", row[2]) and re.fullmatch(r"\d\d:\d\d:\d\d", row[3])


def test_release_lock_asks_first_and_releases_only_on_yes(api, service, make_node, tmp_path):
    node = make_node()
    lock_node(service, node["name"], "hung-conductor")
    env = command_env(service, tmp_path)
    command = ["sanlink", "node", "release-lock", node["name"]]

    no = run(command, env, tmp_path, stdin="n\n")
    assert no.returncode == 1, no.stdout + no.stderr
    assert "locked by conductor hung-conductor" in no.stderr and "[y/N]" in no.stderr
    assert api.node(node["uuid"])["reservation"] == "hung-conductor"
    # No answer at all (stdin closed) is a no as well.
    assert run(command, env, tmp_path, stdin="").returncode == 1
    assert api.node(node["uuid"])["reservation"] == "hung-conductor"

    yes = run(command, env, tmp_path, stdin="y\n")
    assert yes.returncode == 0, yes.stderr
    assert f"released the lock of node {node['uuid']} held by hung-conductor" in yes.stdout
    assert api.node(node["uuid"])["reservation"] is None

    again = run(command, env, tmp_path)
    assert again.returncode == 0 and "is not locked" in again.stdout, again

    lock_node(service, node["name"], "hung-conductor")
    forced = run([*command, "--yes"], env, tmp_path, stdin="")
    assert forced.returncode == 0 and "[y/N]" not in forced.stderr, forced
    assert api.node(node["uuid"])["reservation"] is None

    missing = run(["sanlink", "node", "release-lock", "no-such-node", "--yes"], env, tmp_path)
    assert missing.returncode == 1
    assert "no-such-node" in missing.stderr and "could not be found" in missing.stderr, missing.stderr


@pytest.mark.parametrize("binary", ["sanlink", "api-gateway", "conductor"])
def test_check_config_reports_every_problem_at_once(service, tmp_path, binary):
    env = command_env(service, tmp_path)
    # The environment wins over the file: let the file's listen be read.
    env.pop("SANLINK_LISTEN")
    bad = tmp_path / "bad.toml"
    bad.write_text(
        'listen = "nowhere"\nmax_limit = 0\nlog_format = "xml"\n'
        'no_such_setting = 1\namqp_url_file = "/no/such/secret"\n'
    )
    proc = run([binary, "check-config", "--config", str(bad)], env, tmp_path)
    assert proc.returncode == 1, proc
    for name in ("SANLINK_LISTEN", "SANLINK_MAX_LIMIT", "SANLINK_LOG_FORMAT",
                 "no_such_setting", "SANLINK_AMQP_URL_FILE"):
        assert name in proc.stderr, f"{name} not reported:\n{proc.stderr}"
    assert len(proc.stderr.strip().splitlines()) == 5, proc.stderr
    # The same file stops the service from starting, with the same report.
    start = run([binary, "--config", str(bad)], env, tmp_path)
    assert start.returncode == 2 and "SANLINK_MAX_LIMIT" in start.stderr

    good = tmp_path / "good.toml"
    good.write_text('rpc_timeout = 30\nlog_format = "json"\n')
    proc = run([binary, "check-config", "--config", str(good)], env, tmp_path)
    assert proc.returncode == 0, proc.stderr
    assert "configuration OK" in proc.stdout


def test_the_database_url_may_come_from_a_file(service, tmp_path):
    secret = tmp_path / "database-url"
    secret.write_text(database_url(service) + "\n")
    env = command_env(service, tmp_path, SANLINK_DATABASE_URL_FILE=str(secret))
    env.pop("SANLINK_DATABASE_URL", None)
    env.pop("SANLINK_DATA_DIR", None)
    proc = run(["sanlink", "db", "version"], env, tmp_path)
    assert proc.returncode == 0, proc.stderr
    direct = run(["sanlink", "db", "version"], command_env(service, tmp_path), tmp_path)
    assert proc.stdout == direct.stdout and direct.stdout.strip() not in ("", "none"), (proc, direct)


def test_help_and_the_configuration_reference(service, tmp_path):
    env = command_env(service, tmp_path)
    helped = run(["sanlink", "--help"], env, tmp_path)
    assert helped.returncode == 0
    for command in ("check-config", "conductor list", "node release-lock", "db upgrade"):
        assert command in helped.stdout
    reference = run(["sanlink", "config-reference"], env, tmp_path)
    assert reference.stdout == (REPO / "docs" / "configuration.md").read_text()


def test_database_tls_parameters_in_the_url(service, tmp_path):
    """What the operator guide says about TLS to the databases, checked against the
    test servers: libpq honours sslmode/sslrootcert; diesel reads ssl_mode for MySQL,
    but libmariadb does not enforce it."""
    env = command_env(service, tmp_path)
    env.pop("SANLINK_DATA_DIR", None)

    def db_version(url):
        return run(["sanlink", "db", "version"], {**env, "SANLINK_DATABASE_URL": url}, tmp_path)

    pg = PG_URL.rstrip("/") + "/postgres"
    proc = db_version(pg + "?sslmode=verify-full&sslrootcert=/no/such/ca.pem")
    assert proc.returncode == 1 and 'root certificate file "/no/such/ca.pem"' in proc.stderr, proc.stderr
    mysql = MYSQL_URL.rstrip("/") + "/mysql"
    proc = db_version(mysql + "?ssl_mode=bogus")
    assert proc.returncode == 1 and "unknown ssl_mode" in proc.stderr, proc.stderr
    if sql(mysql, "SELECT @@have_ssl") == "DISABLED":
        proc = db_version(mysql + "?ssl_mode=required")
        assert proc.returncode == 0, "libmariadb now enforces ssl_mode: update docs/operations.md"
