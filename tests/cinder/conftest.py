"""Fixtures of the Cinder fixture's self-test (test_fixture.py).

* ``cinder``: a Cinder with ``auth = noauth`` (cinder_service.Cinder), for the module;
  skipped when Cinder is not installed and cannot be (no PyPI); a failed start is an
  error, with the logs' tails;
* ``iscsi_tools``: the path of ``iscsi-readcapacity16`` (libiscsi-bin): its absence
  fails the test, as tgt's does: tests/cinder/install-deps.sh installs both.

At the end pytest prints each Cinder's start-up steps and memory, and the tails of
the logs of every Cinder that was started when a test failed.
"""

import shutil
import sys
import time
from pathlib import Path

import pytest

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
sys.path.insert(0, str(HERE.parent / "keystone"))
import cinder_service  # noqa: E402

REPORT = []  # lines for the terminal summary
STARTED = []  # every Cinder started, for its logs


def start_cinder(state, label, **kwargs):
    """A started Cinder; what it took goes into the summary."""
    try:
        cinder_service.ensure_venv()
    except cinder_service.CinderUnavailable as exc:
        pytest.skip(f"SKIPPED Cinder tests: {exc}")
    cd = cinder_service.Cinder(state, **kwargs)
    STARTED.append(cd)
    t0 = time.monotonic()
    cd.start()
    wall = time.monotonic() - t0
    REPORT.append(f"Cinder ({label}): started in {wall:.1f}s ("
                  + ", ".join(f"{k} {v:.1f}s" for k, v in cd.timings.items())
                  + f"); {_memory(cd.memory())}")
    return cd


def _memory(mem):
    return (f"PSS {mem['total']['pss'] / 1024:.0f} MiB, RSS {mem['total']['rss'] / 1024:.0f} "
            f"MiB in {mem['total']['processes']} processes ("
            + ", ".join(f"{k} {v['pss'] / 1024:.0f}" for k, v in mem.items() if k != "total")
            + " MiB PSS)")


def stop_cinder(cd, label):
    """Stops a Cinder; what is left running of it (nothing, or a failure)."""
    mem = cd.memory()
    cd.stop()
    left = cd.leftovers()
    REPORT.append(f"Cinder ({label}): at the end {_memory(mem)}; stopped in "
                  f"{cd.timings['stop']:.1f}s, left running: {left or 'nothing'}")
    return left


@pytest.fixture(scope="module")
def cinder(tmp_path_factory):
    cd = start_cinder(tmp_path_factory.mktemp("cinder-noauth"), "noauth")
    yield cd
    stop_cinder(cd, "noauth")


@pytest.fixture(scope="session")
def iscsi_tools():
    tool = shutil.which("iscsi-readcapacity16")
    if not tool:
        pytest.fail("iscsi-readcapacity16 not found: the export check needs libiscsi-bin "
                    "(run tests/cinder/install-deps.sh, or apt-get install libiscsi-bin)")
    return tool


def pytest_terminal_summary(terminalreporter, exitstatus, config):
    for line in REPORT:
        terminalreporter.write_line(line)
    failed = terminalreporter.stats.get("failed") or terminalreporter.stats.get("error")
    if not failed:
        return
    for cd in STARTED:
        for log in sorted(cd.logs.glob("*")):
            lines = log.read_text(errors="replace").splitlines()
            terminalreporter.section(f"{log} (last 60 of {len(lines)} lines)")
            terminalreporter.write_line("\n".join(lines[-60:]))
