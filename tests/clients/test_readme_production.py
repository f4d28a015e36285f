"""Runs README.md's production-topology block as written: two conductors and a gateway
over RabbitMQ on PostgreSQL, started by bash; then uses them through the API.

Only what would clash with the tests' own service changes: the binaries come from the
build under test (the block's `cargo build --release` line is left out), the database
is `sanlink_readme`, the ports are free ones and the queues have a private prefix.
Runs in the production client-test run on PostgreSQL, which has the servers the block
expects.
"""

import os
import re
import signal
import subprocess
import time
import uuid

import pytest
import requests

from conftest import API_VERSION, REPO, TOPOLOGY, _binary, _free_port

README = REPO / "README.md"
DATABASE = "sanlink_readme"


def production_block():
    text = README.read_text()
    m = re.search(r"<!-- start:production -->\s*```bash\n(.*?)```", text, re.S)
    assert m, "README.md has no bash block after <!-- start:production -->"
    return m.group(1)


def adapted(block, bin_dir, ports):
    lines = [line for line in block.splitlines() if not line.startswith("cargo build")]
    code = "\n".join(lines).replace("target/release/", f"{bin_dir}/")
    code = code.replace("DATABASE sanlink'", f"DATABASE {DATABASE}'")
    code = code.replace("5432/sanlink\n", f"5432/{DATABASE}\n")
    for default, port in ports.items():
        code = code.replace(f"127.0.0.1:{default}", f"127.0.0.1:{port}")
    return code


@pytest.fixture
def started(tmp_path):
    """Runs the block in a session of its own; yields (output, API URL); kills it after."""
    url = os.environ.get("TEST_DATABASE_URL", "")
    if TOPOLOGY != "production" or not url.startswith("postgres"):
        pytest.skip("the block needs PostgreSQL and RabbitMQ: run in the production "
                    "client tests on PostgreSQL")
    subprocess.run(["psql", "-h", "127.0.0.1", "-U", "postgres", "-qc",
                    f"DROP DATABASE IF EXISTS {DATABASE}"], check=True)
    bin_dir = _binary("SANLINK_GATEWAY_BIN", "api-gateway").parent
    ports = {6385: _free_port(), 8088: _free_port(), 8089: _free_port()}
    code = adapted(production_block(), bin_dir, ports)
    env = {k: v for k, v in os.environ.items() if not k.startswith("SANLINK_")}
    env.update(SANLINK_AMQP_PREFIX=f"sanlink-readme-{uuid.uuid4().hex[:8]}", NO_COLOR="1")
    # Files, not pipes: the processes the block leaves running keep them open.
    out, log = tmp_path / "output", tmp_path / "processes.log"
    with open(out, "wb") as stdout, open(log, "wb") as stderr:
        shell = subprocess.Popen(["bash", "-euo", "pipefail", "-c", code], env=env,
                                 cwd=tmp_path, stdout=stdout, stderr=stderr,
                                 start_new_session=True)
    try:
        shell.wait(timeout=120)
        output = out.read_text()
        assert shell.returncode == 0, f"{code}\n{output}\n{log.read_text()}"
        yield output, f"http://127.0.0.1:{ports[6385]}"
    finally:
        # The block left its processes running in the shell's process group.
        try:
            os.killpg(shell.pid, signal.SIGTERM)
        except ProcessLookupError:
            pass
        subprocess.run(["psql", "-h", "127.0.0.1", "-U", "postgres", "-qc",
                        f"DROP DATABASE IF EXISTS {DATABASE} WITH (FORCE)"])


def test_the_readme_production_block_starts_a_working_service(started):
    output, api = started
    assert '"status":"ready"' in output
    assert re.search(r"conductor-1\s.*\byes\b", output), output
    assert re.search(r"conductor-2\s.*\byes\b", output), output
    headers = {"X-OpenStack-Ironic-API-Version": API_VERSION}
    # The gateway re-reads the number of consuming conductors every second and answers
    # 503 until it has seen one; clients retry 503s, so does this.
    deadline = time.monotonic() + 10
    while True:
        node = requests.post(f"{api}/v1/nodes", json={"driver": "fake-hardware"},
                             headers=headers, timeout=30)
        if node.status_code != 503 or time.monotonic() > deadline:
            break
        time.sleep(0.2)
    assert node.status_code == 201, node.text
    connector = requests.post(
        f"{api}/v1/volume/connectors", headers=headers, timeout=30,
        json={"node_uuid": node.json()["uuid"], "type": "iqn",
              "connector_id": "iqn.2026-11.org.example:readme"},
    )
    assert connector.status_code == 201, connector.text
