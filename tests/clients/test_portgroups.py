"""Port groups through the real clients: the `baremetal` CLI's `port group` commands and
`port list --node/--port-group`, `port create --port-group`, and openstacksdk's port
group calls and `ports(node=...)`."""

import uuid

import pytest

from conftest import unique


def _mac():
    raw = uuid.uuid4().bytes[:5]
    return "52:" + ":".join("%02x" % b for b in raw)


def test_port_group_commands(cli, make_node):
    node, other = make_node(), make_node()
    name = unique("bond")
    mac = _mac()
    created = cli.json(
        "port", "group", "create", "--node", node["uuid"], "--name", name,
        "--address", mac.upper(), "--mode", "802.3ad", "--property", "miimon=100",
        "--extra", "rack=r1", "--unsupport-standalone-ports",
    )
    pg = created["uuid"]
    assert created["name"] == name
    assert created["address"] == mac
    assert created["node_uuid"] == node["uuid"]
    assert created["mode"] == "802.3ad"
    assert created["properties"] == {"miimon": 100}
    assert created["extra"] == {"rack": "r1"}
    assert created["standalone_ports_supported"] is False

    default = cli.json("port", "group", "create", "--node", node["uuid"])
    assert default["mode"] == "active-backup"
    assert default["standalone_ports_supported"] is True
    assert default["name"] is None and default["address"] is None

    listed = cli.json("port", "group", "list", "--node", node["uuid"])
    assert [(g["uuid"], g["address"], g["name"]) for g in listed] == [
        (pg, mac, name), (default["uuid"], None, None)]
    by_address = cli.json("port", "group", "list", "--address", mac)
    assert [g["uuid"] for g in by_address] == [pg]
    long = cli.json("port", "group", "list", "--node", node["uuid"], "--long")
    assert long[0]["mode"] == "802.3ad" and long[0]["properties"] == {"miimon": 100}
    assert cli.json("port", "group", "list", "--node", other["uuid"]) == []

    shown = cli.json("port", "group", "show", name)
    assert shown["uuid"] == pg and "links" not in shown
    assert cli.json("port", "group", "show", pg, "--fields", "mode") == {"mode": "802.3ad"}

    new_name = unique("bond")
    cli.run("port", "group", "set", pg, "--name", new_name, "--mode", "balance-rr",
            "--extra", "note=moved", "--property", "lacp_rate=fast",
            "--support-standalone-ports")
    shown = cli.json("port", "group", "show", new_name)
    assert shown["mode"] == "balance-rr"
    assert shown["extra"] == {"rack": "r1", "note": "moved"}
    assert shown["properties"] == {"miimon": 100, "lacp_rate": "fast"}
    assert shown["standalone_ports_supported"] is True
    assert shown["updated_at"]
    cli.run("port", "group", "unset", pg, "--name", "--address", "--extra", "rack",
            "--property", "miimon")
    shown = cli.json("port", "group", "show", pg)
    assert (shown["name"], shown["address"]) == (None, None)
    assert shown["extra"] == {"note": "moved"} and shown["properties"] == {"lacp_rate": "fast"}

    # Ports join the group at creation and are listed by node or by group.
    member = cli.json("port", "create", _mac(), "--node", node["uuid"], "--port-group", pg)
    assert member["portgroup_uuid"] == pg
    loose = cli.json("port", "create", _mac(), "--node", node["uuid"])
    assert loose["portgroup_uuid"] is None
    by_node = cli.json("port", "list", "--node", node["uuid"])
    assert [p["uuid"] for p in by_node] == [member["uuid"], loose["uuid"]]
    by_group = cli.json("port", "list", "--port-group", pg)
    assert [p["uuid"] for p in by_group] == [member["uuid"]]
    cli.run("port", "set", loose["uuid"], "--port-group", pg)
    assert len(cli.json("port", "list", "--port-group", pg)) == 2

    # A group holding ports stays; a port of another node cannot join it.
    refused = cli.run("port", "group", "delete", pg, check=False)
    assert refused.returncode != 0
    assert "contains ports" in refused.stderr
    foreign = cli.run("port", "create", _mac(), "--node", other["uuid"], "--port-group", pg,
                      check=False)
    assert foreign.returncode != 0
    assert "belonging to a different node" in foreign.stderr
    bad = cli.run("port", "group", "create", "--node", node["uuid"], "--address", "zz",
                  check=False)
    assert bad.returncode != 0 and "Expected valid MAC address" in bad.stderr
    taken = cli.run("port", "group", "create", "--node", node["uuid"], "--name",
                    unique("x"), "--address", mac, check=False)
    assert taken.returncode == 0  # the address was unset above
    again = cli.run("port", "group", "create", "--node", node["uuid"], "--address", mac,
                    check=False)
    assert again.returncode != 0 and "already exists" in again.stderr

    cli.run("port", "unset", member["uuid"], "--port-group")
    cli.run("port", "unset", loose["uuid"], "--port-group")
    cli.run("port", "group", "delete", pg, default["uuid"])
    gone = cli.run("port", "group", "show", pg, check=False)
    assert gone.returncode != 0 and pg in gone.stderr


