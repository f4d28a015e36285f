"""A PostgreSQL server of the test's own, to stop and start at will without touching
the shared one: initdb into a temporary directory, then pg_ctl on a free port.

As root the server runs as the ``postgres`` user (PostgreSQL refuses to run as root).
"""

import glob
import os
import shutil
import subprocess
import tempfile
from pathlib import Path


def _bin(name):
    found = sorted(glob.glob(f"/usr/lib/postgresql/*/bin/{name}"))
    path = found[-1] if found else shutil.which(name)
    if not path:
        raise RuntimeError(f"{name} not found (install postgresql)")
    return path


class PrivatePostgres:
    def __init__(self, port):
        self.port = port
        # Not below pytest's tmp_path: the postgres user must reach the directory.
        self.dir = Path(tempfile.mkdtemp(prefix="sanlink-pg-"))
        self.data = self.dir / "data"
        self.log = self.dir / "postgres.log"
        self.url = f"postgres://postgres@127.0.0.1:{port}/postgres"
        if os.geteuid() == 0:
            shutil.chown(self.dir, "postgres", "postgres")
        self._run(_bin("initdb"), "-D", str(self.data), "-U", "postgres", "-A", "trust",
                  "--no-sync")

    def _run(self, *args):
        cmd = list(args)
        if os.geteuid() == 0:
            cmd = ["runuser", "-u", "postgres", "--", *cmd]
        subprocess.run(cmd, check=True, capture_output=True, timeout=120)

    def start(self):
        options = (f"-p {self.port} -c listen_addresses=127.0.0.1 "
                   f"-c unix_socket_directories={self.dir}")
        self._run(_bin("pg_ctl"), "-D", str(self.data), "-l", str(self.log),
                  "-o", options, "-w", "start")

    def stop(self, mode="fast"):
        """``immediate`` stops without a checkpoint, as a crash would."""
        self._run(_bin("pg_ctl"), "-D", str(self.data), "-m", mode, "-w", "stop")

    def destroy(self):
        try:
            self.stop("immediate")
        except subprocess.CalledProcessError:
            pass  # already stopped
        shutil.rmtree(self.dir, ignore_errors=True)
