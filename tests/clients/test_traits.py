"""Node traits (API 1.37) through the real clients: the `baremetal` CLI's
`node add trait` / `node remove trait` / `node trait list` and openstacksdk's
`add_node_trait` / `remove_node_trait` / `set_node_traits` and node `traits`.

Also checks that the standard trait names sanlink compiles in
(common/data/os-traits.txt) are those of the os-traits package this file's
requirements pin.
"""

import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]


def test_the_standard_names_are_those_of_the_pinned_os_traits():
    pytest.importorskip("os_traits")
    proc = subprocess.run(
        [sys.executable, str(REPO / "scripts" / "gen-os-traits.py"), "--check"],
        capture_output=True, text=True,
    )
    assert proc.returncode == 0, proc.stderr


def _cli_traits(cli, node):
    return [row["traits"] for row in cli.json("node", "trait", "list", node)]


def test_cli_adds_lists_and_removes_traits(cli, node, api):
    name = node["name"]
    cli.run("node", "add", "trait", name, "CUSTOM_GOLD", "HW_CPU_X86_AVX2")
    # Adding one the node has is no error.
    cli.run("node", "add", "trait", node["uuid"], "CUSTOM_GOLD")
    assert _cli_traits(cli, name) == ["CUSTOM_GOLD", "HW_CPU_X86_AVX2"]
    shown = cli.json("node", "show", name, "--fields", "traits")
    assert shown == {"traits": ["CUSTOM_GOLD", "HW_CPU_X86_AVX2"]}

    cli.run("node", "remove", "trait", name, "CUSTOM_GOLD")
    assert _cli_traits(cli, name) == ["HW_CPU_X86_AVX2"]
    # Removing one it lacks fails with Ironic's text.
    proc = cli.run("node", "remove", "trait", name, "CUSTOM_GOLD", check=False)
    assert proc.returncode != 0
    assert f"Node {node['uuid']} doesn't have a trait 'CUSTOM_GOLD'" in proc.stderr

    cli.run("node", "add", "trait", name, "CUSTOM_A", "CUSTOM_B")
    cli.run("node", "remove", "trait", name, "--all")
    assert _cli_traits(cli, name) == []
    assert api.get(f"/v1/nodes/{name}/traits", expect=200).json() == {"traits": []}


def test_cli_refuses_a_bad_trait(cli, node):
    proc = cli.run("node", "add", "trait", node["name"], "not_a_trait", check=False)
    assert proc.returncode != 0
    assert ("Schema error for trait: 'not_a_trait' is not valid under any of the given "
            "schemas") in proc.stderr
    assert _cli_traits(cli, node["name"]) == []


def test_sdk_sets_adds_and_removes_traits(bm, node):
    from openstack import exceptions

    ident = node["uuid"]
    bm.set_node_traits(ident, ["CUSTOM_Z", "HW_CPU_X86_SSE", "CUSTOM_Z"])
    assert bm.get_node(ident).traits == ["CUSTOM_Z", "HW_CPU_X86_SSE"]

    bm.add_node_trait(ident, "CUSTOM_NEW")
    assert bm.get_node(node["name"]).traits == ["CUSTOM_NEW", "CUSTOM_Z", "HW_CPU_X86_SSE"]
    # The detailed list carries them too.
    listed = {n.id: n.traits for n in bm.nodes(details=True)}
    assert listed[ident] == ["CUSTOM_NEW", "CUSTOM_Z", "HW_CPU_X86_SSE"]

    assert bm.remove_node_trait(ident, "CUSTOM_Z") is True
    # Absent: Ironic answers 404, where the SDK's ignore_missing looks for a 400, so
    # it raises NotFound either way (as it does against Ironic).
    for ignore in (True, False):
        with pytest.raises(exceptions.NotFoundException, match="doesn't have a trait 'CUSTOM_Z'"):
            bm.remove_node_trait(ident, "CUSTOM_Z", ignore_missing=ignore)
    assert bm.get_node(ident).traits == ["CUSTOM_NEW", "HW_CPU_X86_SSE"]

    with pytest.raises(exceptions.BadRequestException, match="maximum number of traits"):
        bm.set_node_traits(ident, [f"CUSTOM_T{i:02d}" for i in range(51)])
    with pytest.raises(exceptions.BadRequestException, match="Schema error for body"):
        bm.set_node_traits(ident, ["lower_case"])
    assert bm.get_node(ident).traits == ["CUSTOM_NEW", "HW_CPU_X86_SSE"]
    bm.set_node_traits(ident, [])
    assert bm.get_node(ident).traits == []
