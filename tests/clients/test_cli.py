"""The `baremetal` CLI (python-ironicclient's OSC plugin), run as a subprocess (clients.md §3).

The CLI starts at its own maximum microversion and negotiates down after the
server's 406, so every command here also exercises that handshake.
"""

import random
import uuid

from conftest import iqn


def test_connector_commands(cli, make_node):
    node, other = make_node(), make_node()
    cid = iqn()
    wanted = str(uuid.uuid4())
    created = cli.json(
        "volume", "connector", "create",
        "--node", node["uuid"], "--type", "iqn", "--connector-id", cid,
        "--uuid", wanted, "--extra", "rack=r1", "--extra", "slot=3",
    )
    assert created["uuid"] == wanted
    assert created["node_uuid"] == node["uuid"]
    assert (created["type"], created["connector_id"]) == ("iqn", cid)
    # k=v values are JSON-decoded by the client when they parse.
    assert created["extra"] == {"rack": "r1", "slot": 3}
    assert created["created_at"] and created["updated_at"] is None
    ip = "192.0.2.%d" % random.randint(1, 254) + "-" + uuid.uuid4().hex[:6]
    second = cli.json(
        "volume", "connector", "create",
        "--node", node["uuid"], "--type", "ip", "--connector-id", ip,
    )

    listed = cli.json("volume", "connector", "list", "--node", node["uuid"])
    assert listed == [
        {"uuid": wanted, "node_uuid": node["uuid"], "type": "iqn", "connector_id": cid},
        {"uuid": second["uuid"], "node_uuid": node["uuid"], "type": "ip",
         "connector_id": ip},
    ]
    long = cli.json("volume", "connector", "list", "--node", node["uuid"], "--long")
    assert [c["extra"] for c in long] == [{"rack": "r1", "slot": 3}, {}]
    assert all(c["created_at"] for c in long)
    some = cli.json("volume", "connector", "list", "--node", node["uuid"], "--fields", "uuid", "type")
    assert some == [{"uuid": wanted, "type": "iqn"},
                    {"uuid": second["uuid"], "type": "ip"}]
    # --limit N: at most N items.
    paged = cli.json("volume", "connector", "list", "--node", node["uuid"], "--limit", "1")
    assert [c["uuid"] for c in paged] == [wanted]
    assert {c["uuid"] for c in cli.json("volume", "connector", "list")} >= {wanted, second["uuid"]}
    after = cli.json("volume", "connector", "list", "--node", node["uuid"], "--marker", wanted)
    assert [c["uuid"] for c in after] == [second["uuid"]]

    shown = cli.json("volume", "connector", "show", wanted)
    assert shown["connector_id"] == cid and shown["extra"] == {"rack": "r1", "slot": 3}
    assert "links" not in shown
    assert cli.json("volume", "connector", "show", wanted, "--fields", "type") == {"type": "iqn"}

    new_cid = iqn()
    cli.run("volume", "connector", "set", wanted, "--connector-id", new_cid,
            "--extra", "rack=r2", "--extra", "note=moved")
    shown = cli.json("volume", "connector", "show", wanted)
    assert shown["connector_id"] == new_cid
    assert shown["extra"] == {"rack": "r2", "slot": 3, "note": "moved"}
    assert shown["updated_at"]

    cli.run("volume", "connector", "set", wanted, "--node", other["uuid"], "--type", "iqn")
    assert cli.json("volume", "connector", "show", wanted)["node_uuid"] == other["uuid"]

    cli.run("volume", "connector", "unset", wanted, "--extra", "slot", "--extra", "note")
    assert cli.json("volume", "connector", "show", wanted)["extra"] == {"rack": "r2"}

    cli.run("volume", "connector", "delete", wanted, second["uuid"])
    assert cli.json("volume", "connector", "list", "--node", node["uuid"]) == []
    assert cli.json("volume", "connector", "list", "--node", other["uuid"]) == []

    gone = cli.run("volume", "connector", "show", wanted, check=False)
    assert gone.returncode != 0
    assert wanted in gone.stderr
    failed = cli.run("volume", "connector", "delete", wanted, check=False)
    assert failed.returncode != 0


