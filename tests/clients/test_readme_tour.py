"""Runs the quick tour of README.md exactly as written, against the test server.

The code blocks that follow the `<!-- tour:cli -->` and `<!-- tour:sdk -->` markers are
extracted; only the address http://127.0.0.1:6385 is replaced by the test server's.
"""

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from conftest import REPO

README = REPO / "README.md"
DEFAULT_URL = "http://127.0.0.1:6385"


def tour_block(name, lang):
    text = README.read_text()
    m = re.search(r"<!-- tour:%s\b[^>]*-->\s*```%s\n(.*?)```" % (name, lang), text, re.S)
    assert m, f"README.md has no `{lang}` block after <!-- tour:{name} -->"
    code = m.group(1)
    assert DEFAULT_URL in code
    return code


def clean_env(tmp_path):
    env = {k: v for k, v in os.environ.items() if not k.startswith("OS_")}
    # No clouds.yaml or client caches from the developer's home directory.
    env["HOME"] = str(tmp_path)
    env["PATH"] = str(Path(sys.executable).parent) + os.pathsep + env.get("PATH", "")
    env["PYTHONWARNINGS"] = "ignore"
    return env


def test_cli_tour(sanlink, api, tmp_path):
    script = tour_block("cli", "bash").replace(DEFAULT_URL, sanlink)
    proc = subprocess.run(
        ["bash", "-euo", "pipefail", "-c", script],
        env=clean_env(tmp_path), capture_output=True, text=True, timeout=300,
    )
    assert proc.returncode == 0, f"stdout:\n{proc.stdout}\nstderr:\n{proc.stderr}"

    node = api.node("node-0")
    assert node["provision_state"] == "available"
    assert node["power_state"] == "power off"
    assert node["storage_interface"] == "external"
    connectors = api.get(f"/v1/volume/connectors?node={node['uuid']}", expect=200).json()["connectors"]
    assert [c["connector_id"] for c in connectors] == ["iqn.2024-01.org.example:node-0"]
    targets = api.get(f"/v1/volume/targets?node={node['uuid']}&detail=True", expect=200).json()["targets"]
    assert len(targets) == 1
    assert targets[0]["boot_index"] == 0 and targets[0]["properties"]["target_lun"] == 0
    # The listings and the validation table were printed.
    assert "iqn.2024-01.org.example:node-0" in proc.stdout
    assert "7d2b5c1e-3f4a-4b8e-9c6d-1a2b3c4d5e6f" in proc.stdout
    assert re.search(r"\|\s*storage\s*\|\s*True\s*\|", proc.stdout), proc.stdout


def test_sdk_tour(sanlink, api, tmp_path):
    code = tour_block("sdk", "python").replace(DEFAULT_URL, sanlink)
    proc = subprocess.run(
        [sys.executable, "-c", code],
        env=clean_env(tmp_path), capture_output=True, text=True, timeout=300,
    )
    assert proc.returncode == 0, f"stdout:\n{proc.stdout}\nstderr:\n{proc.stderr}"
    assert "storage valid: True" in proc.stdout
    assert "iqn.2024-01.org.example:node-1" in proc.stdout
    assert "'auth_password': '******'" in proc.stdout

    node = api.node("node-1")
    assert node["provision_state"] == "available"
    assert api.get(f"/v1/volume/targets?node={node['uuid']}", expect=200).json()["targets"] == []
    assert api.get(f"/v1/volume/connectors?node={node['uuid']}", expect=200).json()["connectors"] == []


def test_readme_commands_exist():
    """The set-up commands the README gives are the ones the repository has."""
    text = README.read_text()
    assert "cargo run --release --bin sanlink" in text
    assert "scripts/test.sh" in text
    assert os.access(REPO / "scripts" / "test.sh", os.X_OK)
    assert (REPO / "api-gateway" / "src" / "bin" / "sanlink.rs").exists()
    # Settings are read in config.rs, the config file's path in cli.rs, logging in startup.rs.
    src = "".join((REPO / "common" / "src" / f).read_text() for f in ("config.rs", "cli.rs", "startup.rs"))
    for var in re.findall(r"`(SANLINK_[A-Z_]+)`", text):
        if var not in src:
            pytest.fail(f"README documents {var}, which common/src/config.rs does not read")
