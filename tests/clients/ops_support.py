"""Helpers shared by the operations tests: the admin commands of the binaries under
test, and SQL against the service's database through the backend's own CLI."""

import os
import subprocess
from pathlib import Path
from urllib.parse import urlsplit

from conftest import REPO

PG_URL = os.environ.get("TEST_PG_URL", "postgres://postgres@127.0.0.1:5432/")
MYSQL_URL = os.environ.get("TEST_MYSQL_URL", "mysql://root@127.0.0.1:3306/")


def binaries_dir(tmp_path):
    """A directory holding `sanlink`, `api-gateway` and `conductor` (the binaries under
    test), to put first on PATH so commands run as the docs write them."""
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir(exist_ok=True)
    for name, var in (
        ("sanlink", "SANLINK_BIN"),
        ("api-gateway", "SANLINK_GATEWAY_BIN"),
        ("conductor", "SANLINK_CONDUCTOR_BIN"),
    ):
        binary = Path(os.environ.get(var, REPO / "target" / "debug" / name))
        if not binary.is_absolute():
            binary = REPO / binary
        link = bin_dir / name
        if not link.exists() and binary.exists():
            link.symlink_to(binary)
    return bin_dir


def command_env(service, tmp_path, **extra):
    """The service's settings plus PATH with the binaries under test first."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("SANLINK_")}
    env.update(service["env"])
    env["PATH"] = f"{binaries_dir(tmp_path)}{os.pathsep}{env.get('PATH', '')}"
    env.update(extra)
    return env


def run(args, env, cwd, stdin=None, timeout=60):
    return subprocess.run(
        args, env=env, cwd=cwd, input=stdin, capture_output=True, text=True, timeout=timeout
    )


def database_url(service):
    """The service's database URL (the embedded mode's default SQLite file)."""
    url = service["env"].get("SANLINK_DATABASE_URL")
    if url:
        return url
    return f"sqlite://{service['data_dir'] / 'sanlink.sqlite'}"


def mysql_args(url):
    """mariadb CLI arguments for a mysql:// URL, and the password for MYSQL_PWD."""
    parts = urlsplit(url)
    args = ["-h", parts.hostname or "127.0.0.1", "-P", str(parts.port or 3306),
            "-u", parts.username or "root"]
    return args, parts.password or ""


def sql(url, statement):
    """Runs one SQL statement with the backend's CLI; returns its output."""
    if url.startswith("sqlite://"):
        cmd, env = ["sqlite3", url[len("sqlite://"):], statement], None
    elif url.startswith(("postgres://", "postgresql://")):
        cmd, env = ["psql", url, "-v", "ON_ERROR_STOP=1", "-tAc", statement], None
    else:
        args, password = mysql_args(url)
        database = urlsplit(url).path.lstrip("/")
        cmd = ["mariadb", *args, "-N", "-e", statement]
        if database:
            cmd.insert(1, database)
        env = {**os.environ, "MYSQL_PWD": password}
    proc = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=60)
    assert proc.returncode == 0, f"{cmd}: {proc.stderr}"
    return proc.stdout.strip()


def lock_node(service, name, holder):
    """Sets a node's lock as a (hung) conductor would have."""
    sql(database_url(service), f"UPDATE nodes SET reservation = '{holder}' WHERE name = '{name}'")
