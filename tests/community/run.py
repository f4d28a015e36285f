"""Runs the community suites against one service and compares with the expected passes.

Called by run.sh with the community environment's interpreter; see run.sh for the
options. Steps: start the service (sanlink as tests/clients/conftest.py starts it, or
Ironic 39 as tests/differential/conftest.py starts it, with its configuration), point
each suite at it (a clouds.yaml for openstacksdk, a test.conf for python-ironicclient),
run the suite with pytest into a junit XML file, then either record the tests that
passed (--record) or check that every test in expected-pass-<suite>.txt passed.
"""

import argparse
import importlib.util
import os
import re
import subprocess
import sys
import tempfile
import time
import xml.etree.ElementTree as ET
from pathlib import Path

import requests

HERE = Path(__file__).resolve().parent
REPO = HERE.parents[1]
SUITES = ("openstacksdk", "ironicclient")
IRONIC_STARTUP_TIMEOUT = 120.0


def _load(name, path):
    spec = importlib.util.spec_from_file_location(name, path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


# ---------------------------------------------------------------------------
# The services


def start_sanlink(work):
    """Starts sanlink with the client tests' own start-up code; returns (procs, base)."""
    clients = _load("sanlink_clients_support", REPO / "tests/clients/conftest.py")
    data_dir = work / "sanlink-data"
    data_dir.mkdir()
    for _ in range(3):  # a port picked as free may be taken before the server binds it
        procs, base = clients._start(data_dir)
        if base:
            return procs, base, clients._SERVER["logs"]
    for path in clients._SERVER["logs"]:
        sys.stderr.write(Path(path).read_text(errors="replace")[-10000:])
    sys.exit("sanlink did not start; its log is above")


def start_ironic(work):
    """Starts Ironic 39 all-in-one with the differential test's configuration."""
    differential = _load("sanlink_differential_support", REPO / "tests/differential/conftest.py")
    venv = differential.IRONIC_VENV
    if not (venv / "bin" / "ironic").exists():
        sys.exit(f"{venv}/bin/ironic not found: tests/differential/run.sh installs Ironic 39")
    port = differential._free_port()
    conf = work / "ironic.conf"
    conf.write_text(differential.IRONIC_CONF.format(port=port, db=work / "ironic.sqlite"))
    log = work / "ironic.log"
    env = {k: v for k, v in os.environ.items() if not k.startswith("OS_")}
    with open(log, "ab") as out:
        subprocess.run(
            [str(venv / "bin" / "ironic-dbsync"), f"--config-file={conf}", "create_schema"],
            stdout=out, stderr=subprocess.STDOUT, check=True, env=env, cwd=work,
        )
        proc = subprocess.Popen(
            [str(venv / "bin" / "ironic"), f"--config-file={conf}"],
            stdout=out, stderr=subprocess.STDOUT, env=env, cwd=work,
        )
    base = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + IRONIC_STARTUP_TIMEOUT
    # Up once its conductor has registered the hardware type: node writes need it.
    while True:
        r = differential._ready(base, "/v1/drivers")
        if r is not None and r.status_code == 200 and any(
            d.get("name") == "fake-hardware" for d in r.json().get("drivers", [])
        ):
            return [proc], base, [log]
        if proc.poll() is not None or time.monotonic() > deadline:
            proc.kill()
            sys.stderr.write(log.read_text(errors="replace")[-10000:])
            sys.exit("Ironic did not start; its log is above")
        time.sleep(0.5)


def stop(procs):
    for proc in reversed(procs):
        if proc.poll() is None:
            proc.terminate()
    for proc in reversed(procs):
        try:
            proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


def max_version(base):
    """The highest microversion the service advertises at its root."""
    root = requests.get(base + "/", timeout=10).json()
    return root["default_version"]["version"]


def version_tuple(text):
    return tuple(int(part) for part in text.split("."))


# ---------------------------------------------------------------------------
# The suites


def openstacksdk_suite(base, work):
    """openstacksdk's baremetal functional tests, from the installed wheel.

    They look up the clouds devstack, devstack-alt, devstack-admin and
    devstack-system-admin: all four are the same noauth endpoint here.
    """
    import openstack.tests.functional.baremetal as pkg

    clouds = work / "clouds.yaml"
    # The `none` plugin's endpoint is what require_service's endpoint lookup (and so
    # its microversion check) sees; without it every versioned test skips.
    entry = (
        "    auth_type: none\n"
        f"    auth:\n      endpoint: {base}/\n"
        f"    baremetal_endpoint_override: {base}/\n"
        # Only Ironic is there: the suite's base class looks for a flavor and an image
        # when it believes Nova and Glance exist.
        "    has_compute: false\n"
        "    has_image: false\n"
    )
    names = ("devstack", "devstack-alt", "devstack-admin", "devstack-system-admin")
    clouds.write_text("clouds:\n" + "".join(f"  {n}:\n{entry}" for n in names))
    env = {
        "OS_CLIENT_CONFIG_FILE": str(clouds),
        # The suite's per-test timeout (default 5 s, meant for unit tests); a node's
        # provisioning round trips on a shared machine take longer.
        "OS_TEST_TIMEOUT": "120",
        "OPENSTACKSDK_FUNC_TEST_TIMEOUT": "120",
    }
    return [str(Path(pkg.__file__).parent)], env, work


def ironicclient_suite(base, work):
    """python-ironicclient 5.6.0's functional tests (tempest-based, driving the
    `openstack baremetal` CLI), from the installed wheel, with a noauth test.conf."""
    import ironicclient.tests.functional as pkg

    conf = work / "test.conf"
    conf.write_text(f"[functional]\nauth_strategy = noauth\nironic_url = {base}\n")
    # The suite runs the CLI from ./.tox/functional/bin: this environment's bin.
    cwd = work / "ironicclient-cwd"
    (cwd / ".tox").mkdir(parents=True)
    (cwd / ".tox" / "functional").symlink_to(Path(sys.prefix))
    env = {
        "IRONICCLIENT_TEST_CONFIG": str(conf),
        "OS_TESTENV_NAME": "functional",
        # ironicclient 5.6.0 imports distutils; setuptools' stand-in drags in
        # pkg_resources, a fifth of each CLI start's CPU time. The suite starts the CLI
        # hundreds of times.
        "SETUPTOOLS_USE_DISTUTILS": "stdlib",
    }
    return [str(Path(pkg.__file__).parent)], env, cwd


def run_suite(suite, base, work, workers):
    paths, extra_env, cwd = {"openstacksdk": openstacksdk_suite, "ironicclient": ironicclient_suite}[
        suite
    ](base, work)
    junit = work / f"junit-{suite}.xml"
    env = {k: v for k, v in os.environ.items() if not k.startswith(("OS_", "OPENSTACKSDK_"))}
    env.update(extra_env)
    env["PYTHONWARNINGS"] = "ignore"
    cmd = [
        sys.executable, "-m", "pytest", *paths,
        # Test ids (junit class names) are relative to the rootdir: pinned to the
        # suite's own package, they read the same wherever the environment lives.
        "--rootdir", paths[0],
        "-p", "no:cacheprovider", "-q", "-rN", "--tb=no",
        f"--junitxml={junit}", "-o", "junit_family=xunit1",
        "-p", "sanlink_community_plugin",
    ]
    if workers > 1:
        cmd += ["-n", str(workers)]
    env["PYTHONPATH"] = str(HERE)
    env["COMMUNITY_SERVICE_URL"] = base
    start = time.monotonic()
    subprocess.run(cmd, env=env, cwd=cwd)
    print(f"{suite}: {time.monotonic() - start:.0f} s")
    return parse_junit(junit)


def parse_junit(path):
    """{test id: (outcome, message)}; outcome is passed, failed, error or skipped."""
    results = {}
    for case in ET.parse(path).getroot().iter("testcase"):
        test_id = f"{case.get('classname')}.{case.get('name')}"
        outcome, message = "passed", ""
        for tag in ("failure", "error", "skipped"):
            child = case.find(tag)
            if child is not None:
                outcome = "skipped" if tag == "skipped" else ("failed" if tag == "failure" else "error")
                message = (child.get("message") or "") + "\n" + (child.text or "")
                break
        results[test_id] = (outcome, message)
    return results


# ---------------------------------------------------------------------------
# Comparison

# How a skip for want of a microversion reads: openstacksdk's require_service says
# "Service baremetal does not provide microversion 1.52"; the plugin in this directory
# says "needs microversion 1.52" for the ironicclient tests that do not check it.
VERSION_SKIP = re.compile(r"(?:does not provide|needs) microversion (\d+\.\d+)")


def first_lines(message, count=5):
    """The error itself: from the last line that names an exception (the suites'
    reports put it after the traceback; for the CLI tests it holds the command, and
    the CLI's stderr follows), else the message's start."""
    lines = [line for line in message.splitlines() if line.strip() and "more lines;" not in line]
    start = 0
    for i, line in enumerate(lines):
        if re.match(r"^[A-Za-z_][\w.]*(Error|Exception|Failed|Failure)\b", line):
            start = i
    return "\n".join("      " + line[:300] for line in lines[start:start + count])


def expected_file(suite):
    return HERE / f"expected-pass-{suite}.txt"


def record(suite, results):
    passed = sorted(t for t, (outcome, _) in results.items() if outcome == "passed")
    header = (
        f"# Tests of the {suite} suite that pass on Ironic 39 (all-in-one, fake-hardware,\n"
        "# noauth). Written by `tests/community/run.sh --against ironic --record`.\n"
    )
    expected_file(suite).write_text(header + "".join(t + "\n" for t in passed))
    others = {}
    for outcome, _ in results.values():
        others[outcome] = others.get(outcome, 0) + 1
    print(f"{suite}: recorded {len(passed)} passing tests ({others})")
    return 0


def compare(suite, results, service_max):
    if not expected_file(suite).exists():
        print(f"{expected_file(suite)} is missing: record it with --against ironic --record")
        return 1
    expected = [
        line.strip() for line in expected_file(suite).read_text().splitlines()
        if line.strip() and not line.startswith("#")
    ]
    failures, allowed = [], []
    for test_id in expected:
        outcome, message = results.get(test_id, ("missing", "not run"))
        if outcome == "passed":
            continue
        wanted = VERSION_SKIP.search(message) if outcome == "skipped" else None
        if wanted and version_tuple(wanted.group(1)) > version_tuple(service_max):
            allowed.append((test_id, wanted.group(1)))
            continue
        failures.append((test_id, outcome, message))
    passed = len(expected) - len(failures) - len(allowed)
    print(f"\n{suite}: {passed} of {len(expected)} expected passes pass, "
          f"{len(allowed)} skipped for a microversion above {service_max}, {len(failures)} fail")
    for test_id, version in allowed:
        print(f"  allowed (needs {version}): {test_id}")
    for test_id, outcome, message in failures:
        print(f"  {outcome.upper()}: {test_id}")
        print(first_lines(message))
    return 1 if failures else 0


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--against", choices=("sanlink", "ironic"), default="sanlink")
    parser.add_argument("--topology", choices=("embedded", "production"), default="embedded")
    parser.add_argument("--suite", choices=SUITES + ("all",), default="all")
    parser.add_argument("--record", action="store_true")
    parser.add_argument("--workers", type=int, default=4)
    parser.add_argument("--keep", help="directory for the junit files and logs")
    args = parser.parse_args()
    if args.record and args.against != "ironic":
        sys.exit("--record records Ironic 39's passes: use it with --against ironic")

    work = Path(args.keep or tempfile.mkdtemp(prefix="community-"))
    work.mkdir(parents=True, exist_ok=True)
    if args.against == "ironic":
        procs, base, logs = start_ironic(work)
    else:
        procs, base, logs = start_sanlink(work)
    status = 0
    try:
        service_max = max_version(base)
        print(f"{args.against} ({args.topology}) at {base}, maximum microversion {service_max}; "
              f"junit files and logs in {work}")
        for suite in SUITES if args.suite == "all" else (args.suite,):
            results = run_suite(suite, base, work, args.workers)
            if args.record:
                status |= record(suite, results)
            else:
                status |= compare(suite, results, service_max)
    finally:
        stop(procs)
    if status:
        print(f"\nservice logs: {' '.join(str(p) for p in logs)}")
    return status


if __name__ == "__main__":
    sys.exit(main())
