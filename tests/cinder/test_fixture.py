"""The Cinder fixture (cinder_service.py) does what tests will count on: volumes that
Cinder creates, attaches and detaches through its v3 API as Ironic's ``cinder``
storage interface drives it, exported for real by tgtd over iSCSI with CHAP.

Everything is plain HTTP (requests), with what ``settings()`` tells a client: the
fixture's own helpers only create, watch and delete volumes. Run through
tests/cinder/run.sh.
"""

import subprocess
import time
import uuid

import pytest
import requests

import cinder_service
from conftest import REPORT, start_cinder, stop_cinder

GiB = 1024 ** 3
# The connector Ironic sends for a node booting from an iSCSI volume.
CONNECTOR = {"initiator": "iqn.2004-10.org.example:node-1", "ip": "192.0.2.10",
             "host": "node-1", "multipath": False, "platform": "x86_64", "os_type": "linux2"}
NODE = "1be26c0b-03f2-4d2e-ae87-c02d7f33c123"  # instance_uuid: the Ironic node


class Client:
    """A Cinder v3 client over requests: an endpoint (project id included) and headers."""

    def __init__(self, endpoint, headers):
        self.endpoint = endpoint
        self.headers = headers

    def call(self, method, path, body=None):
        return requests.request(method, self.endpoint + path, json=body, headers=self.headers,
                                timeout=60)

    def action(self, vid, name, body=None, want=202):
        r = self.call("POST", f"/volumes/{vid}/action", {name: body})
        assert r.status_code == want, f"{name}: HTTP {r.status_code} {r.text}"
        return r

    def status(self, vid):
        r = self.call("GET", f"/volumes/{vid}")
        assert r.status_code == 200, r.text
        return r.json()["volume"]

    def wait(self, vid, status, timeout=60):
        deadline = time.monotonic() + timeout
        while True:
            vol = self.status(vid)
            if vol["status"] == status:
                return vol
            assert not vol["status"].startswith("error"), vol
            assert time.monotonic() < deadline, f"{vid} still {vol['status']}, not {status}"
            time.sleep(0.2)


def iscsi_url(data, password=None):
    """libiscsi's URL: iscsi://user%password@portal/iqn/lun."""
    pw = data["auth_password"] if password is None else password
    return (f"iscsi://{data['auth_username']}%{pw}@{data['target_portal']}/"
            f"{data['target_iqn']}/{data['target_lun']}")


def run(*argv):
    return subprocess.run(argv, capture_output=True, text=True, timeout=60)


def check_connection_info(ci, cd, vid):
    assert ci["driver_volume_type"] == "iscsi", ci
    data = ci["data"]
    assert data["target_iqn"] == f"iqn.2010-10.org.openstack:volume-{vid}", data
    assert data["target_portal"] == cd.settings()["iscsi_portal"], data
    assert data["target_lun"] == 1, data  # tgt: LUN 0 is the controller
    assert data["auth_method"] == "CHAP", data
    assert data["auth_username"] and data["auth_password"], data
    assert data["volume_id"] == vid and data["access_mode"] == "rw", data
    return data


