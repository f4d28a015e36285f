"""Volume connectors and targets through openstacksdk's baremetal proxy (clients.md §2)."""

import uuid

import pytest
from openstack import exceptions

from conftest import iqn


# ---------------------------------------------------------------------------
# Connectors


def test_connector_create_get(bm, node):
    cid = iqn()
    c = bm.create_volume_connector(
        node_id=node["uuid"], type="iqn", connector_id=cid, extra={"rack": "r1"}
    )
    assert uuid.UUID(c.id)
    assert c.node_id == node["uuid"]
    assert (c.type, c.connector_id, c.extra) == ("iqn", cid, {"rack": "r1"})
    assert c.created_at and c.updated_at is None
    assert {link["rel"] for link in c.links} == {"self", "bookmark"}

    got = bm.get_volume_connector(c.id)
    assert (got.id, got.node_id, got.type, got.connector_id) == (c.id, node["uuid"], "iqn", cid)
    assert got.extra == {"rack": "r1"}

    only = bm.get_volume_connector(c.id, fields=["connector_id"])
    assert only.connector_id == cid
    assert only.type is None and only.node_id is None


def test_connector_create_with_uuid_and_null_extra(bm, node):
    wanted = str(uuid.uuid4())
    ip = "192.0.2.17-" + wanted[:8]  # unique: the database may be shared between runs
    c = bm.create_volume_connector(
        id=wanted, node_id=node["uuid"], type="ip", connector_id=ip, extra=None
    )
    assert c.id == wanted
    assert c.extra == {}
    assert bm.get_volume_connector(wanted).connector_id == ip


def test_connector_list_details_fields_node(bm, make_node):
    n1, n2 = make_node(), make_node()
    mine = [
        bm.create_volume_connector(node_id=n1["uuid"], type="iqn", connector_id=iqn()),
        bm.create_volume_connector(node_id=n1["uuid"], type="wwpn", connector_id=uuid.uuid4().hex[:16]),
    ]
    other = bm.create_volume_connector(node_id=n2["uuid"], type="iqn", connector_id=iqn())

    brief = list(bm.volume_connectors(node=n1["uuid"]))
    assert [c.id for c in brief] == [c.id for c in mine]
    for c in brief:
        assert c.node_id == n1["uuid"] and c.type and c.connector_id
        assert c.extra is None and c.created_at is None  # default fields only

    detailed = list(bm.volume_connectors(details=True, node=n1["uuid"]))
    assert [c.id for c in detailed] == [c.id for c in mine]
    assert all(c.extra == {} and c.created_at for c in detailed)

    # A node name works as the filter too.
    assert [c.id for c in bm.volume_connectors(node=n2["name"])] == [other.id]

    subset = list(bm.volume_connectors(node=n2["uuid"], fields=["uuid", "connector_id"]))
    assert len(subset) == 1
    assert subset[0].id == other.id and subset[0].connector_id == other.connector_id
    assert subset[0].type is None and subset[0].node_id is None

    everything = {c.id for c in bm.volume_connectors()}
    assert {c.id for c in mine} | {other.id} <= everything


def test_connector_pagination(bm, node):
    made = [
        bm.create_volume_connector(node_id=node["uuid"], type="iqn", connector_id=iqn()).id
        for _ in range(5)
    ]
    # The SDK follows `next` links page by page.
    assert [c.id for c in bm.volume_connectors(node=node["uuid"], limit=2)] == made
    # Starting after a marker.
    assert [c.id for c in bm.volume_connectors(node=node["uuid"], limit=2, marker=made[1])] == made[2:]
    assert [c.id for c in bm.volume_connectors(node=node["uuid"], limit=10, marker=made[4])] == []