def test_target_commands(cli, node):
    vol = str(uuid.uuid4())
    created = cli.json(
        "volume", "target", "create",
        "--node", node["uuid"], "--type", "iscsi", "--boot-index", "0", "--volume-id", vol,
        "--property", "target_iqn=iqn.2010-10.org.openstack:volume-1",
        "--property", "target_portal=192.0.2.10:3260",
        "--property", "target_lun=0",
        "--property", "auth_password=s3cr3t",
        "--extra", "owner=ops",
    )
    tid = created["uuid"]
    assert created["node_uuid"] == node["uuid"]
    assert (created["volume_type"], created["boot_index"], created["volume_id"]) == ("iscsi", 0, vol)
    assert created["properties"] == {
        "target_iqn": "iqn.2010-10.org.openstack:volume-1",
        "target_portal": "192.0.2.10:3260",
        "target_lun": 0,  # JSON-decoded to an integer by the client
        "auth_password": "******",
    }
    assert created["extra"] == {"owner": "ops"}
    data = cli.json(
        "volume", "target", "create",
        "--node", node["uuid"], "--type", "iscsi", "--boot-index", "1", "--volume-id", vol,
    )

    listed = cli.json("volume", "target", "list", "--node", node["uuid"])
    assert listed == [
        {"uuid": tid, "node_uuid": node["uuid"], "volume_type": "iscsi",
         "boot_index": 0, "volume_id": vol},
        {"uuid": data["uuid"], "node_uuid": node["uuid"], "volume_type": "iscsi",
         "boot_index": 1, "volume_id": vol},
    ]
    long = cli.json("volume", "target", "list", "--node", node["uuid"], "--long")
    assert long[0]["properties"]["target_lun"] == 0
    assert long[1]["properties"] == {}
    some = cli.json("volume", "target", "list", "--node", node["uuid"], "--fields", "uuid", "boot_index")
    assert some == [{"uuid": tid, "boot_index": 0}, {"uuid": data["uuid"], "boot_index": 1}]

    shown = cli.json("volume", "target", "show", tid)
    assert shown["properties"]["auth_password"] == "******"
    assert cli.json("volume", "target", "show", tid, "--fields", "volume_id") == {"volume_id": vol}

    new_vol = str(uuid.uuid4())
    cli.run("volume", "target", "set", tid, "--volume-id", new_vol, "--type", "iscsi",
            "--property", "target_lun=2", "--extra", "owner=storage")
    shown = cli.json("volume", "target", "show", tid)
    assert shown["volume_id"] == new_vol
    assert shown["properties"]["target_lun"] == 2
    assert shown["extra"] == {"owner": "storage"}

    cli.run("volume", "target", "set", data["uuid"], "--boot-index", "7")
    assert cli.json("volume", "target", "show", data["uuid"])["boot_index"] == 7

    cli.run("volume", "target", "unset", tid, "--property", "auth_password", "--extra", "owner")
    shown = cli.json("volume", "target", "show", tid)
    assert "auth_password" not in shown["properties"]
    assert shown["extra"] == {}

    cli.run("volume", "target", "delete", tid, data["uuid"])
    assert cli.json("volume", "target", "list", "--node", node["uuid"]) == []
    assert cli.run("volume", "target", "show", tid, check=False).returncode != 0


def test_target_errors_are_reported(cli, node):
    # Unknown node: the server's 400 message reaches the user.
    missing = str(uuid.uuid4())
    bad = cli.run(
        "volume", "target", "create", "--node", missing, "--type", "iscsi",
        "--boot-index", "0", "--volume-id", "v", check=False,
    )
    assert bad.returncode != 0
    assert missing in bad.stderr
    # A volume id that parses as JSON is sent as a number: rejected (400).
    t = cli.json(
        "volume", "target", "create", "--node", node["uuid"], "--type", "iscsi",
        "--boot-index", "0", "--volume-id", "v1",
    )
    bad = cli.run("volume", "target", "set", t["uuid"], "--volume-id", "123", check=False)
    assert bad.returncode != 0
    assert cli.json("volume", "target", "show", t["uuid"])["volume_id"] == "v1"


def test_conflict_message_reaches_the_user(cli, node):
    """A 409 (duplicate boot index) must come out as the server's message.

    python-ironicclient retries a 409 a few times, then builds its exception from the
    response; a `Retry-After` header on that response makes it crash instead
    (`HttpError.__init__() got an unexpected keyword argument 'retry_after'`, in
    ironicclient/common/apiclient/exceptions.py from_response). Ironic sends no
    Retry-After.
    """
    cli.json(
        "volume", "target", "create", "--node", node["uuid"], "--type", "iscsi",
        "--boot-index", "0", "--volume-id", "v1",
    )
    dup = cli.run(
        "volume", "target", "create", "--node", node["uuid"], "--type", "iscsi",
        "--boot-index", "0", "--volume-id", "v2", check=False,
    )
    assert dup.returncode != 0
    assert "already exists" in dup.stderr, dup.stderr


def test_node_validate(cli, make_node, bm):
    node = make_node(
        boot_interface="fake", deploy_interface="fake", storage_interface="external",
        network_interface="noop",
    )
    rows = cli.json("node", "validate", node["uuid"])
    by_iface = {r["Interface"]: r for r in rows}
    for iface in ("boot", "deploy", "management", "network", "power", "storage"):
        assert iface in by_iface, rows
    for iface in ("boot", "deploy", "power", "storage"):
        assert by_iface[iface]["Result"] is True, by_iface[iface]
        assert not by_iface[iface]["Reason"]
    for row in rows:
        if row["Result"] is False:
            assert row["Reason"], row
    # The CLI accepts the node name too.
    assert cli.json("node", "validate", node["name"]) == rows