def test_noauth_attach_cycle(cinder, iscsi_tools):
    s = cinder.settings()
    assert s["endpoint"] == f"{s['base_url']}/v3/{s['project_id']}"
    api = Client(s["endpoint"], s["headers"])

    # The fixture makes the volume; its bytes are a sparse file a test can fill.
    vid = cinder.create_volume(size_gb=1, name="fixture-selftest")
    path = cinder.backing_file(vid)
    assert path.stat().st_size == GiB
    assert path.stat().st_blocks * 512 < 1024 * 1024, "the backing file is not sparse"
    path.open("r+b").write(b"sanlink boot sector")
    vol = api.status(vid)
    assert (vol["name"], vol["size"], vol["status"]) == ("fixture-selftest", 1, "available")
    assert vol["os-vol-tenant-attr:tenant_id"] == s["project_id"]

    # What ironic.common.cinder does to attach: reserve, initialize_connection, attach.
    api.action(vid, "os-reserve")
    assert api.status(vid)["status"] == "attaching"
    r = api.action(vid, "os-initialize_connection", {"connector": CONNECTOR}, want=200)
    ci = r.json()["connection_info"]
    print("connection_info:", ci)
    data = check_connection_info(ci, cinder, vid)
    api.action(vid, "os-attach", {"instance_uuid": NODE, "mountpoint": "ironic_mountpoint"})
    vol = api.wait(vid, "in-use")
    (att,) = vol["attachments"]
    assert (att["server_id"], att["device"]) == (NODE, "ironic_mountpoint"), att

    # The export is real: tgtd has the target, and an initiator logs in with CHAP.
    assert data["target_iqn"] in cinder.tgt_show()
    out = run(iscsi_tools, "-i", CONNECTOR["initiator"], iscsi_url(data))
    assert out.returncode == 0, f"iSCSI login with the connection info failed: {out}"
    assert f"Total size:{GiB}" in out.stdout, out.stdout
    inq = run("iscsi-inq", "-i", CONNECTOR["initiator"], "-e", "1", "-c", "128", iscsi_url(data))
    assert inq.returncode == 0, inq
    # The LUN's serial is the target's volume name, as far as SCSI's 36 characters go.
    assert f"[{f'volume-{vid}'[:36]}]" in inq.stdout, inq.stdout
    bad = run(iscsi_tools, "-i", CONNECTOR["initiator"], iscsi_url(data, password="wrong"))
    assert bad.returncode != 0 and "Authentication failure" in bad.stdout + bad.stderr, bad

    # And back: begin_detaching, terminate_connection, detach.
    api.action(vid, "os-begin_detaching")
    assert api.status(vid)["status"] == "detaching"
    api.action(vid, "os-terminate_connection", {"connector": CONNECTOR})
    api.action(vid, "os-detach", {"attachment_id": att["attachment_id"]})
    vol = api.wait(vid, "available")
    assert vol["attachments"] == []
    # The detach took the export away.
    assert data["target_iqn"] not in cinder.tgt_show()
    assert run(iscsi_tools, "-i", CONNECTOR["initiator"], iscsi_url(data)).returncode != 0

    # The bytes written into the file are still the volume's.
    assert path.open("rb").read(19) == b"sanlink boot sector"
    cinder.delete_volume(vid)
    assert not path.exists()
    assert api.call("GET", f"/volumes/{vid}").status_code == 404


def test_noauth_urls(cinder):
    """The URL and header forms that cinder's noauth accepts, and those it does not."""
    s = cinder.settings()
    base, token = s["base_url"], s["token"]
    get = lambda url, **h: requests.get(url, headers=h, timeout=30).status_code  # noqa: E731
    assert get(s["endpoint"] + "/volumes", **{"X-Auth-Token": token}) == 200
    assert get(base + "/v3/volumes", **{"X-Auth-Token": token}) == 200  # project from the token
    # The project in the URL must be the token's, and hex: "admin" is no route at all.
    assert get(f"{base}/v3/{uuid.uuid4().hex}/volumes", **{"X-Auth-Token": token}) == 400
    assert get(f"{base}/v3/admin/volumes", **{"X-Auth-Token": "admin:admin"}) == 404
    # Without a token, noauth answers 204 with a made-up one ("admin:admin").
    r = requests.get(s["endpoint"] + "/volumes", timeout=30)
    assert r.status_code == 204 and r.headers["X-Auth-Token"] == "admin:admin"