def test_connector_update_and_patch(bm, node):
    c = bm.create_volume_connector(node_id=node["uuid"], type="iqn", connector_id=iqn())

    # update() on the object: the SDK diffs old and new bodies.
    updated = bm.update_volume_connector(c, extra={"a": "1"})
    assert updated.extra == {"a": "1"}
    assert updated.updated_at is not None

    # update() on a bare id: `add` ops on top-level members that already exist.
    new_id = iqn()
    updated = bm.update_volume_connector(c.id, connector_id=new_id, type="iqn")
    assert updated.connector_id == new_id
    assert bm.get_volume_connector(c.id).connector_id == new_id

    patched = bm.patch_volume_connector(
        c.id,
        [
            {"op": "add", "path": "/extra/b", "value": {"nested": [1, 2]}},
            {"op": "replace", "path": "/extra/a", "value": "2"},
        ],
    )
    assert patched.extra == {"a": "2", "b": {"nested": [1, 2]}}
    patched = bm.patch_volume_connector(c.id, [{"op": "remove", "path": "/extra/a"}])
    assert patched.extra == {"b": {"nested": [1, 2]}}
    patched = bm.patch_volume_connector(c.id, [{"op": "remove", "path": "/extra"}])
    assert patched.extra == {}


def test_connector_move_to_other_node(bm, make_node):
    n1, n2 = make_node(), make_node()
    c = bm.create_volume_connector(node_id=n1["uuid"], type="iqn", connector_id=iqn())
    moved = bm.patch_volume_connector(c.id, [{"op": "replace", "path": "/node_uuid", "value": n2["uuid"]}])
    assert moved.node_id == n2["uuid"]
    assert [x.id for x in bm.volume_connectors(node=n2["uuid"])] == [c.id]
    assert list(bm.volume_connectors(node=n1["uuid"])) == []


def test_connector_delete(bm, node):
    c = bm.create_volume_connector(node_id=node["uuid"], type="iqn", connector_id=iqn())
    assert bm.delete_volume_connector(c.id) is not None
    with pytest.raises(exceptions.NotFoundException):
        bm.get_volume_connector(c.id)
    # Already gone: swallowed by default, raised on request.
    assert bm.delete_volume_connector(c.id) is None
    assert bm.delete_volume_connector(c.id, ignore_missing=True) is None
    with pytest.raises(exceptions.NotFoundException):
        bm.delete_volume_connector(c.id, ignore_missing=False)


def test_connector_errors(bm, node):
    cid = iqn()
    first = bm.create_volume_connector(node_id=node["uuid"], type="iqn", connector_id=cid)

    # Duplicate (type, connector_id), across nodes too, and a duplicate uuid.
    with pytest.raises(exceptions.ConflictException) as e:
        bm.create_volume_connector(node_id=node["uuid"], type="iqn", connector_id=cid)
    assert cid in str(e.value)
    with pytest.raises(exceptions.ConflictException):
        bm.create_volume_connector(id=first.id, node_id=node["uuid"], type="iqn", connector_id=iqn())

    # Unknown node on create is a 400, not a 404.
    missing = str(uuid.uuid4())
    with pytest.raises(exceptions.BadRequestException) as e:
        bm.create_volume_connector(node_id=missing, type="iqn", connector_id=iqn())
    assert missing in str(e.value)
    # Missing required attribute.
    with pytest.raises(exceptions.BadRequestException):
        bm.create_volume_connector(node_id=node["uuid"], type="iqn")
    # Not a UUID.
    with pytest.raises(exceptions.BadRequestException):
        bm.get_volume_connector("not-a-uuid")
    # Unknown connector.
    with pytest.raises(exceptions.NotFoundException):
        bm.get_volume_connector(missing)
    with pytest.raises(exceptions.NotFoundException):
        bm.update_volume_connector(missing, extra={"x": 1})
    # Unknown node filter, unknown marker.
    with pytest.raises(exceptions.NotFoundException):
        list(bm.volume_connectors(node=missing))
    with pytest.raises(exceptions.NotFoundException):
        list(bm.volume_connectors(marker=missing))
    # Patching a read-only member, a missing member.
    with pytest.raises(exceptions.BadRequestException):
        bm.patch_volume_connector(first.id, [{"op": "replace", "path": "/uuid", "value": missing}])
    with pytest.raises(exceptions.BadRequestException):
        bm.patch_volume_connector(first.id, [{"op": "remove", "path": "/extra/nope"}])
    # Updating to a duplicate (type, connector_id).
    second = bm.create_volume_connector(node_id=node["uuid"], type="iqn", connector_id=iqn())
    with pytest.raises(exceptions.ConflictException):
        bm.update_volume_connector(second.id, connector_id=cid)


