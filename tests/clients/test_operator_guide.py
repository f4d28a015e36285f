"""Runs the command blocks of docs/operations.md as written, with bash, against the
running service: the blocks after `<!-- ops:NAME -->` markers. Only the addresses
http://127.0.0.1:6385 (the API) and http://127.0.0.1:8088 (the conductor's boot
listener) are replaced by the test service's; the binaries under test come first on
PATH and the service's SANLINK_* settings are in the environment, as on a host where
the service runs."""

import re
import shutil
import subprocess
import uuid
from urllib.parse import urlsplit, urlunsplit

import pytest

from conftest import REPO, TOPOLOGY
from ops_support import command_env, database_url, lock_node, mysql_args, sql

GUIDE = REPO / "docs" / "operations.md"


def blocks():
    text = GUIDE.read_text()
    return dict(re.findall(r"<!-- ops:([a-z-]+) -->\s*```bash\n(.*?)```", text, re.S))


def run_block(name, env, cwd, sanlink=None, boot_url=None):
    code = blocks()[name]
    if sanlink:
        code = code.replace("http://127.0.0.1:6385", sanlink)
    if boot_url:
        code = code.replace("http://127.0.0.1:8088", boot_url)
    proc = subprocess.run(
        ["bash", "-euo", "pipefail", "-c", code],
        env=env, cwd=cwd, capture_output=True, text=True, timeout=120,
    )
    assert proc.returncode == 0, f"ops:{name} failed:\n{code}\nstdout: {proc.stdout}\nstderr: {proc.stderr}"
    return proc.stdout


def test_every_marked_block_is_run_here():
    run_here = {
        "check-config", "probes", "admin", "migrate", "sqlite-backup", "sqlite-restore",
        "pg-backup", "pg-restore", "mysql-backup", "mysql-restore",
    }
    # Those of the Keystone section need a Keystone: tests/keystone runs them.
    run_by_keystone_tests = {"keystone-register", "keystone-settings"}
    assert set(blocks()) == run_here | run_by_keystone_tests


def test_check_config(service, tmp_path):
    out = run_block("check-config", command_env(service, tmp_path), tmp_path)
    assert "configuration OK" in out


def test_probes(service, sanlink, boot_url, api, tmp_path):
    api.get("/v1/nodes", expect=200)
    out = run_block("probes", command_env(service, tmp_path), tmp_path, sanlink, boot_url)
    assert '"status":"ready"' in out
    assert "sanlink_http_requests_total{" in out
    assert "sanlink_conductors_alive " in out


def test_admin(service, api, tmp_path):
    if api.get("/v1/nodes/stuck-node").status_code == 404:
        api.post("/v1/nodes", {"driver": "fake-hardware", "name": "stuck-node"}, expect=201)
    lock_node(service, "stuck-node", "hung-conductor")
    out = run_block("admin", command_env(service, tmp_path), tmp_path)
    assert out.splitlines()[0].split()[:2] == ["hostname", "alive"]
    assert "held by hung-conductor" in out
    assert api.node("stuck-node")["reservation"] is None


def test_migrate(service, tmp_path):
    out = run_block("migrate", command_env(service, tmp_path), tmp_path)
    lines = out.splitlines()
    assert lines[0] == "applied 0 migration(s)"
    assert lines[1] not in ("", "none")


def _node_count(url):
    return int(sql(url, "SELECT COUNT(*) FROM nodes"))


@pytest.mark.skipif(TOPOLOGY != "embedded", reason="the embedded mode's SQLite file")
def test_sqlite_backup_and_restore(service, api, tmp_path):
    if not shutil.which("sqlite3"):
        pytest.skip("sqlite3 is not installed")
    api.post("/v1/nodes", {"driver": "fake-hardware"}, expect=201)
    # `data` is the service's data directory, as where the guide's commands run.
    host = tmp_path / "host"
    host.mkdir()
    (host / "data").symlink_to(service["data_dir"])
    run_block("sqlite-backup", command_env(service, tmp_path), host)
    backup = service["data_dir"] / "sanlink-backup.sqlite"
    nodes = _node_count(f"sqlite://{backup}")
    assert nodes >= 1
    # Restore where no service runs: a fresh host whose data/ holds the copy.
    fresh = tmp_path / "restored"
    (fresh / "data").mkdir(parents=True)
    shutil.move(backup, fresh / "data" / "sanlink-backup.sqlite")
    env = command_env(service, tmp_path)
    env.pop("SANLINK_DATA_DIR")
    out = run_block("sqlite-restore", env, fresh)
    assert out.strip() not in ("", "none")
    assert _node_count(f"sqlite://{fresh / 'data' / 'sanlink.sqlite'}") == nodes


def _scratch_url(url, name):
    parts = urlsplit(url)
    return urlunsplit(parts._replace(path="/" + name))


@pytest.mark.skipif(TOPOLOGY != "production", reason="the production topology's server database")
def test_server_backup_and_restore(service, api, tmp_path):
    api.post("/v1/nodes", {"driver": "fake-hardware"}, expect=201)
    url = database_url(service)
    nodes = _node_count(url)
    scratch = f"sanlink_restore_{uuid.uuid4().hex[:8]}"
    restored = _scratch_url(url, scratch)
    admin = _scratch_url(url, "postgres" if url.startswith("postgres") else "")
    sql(admin, f"CREATE DATABASE {scratch}")
    try:
        if url.startswith("postgres"):
            run_block("pg-backup", command_env(service, tmp_path), tmp_path)
            env = command_env(service, tmp_path, SANLINK_DATABASE_URL=restored)
            out = run_block("pg-restore", env, tmp_path)
        else:
            args, password = mysql_args(url)
            parts = urlsplit(url)
            db_env = dict(DB_HOST=args[1], DB_PORT=args[3], DB_USER=args[5], MYSQL_PWD=password)
            run_block("mysql-backup", command_env(service, tmp_path, DB_NAME=parts.path.lstrip("/"), **db_env), tmp_path)
            env = command_env(service, tmp_path, DB_NAME=scratch, SANLINK_DATABASE_URL=restored, **db_env)
            out = run_block("mysql-restore", env, tmp_path)
        assert out.strip().splitlines()[-1] not in ("", "none")
        assert _node_count(restored) == nodes
    finally:
        sql(admin, f"DROP DATABASE IF EXISTS {scratch}")
