"""Chassis through the real clients: the `baremetal` CLI (`chassis create/list/show/set/
unset/delete`, `node create --chassis-uuid`, `node list --chassis`) and openstacksdk
(`create_chassis`, `chassis`, `get_chassis`, `update_chassis`, `delete_chassis`)."""

import uuid

import pytest
from openstack import exceptions as sdk_exc

from conftest import unique


def test_chassis_commands(cli):
    wanted = str(uuid.uuid4())
    created = cli.json(
        "chassis", "create", "--uuid", wanted, "--description", "rack 1",
        "--extra", "row=4", "--extra", "room=a",
    )
    assert created["uuid"] == wanted
    assert created["description"] == "rack 1"
    # k=v values are JSON-decoded by the client when they parse.
    assert created["extra"] == {"row": 4, "room": "a"}
    assert created["created_at"] and created["updated_at"] is None
    other = cli.json("chassis", "create")

    listed = cli.json("chassis", "list")
    mine = [c for c in listed if c["uuid"] in (wanted, other["uuid"])]
    assert mine == [
        {"uuid": wanted, "description": "rack 1"},
        {"uuid": other["uuid"], "description": None},
    ]
    long = {c["uuid"]: c for c in cli.json("chassis", "list", "--long")}
    assert long[wanted]["extra"] == {"row": 4, "room": "a"}
    some = cli.json("chassis", "list", "--fields", "uuid", "extra")
    assert {"uuid": wanted, "extra": {"row": 4, "room": "a"}} in some
    paged = cli.json("chassis", "list", "--limit", "1", "--sort", "description:desc")
    assert len(paged) == 1

    shown = cli.json("chassis", "show", wanted)
    assert shown["description"] == "rack 1"
    assert "links" not in shown
    assert cli.json("chassis", "show", wanted, "--fields", "extra") == {"extra": {"row": 4, "room": "a"}}

    cli.run("chassis", "set", wanted, "--description", "rack 2", "--extra", "slot=7")
    shown = cli.json("chassis", "show", wanted)
    assert shown["description"] == "rack 2"
    assert shown["extra"] == {"row": 4, "room": "a", "slot": 7}
    assert shown["updated_at"]
    cli.run("chassis", "unset", wanted, "--description", "--extra", "room")
    shown = cli.json("chassis", "show", wanted)
    assert shown["description"] is None
    assert shown["extra"] == {"row": 4, "slot": 7}

    cli.run("chassis", "delete", wanted, other["uuid"])
    gone = cli.run("chassis", "show", wanted, check=False)
    assert gone.returncode != 0
    assert f"Chassis {wanted} could not be found." in gone.stderr
    failed = cli.run("chassis", "delete", wanted, check=False)
    assert failed.returncode != 0


def test_nodes_in_a_chassis_through_the_cli(cli):
    chassis = cli.json("chassis", "create", "--description", "enclosure")["uuid"]
    name = unique("node")
    node = cli.json("node", "create", "--driver", "fake-hardware", "--name", name,
                    "--chassis-uuid", chassis)
    assert node["chassis_uuid"] == chassis
    loose = cli.json("node", "create", "--driver", "fake-hardware", "--name", unique("node"))
    assert loose["chassis_uuid"] is None

    listed = cli.json("node", "list", "--chassis", chassis)
    assert [n["name"] for n in listed] == [name]
    long = cli.json("node", "list", "--chassis", chassis, "--long")
    assert [n["chassis_uuid"] for n in long] == [chassis]
    assert cli.json("node", "show", node["uuid"], "--fields", "chassis_uuid") == {"chassis_uuid": chassis}

    missing = str(uuid.uuid4())
    refused = cli.run("node", "create", "--driver", "fake-hardware", "--chassis-uuid", missing,
                      check=False)
    assert refused.returncode != 0
    assert f"Chassis {missing} could not be found." in refused.stderr
    busy = cli.run("chassis", "delete", chassis, check=False)
    assert busy.returncode != 0
    assert f"chassis {chassis} contains nodes" in busy.stderr

    # Out of the chassis (the CLI negotiates a version that allows it), then both go.
    cli.run("node", "unset", node["uuid"], "--chassis-uuid")
    assert cli.json("node", "show", node["uuid"])["chassis_uuid"] is None
    assert cli.json("node", "list", "--chassis", chassis) == []
    cli.run("chassis", "delete", chassis)
    cli.run("node", "delete", node["uuid"], loose["uuid"])


def test_chassis_through_openstacksdk(bm, make_node):
    created = bm.create_chassis(description="rack sdk", extra={"row": 1})
    assert created.id and created.description == "rack sdk"
    assert created.extra == {"row": 1}
    assert created.created_at and created.updated_at is None

    fetched = bm.get_chassis(created.id)
    assert (fetched.id, fetched.description, fetched.extra) == (created.id, "rack sdk", {"row": 1})
    # The nested list of links to the chassis's nodes comes through as the server sends it.
    assert fetched.nodes[0][0]["href"].endswith(f"/v1/chassis/{created.id}/nodes")

    assert created.id in [c.id for c in bm.chassis()]
    detailed = {c.id: c for c in bm.chassis(details=True)}
    assert detailed[created.id].extra == {"row": 1}

    updated = bm.update_chassis(created, description="rack sdk 2", extra={"row": 2})
    assert updated.description == "rack sdk 2" and updated.extra == {"row": 2}
    assert bm.get_chassis(created.id).updated_at

    node = make_node(chassis_uuid=created.id)
    assert node["chassis_uuid"] == created.id
    assert bm.get_node(node["uuid"]).chassis_id == created.id
    with pytest.raises(sdk_exc.BadRequestException, match="contains nodes"):
        bm.delete_chassis(created, ignore_missing=False)
    bm.update_node(node["uuid"], chassis_id=None)
    assert bm.get_node(node["uuid"]).chassis_id is None

    bm.delete_chassis(created, ignore_missing=False)
    with pytest.raises(sdk_exc.NotFoundException):
        bm.get_chassis(created.id)
    assert bm.delete_chassis(created.id) is None