def test_connector_update_needs_power_off(bm, api, node):
    c = bm.create_volume_connector(node_id=node["uuid"], type="iqn", connector_id=iqn())
    api.set_power(node["uuid"], "power on")
    with pytest.raises(exceptions.BadRequestException) as e:
        bm.update_volume_connector(c.id, extra={"x": "y"})
    assert "power on" in str(e.value)
    api.set_power(node["uuid"], "power off")
    assert bm.update_volume_connector(c.id, extra={"x": "y"}).extra == {"x": "y"}


# ---------------------------------------------------------------------------
# Targets

ISCSI_PROPS = {
    "target_discovered": False,
    "target_iqn": "iqn.2010-10.org.openstack:volume-f3e9a1b4",
    "target_portal": "192.0.2.10:3260",
    "target_lun": 1,
    "auth_method": "CHAP",
    "auth_username": "Xq3vA",
    "auth_password": "s3cr3t",
}


def test_target_create_get(bm, node):
    vol = str(uuid.uuid4())
    t = bm.create_volume_target(
        node_id=node["uuid"],
        volume_type="iscsi",
        boot_index=0,
        volume_id=vol,
        properties=ISCSI_PROPS,
        extra={"k": "v"},
    )
    assert uuid.UUID(t.id)
    assert (t.node_id, t.volume_type, t.boot_index, t.volume_id) == (node["uuid"], "iscsi", 0, vol)
    assert t.extra == {"k": "v"}
    # Secrets are masked in every response.
    assert t.properties["auth_password"] == "******"
    assert t.properties["target_lun"] == 1
    assert t.created_at and t.updated_at is None

    got = bm.get_volume_target(t.id)
    assert (got.id, got.boot_index, got.volume_id) == (t.id, 0, vol)
    assert got.properties["target_iqn"] == ISCSI_PROPS["target_iqn"]
    assert got.properties["auth_password"] == "******"

    only = bm.get_volume_target(t.id, fields=["volume_id", "boot_index"])
    assert (only.volume_id, only.boot_index) == (vol, 0)
    assert only.properties is None and only.volume_type is None


def test_target_list_details_fields_node_pagination(bm, make_node):
    n1, n2 = make_node(), make_node()
    mine = [
        bm.create_volume_target(
            node_id=n1["uuid"], volume_type="iscsi", boot_index=i, volume_id=str(uuid.uuid4())
        )
        for i in range(4)
    ]
    other = bm.create_volume_target(
        node_id=n2["uuid"], volume_type="fibre_channel", boot_index=0, volume_id=str(uuid.uuid4())
    )
    ids = [t.id for t in mine]

    brief = list(bm.volume_targets(node=n1["uuid"]))
    assert [t.id for t in brief] == ids
    assert [t.boot_index for t in brief] == [0, 1, 2, 3]
    assert all(t.properties is None and t.volume_type == "iscsi" for t in brief)

    detailed = list(bm.volume_targets(details=True, node=n1["uuid"]))
    assert [t.id for t in detailed] == ids
    assert all(t.properties == {} and t.extra == {} and t.created_at for t in detailed)

    subset = list(bm.volume_targets(node=n2["uuid"], fields=["uuid", "volume_type"]))
    assert [(t.id, t.volume_type, t.boot_index) for t in subset] == [(other.id, "fibre_channel", None)]

    assert [t.id for t in bm.volume_targets(node=n1["uuid"], limit=3)] == ids
    assert [t.id for t in bm.volume_targets(node=n1["uuid"], limit=1, marker=ids[1])] == ids[2:]