def test_keystone_catalog(tmp_path, iscsi_tools):
    """auth = keystone: the service users get tokens from Keystone and find Cinder in
    the catalog; a user with only the service role is refused by Cinder's policy."""
    import keystone_service

    try:
        keystone_service.ensure_venv()
    except keystone_service.KeystoneUnavailable as exc:
        pytest.skip(f"SKIPPED Cinder's Keystone test: {exc}")
    ks = keystone_service.Keystone(tmp_path / "keystone").start()
    try:
        cd = start_cinder(tmp_path / "cinder", "keystone", auth="keystone", keystone=ks,
                          admin_users=("ironic",))
        try:
            _keystone_checks(ks, cd, iscsi_tools)
        finally:
            assert not stop_cinder(cd, "keystone"), "processes left running"
    finally:
        ks.stop()


def _catalog_url(body, stype):
    (svc,) = [s for s in body["catalog"] if s["type"] == stype]
    return {e["interface"]: e["url"] for e in svc["endpoints"]}["public"]


def _keystone_checks(ks, cd, iscsi_tools):
    s = cd.settings()
    service_project = ks.project_id("service")
    assert s["project_id"] == service_project
    assert s["username"] == "cinder" and s["auth_url"] == ks.auth_url

    for user in ("cinder", "ironic"):
        token, body = ks.issue(user, "service")
        assert {"service", "admin"} <= {r["name"] for r in body["roles"]}, body["roles"]
        for stype in ("block-storage", "volumev3"):
            assert _catalog_url(body, stype) == f"{cd.base_url}/v3/{service_project}"
        api = Client(_catalog_url(body, "block-storage"), {"X-Auth-Token": token})
        r = api.call("POST", "/volumes", {"volume": {"size": 1, "name": f"by-{user}"}})
        assert r.status_code == 202, r.text
        vid = r.json()["volume"]["id"]
        api.wait(vid, "available")
        api.action(vid, "os-reserve")
        ci = api.action(vid, "os-initialize_connection", {"connector": CONNECTOR},
                        want=200).json()["connection_info"]
        data = check_connection_info(ci, cd, vid)
        out = run(iscsi_tools, "-i", CONNECTOR["initiator"], iscsi_url(data))
        assert out.returncode == 0, out
        api.action(vid, "os-terminate_connection", {"connector": CONNECTOR})
        api.action(vid, "os-unreserve")
        api.wait(vid, "available")
        assert api.call("DELETE", f"/volumes/{vid}").status_code == 202
        cd.wait_status(vid, "deleted")

    url = f"{cd.base_url}/v3/{service_project}/volumes"
    # nova has the service role only: Keystone validates its token, Cinder refuses it.
    token, _ = ks.issue("nova", "service")
    r = requests.get(url, headers={"X-Auth-Token": token}, timeout=30)
    assert r.status_code == 403, f"service role alone: HTTP {r.status_code} {r.text}"
    assert requests.get(url, timeout=30).status_code == 401
    assert requests.get(url, headers={"X-Auth-Token": "garbage"}, timeout=30).status_code == 401
    # A project member works in its own project, through the catalog's template.
    token, body = ks.issue("p-member", "tenant")
    tenant_url = _catalog_url(body, "block-storage")
    assert tenant_url == f"{cd.base_url}/v3/{ks.project_id('tenant')}"
    r = requests.get(tenant_url + "/volumes", headers={"X-Auth-Token": token}, timeout=30)
    assert r.status_code == 200, r.text


def test_restart_keeps_volumes(tmp_path):
    """stop() then start() on the same state: same ports, the volume still there."""
    cd = start_cinder(tmp_path, "restart, first start")
    try:
        vid = cd.create_volume(1)
        settings = cd.settings()
        cd.stop()
        assert not cd.leftovers()
        cd2 = cinder_service.Cinder(tmp_path)  # a new object on the same state
        cd2.start()
        cd = cd2
        REPORT.append(f"Cinder (restart): second start in {cd.timings['start']:.1f}s")
        assert cd.settings() == settings
        assert cd.volume(vid)["status"] == "available"
        assert cd.backing_file(vid).exists()
        cd.delete_volume(vid)
    finally:
        assert not stop_cinder(cd, "restart")