def test_sdk_port_groups(bm, make_node):
    node, other = make_node(), make_node()
    name = unique("bond")
    mac = _mac()
    pg = bm.create_port_group(node_id=node["uuid"], name=name, address=mac,
                              mode="802.3ad", properties={"miimon": "100"},
                              extra={"rack": "r1"})
    assert pg.name == name and pg.address == mac and pg.node_id == node["uuid"]
    assert pg.mode == "802.3ad" and pg.properties == {"miimon": "100"}
    assert pg.is_standalone_ports_supported is True
    assert [g.id for g in bm.port_groups(node=node["uuid"])] == [pg.id]
    detailed = list(bm.port_groups(details=True, node=node["uuid"]))
    assert detailed[0].mode == "802.3ad" and detailed[0].extra == {"rack": "r1"}
    assert list(bm.port_groups(node=other["uuid"])) == []
    assert bm.get_port_group(name).id == pg.id

    updated = bm.update_port_group(pg, mode="balance-rr", extra={"rack": "r2"})
    assert updated.mode == "balance-rr" and updated.extra == {"rack": "r2"}
    patched = bm.patch_port_group(pg, [{"op": "add", "path": "/properties/lacp_rate",
                                        "value": "fast"}])
    assert patched.properties == {"miimon": "100", "lacp_rate": "fast"}

    port = bm.create_port(node_id=node["uuid"], address=_mac(), port_group_id=pg.id)
    assert port.port_group_id == pg.id
    bm.create_port(node_id=other["uuid"], address=_mac())
    mine = list(bm.ports(node=node["uuid"]))
    assert [p.id for p in mine] == [port.id]
    assert [p.id for p in bm.ports(details=True, portgroup=pg.id)] == [port.id]
    assert [p.port_group_id for p in bm.ports(details=True, node=node["uuid"])] == [pg.id]

    from openstack import exceptions
    with pytest.raises(exceptions.BadRequestException, match="contains ports"):
        bm.delete_port_group(pg)
    bm.delete_port(port)
    bm.delete_port_group(pg)
    with pytest.raises(exceptions.NotFoundException):
        bm.get_port_group(pg.id)
    assert bm.delete_port_group(pg.id, ignore_missing=True) is None


def test_node_scoped_lists_over_http(api, make_node):
    node = make_node()
    pg = api.post("/v1/portgroups", {"node_uuid": node["uuid"]}, expect=201).json()
    port = api.post("/v1/ports", {"node_uuid": node["uuid"], "address": _mac(),
                                  "portgroup_uuid": pg["uuid"]}, expect=201).json()
    ports = api.get(f"/v1/nodes/{node['name']}/ports/detail", expect=200).json()["ports"]
    assert [(p["uuid"], p["portgroup_uuid"]) for p in ports] == [(port["uuid"], pg["uuid"])]
    groups = api.get(f"/v1/nodes/{node['uuid']}/portgroups", expect=200).json()
    assert [g["uuid"] for g in groups["portgroups"]] == [pg["uuid"]]
    members = api.get(f"/v1/portgroups/{pg['uuid']}/ports", expect=200).json()
    assert [p["uuid"] for p in members["ports"]] == [port["uuid"]]
    api.get(f"/v1/nodes/{node['uuid']}/portgroups", version="1.23", expect=404)