def test_target_update_and_patch(bm, node):
    t = bm.create_volume_target(
        node_id=node["uuid"], volume_type="iscsi", boot_index=0, volume_id=str(uuid.uuid4())
    )
    new_vol = str(uuid.uuid4())
    updated = bm.update_volume_target(t, volume_id=new_vol, properties={"target_lun": 3})
    assert updated.volume_id == new_vol and updated.properties == {"target_lun": 3}
    assert updated.updated_at is not None

    updated = bm.update_volume_target(t.id, boot_index=5, extra={"e": 1})
    assert (updated.boot_index, updated.extra) == (5, {"e": 1})

    patched = bm.patch_volume_target(
        t.id,
        [
            {"op": "add", "path": "/properties/auth_password", "value": "x"},
            {"op": "replace", "path": "/volume_type", "value": "fibre_channel"},
        ],
    )
    assert patched.volume_type == "fibre_channel"
    assert patched.properties == {"target_lun": 3, "auth_password": "******"}
    patched = bm.patch_volume_target(t.id, [{"op": "remove", "path": "/properties"}])
    assert patched.properties == {}


def test_target_delete(bm, node):
    t = bm.create_volume_target(
        node_id=node["uuid"], volume_type="iscsi", boot_index=0, volume_id=str(uuid.uuid4())
    )
    bm.delete_volume_target(t)
    with pytest.raises(exceptions.NotFoundException):
        bm.get_volume_target(t.id)
    assert bm.delete_volume_target(t.id, ignore_missing=True) is None
    with pytest.raises(exceptions.NotFoundException):
        bm.delete_volume_target(t.id, ignore_missing=False)


def test_target_errors(bm, node):
    vol = str(uuid.uuid4())
    first = bm.create_volume_target(node_id=node["uuid"], volume_type="iscsi", boot_index=0, volume_id=vol)

    # Same boot index on the same node.
    with pytest.raises(exceptions.ConflictException) as e:
        bm.create_volume_target(node_id=node["uuid"], volume_type="iscsi", boot_index=0, volume_id=vol)
    assert "0" in str(e.value)
    # The same volume on another boot index is fine (multi-attach).
    second = bm.create_volume_target(node_id=node["uuid"], volume_type="iscsi", boot_index=1, volume_id=vol)
    # Moving onto a used boot index.
    with pytest.raises(exceptions.ConflictException):
        bm.update_volume_target(second.id, boot_index=0)

    missing = str(uuid.uuid4())
    with pytest.raises(exceptions.BadRequestException):
        bm.create_volume_target(node_id=missing, volume_type="iscsi", boot_index=0, volume_id=vol)
    # boot_index must be an integer; null (as Nova sends for some data volumes) fails too.
    with pytest.raises(exceptions.BadRequestException):
        bm.create_volume_target(node_id=node["uuid"], volume_type="iscsi", boot_index="2", volume_id=vol)
    with pytest.raises(exceptions.BadRequestException):
        bm.create_volume_target(node_id=node["uuid"], volume_type="iscsi", boot_index=None, volume_id=vol)
    # volume_id must be a string.
    with pytest.raises(exceptions.BadRequestException):
        bm.patch_volume_target(first.id, [{"op": "replace", "path": "/volume_id", "value": 123}])
    with pytest.raises(exceptions.NotFoundException):
        bm.get_volume_target(missing)
    with pytest.raises(exceptions.NotFoundException):
        bm.patch_volume_target(missing, [{"op": "remove", "path": "/extra"}])
    with pytest.raises(exceptions.NotFoundException):
        list(bm.volume_targets(node=missing))
