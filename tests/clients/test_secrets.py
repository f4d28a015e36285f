"""Secrets never leave sanlink: CHAP secrets, BMC passwords and the database and broker
credentials are masked in API responses and error messages, and absent from the logs
of every process, at debug level.

The test starts its own service at ``SANLINK_LOG=debug`` in the session's topology
(own_service.py: embedded, or a conductor and a gateway over RabbitMQ with queue names
of its own),
runs a sequence with distinctive secrets, stops the processes and reads every log.
On PostgreSQL the database URL carries a password (the test server trusts local
connections, so any password is accepted) that must not be logged either.
"""

import time
import uuid
from urllib.parse import urlsplit, urlunsplit

import pytest
import requests

import conftest
from own_service import OwnService

TAG = uuid.uuid4().hex[:10]
CHAP = f"chap-secret-{TAG}"
CHAP_2 = f"chap-rotated-{TAG}"
BMC = f"bmc-password-{TAG}"
BMC_2 = f"bmc-rotated-{TAG}"
BMC_IN_URL = f"bmc-url-password-{TAG}"
PATCH_SECRET = f"patch-secret-{TAG}"
DB_PASSWORD = f"db-password-{TAG}"
MASK = "******"
HEADERS = {"X-OpenStack-Ironic-API-Version": conftest.API_VERSION}


def _with_password(url, password):
    parts = urlsplit(url)
    user = parts.username or "postgres"
    host = parts.hostname + (f":{parts.port}" if parts.port else "")
    return urlunsplit(parts._replace(netloc=f"{user}:{password}@{host}"))


@pytest.fixture(scope="module")
def debug_service(tmp_path_factory):
    """(base URL, log files, secrets to look for, processes) of a service at debug level."""
    settings = {"SANLINK_LOG": "debug", "SANLINK_RPC_TIMEOUT": "20"}
    secrets = [CHAP, CHAP_2, BMC, BMC_2, BMC_IN_URL, PATCH_SECRET]
    database = conftest.os.environ.get("TEST_DATABASE_URL", "")
    if database.startswith("postgres"):
        settings["SANLINK_DATABASE_URL"] = _with_password(database, DB_PASSWORD)
        secrets.append(DB_PASSWORD)
    service = OwnService(tmp_path_factory.mktemp("sanlink-secrets"), **settings).start()
    if service.broker_credentials:
        # The broker's password: guest's is not distinctive, its URL form is.
        secrets.append(service.broker_credentials)
    yield service.base, service.logs, secrets, service.procs
    service.stop()


def call(method, url, body=None, expect=None):
    reply = requests.request(method, url, json=body, headers=HEADERS, timeout=90)
    if expect is not None:
        assert reply.status_code == expect, f"{method} {url}: {reply.status_code} {reply.text}"
    return reply


def test_secrets_are_masked_in_responses_and_absent_from_every_log(debug_service):
    base, logs, secrets, procs = debug_service
    v1 = base + "/v1"
    seen = []  # every response body, checked for secrets at the end

    def api(method, path, body=None, expect=None):
        reply = call(method, v1 + path, body, expect)
        seen.append(f"{method} {path} -> {reply.status_code} {reply.text}")
        return reply

    # A Redfish node whose BMC refuses connections: the power call fails, and its error
    # is logged, without the password.
    node = api("POST", "/nodes", {
        "driver": "redfish", "name": f"secrets-{TAG}",
        "driver_info": {"redfish_address": "http://127.0.0.1:9",
                        "redfish_username": "admin", "redfish_password": BMC,
                        "redfish_system_id": "/redfish/v1/Systems/1"},
    }, expect=201).json()
    assert node["driver_info"]["redfish_password"] == MASK
    shown = api("GET", f"/nodes/{node['uuid']}", expect=200).json()
    assert shown["driver_info"]["redfish_password"] == MASK
    api("PUT", f"/nodes/{node['uuid']}/states/power", {"target": "power on"})
    api("GET", f"/nodes/{node['uuid']}/validate", expect=200)
    patched = api("PATCH", f"/nodes/{node['uuid']}", [
        {"op": "replace", "path": "/driver_info/redfish_password", "value": BMC_2},
    ], expect=200).json()
    assert patched["driver_info"]["redfish_password"] == MASK
    # A failed patch names the operation but not the secret it carried.
    failed = api("PATCH", f"/nodes/{node['uuid']}", [
        {"op": "replace", "path": "/driver_info/nested/redfish_password", "value": PATCH_SECRET},
    ], expect=400)
    assert "redfish_password" in failed.text
    # Credentials inside the BMC address.
    api("PATCH", f"/nodes/{node['uuid']}", [
        {"op": "replace", "path": "/driver_info/redfish_address",
         "value": f"http://admin:{BMC_IN_URL}@127.0.0.1:9"},
    ])
    api("PUT", f"/nodes/{node['uuid']}/states/power", {"target": "power off"})
    api("GET", f"/nodes/{node['uuid']}/validate")
    # ... and inside an address that is refused: its error names it, masked.
    api("PATCH", f"/nodes/{node['uuid']}", [
        {"op": "replace", "path": "/driver_info/redfish_address",
         "value": f"ftp://admin:{BMC_IN_URL}@127.0.0.1:9"},
    ])
    refused = api("GET", f"/nodes/{node['uuid']}/validate", expect=200).json()
    assert "redfish_address" in refused["power"]["reason"], refused
    api("PUT", f"/nodes/{node['uuid']}/states/power", {"target": "power on"})

    # CHAP secrets of an iSCSI volume target, on a fake node that is powered off (as
    # target updates need).
    node = api("POST", "/nodes", {"driver": "fake-hardware", "name": f"secrets-fake-{TAG}"},
               expect=201).json()
    api("PUT", f"/nodes/{node['uuid']}/states/power", {"target": "power off"}, expect=202)
    for _ in range(100):
        if api("GET", f"/nodes/{node['uuid']}", expect=200).json()["power_state"] == "power off":
            break
        time.sleep(0.1)
    properties = {"target_iqn": f"iqn.2026-11.org.example:{TAG}", "target_portal": "127.0.0.1:3260",
                  "target_lun": 0, "auth_method": "CHAP", "auth_username": "chap-user",
                  "auth_password": CHAP}
    target = api("POST", "/volume/targets", {
        "node_uuid": node["uuid"], "volume_type": "iscsi", "boot_index": 0,
        "volume_id": f"vol-{TAG}", "properties": properties,
    }, expect=201).json()
    assert target["properties"]["auth_password"] == MASK
    for path in (f"/volume/targets/{target['uuid']}", "/volume/targets?detail=true",
                 f"/nodes/{node['uuid']}/volume/targets?detail=true"):
        assert CHAP not in api("GET", path, expect=200).text
    rotated = api("PATCH", f"/volume/targets/{target['uuid']}", [
        {"op": "replace", "path": "/properties/auth_password", "value": CHAP_2},
    ], expect=200).json()
    assert rotated["properties"]["auth_password"] == MASK
    # Refused bodies carrying the secret: a conflict and a bad boot index.
    api("POST", "/volume/targets", {
        "node_uuid": node["uuid"], "volume_type": "iscsi", "boot_index": 0,
        "volume_id": f"vol2-{TAG}", "properties": {**properties, "auth_password": CHAP},
    }, expect=409)
    api("POST", "/volume/targets", {
        "node_uuid": node["uuid"], "volume_type": "iscsi", "boot_index": "first",
        "volume_id": f"vol3-{TAG}", "properties": {**properties, "auth_password": CHAP},
    }, expect=400)
    for path in ("/readyz", "/metrics", "/healthz"):
        reply = requests.get(base + path, timeout=30)
        seen.append(f"GET {path} -> {reply.status_code} {reply.text}")

    leaked = [(s, r[:200]) for r in seen for s in secrets if s in r]
    assert not leaked, f"secrets in API responses: {leaked}"

    conftest._stop(procs)
    checked = 0
    for log in logs:
        text = log.read_text(errors="replace")
        checked += len(text.splitlines())
        for secret in secrets:
            lines = [line for line in text.splitlines() if secret in line]
            assert not lines, f"{secret!r} logged in {log.name}:\n" + "\n".join(lines[:5])
    # Debug logging was on and the sequence was logged: the grep had something to read.
    assert checked > 50, f"only {checked} log lines"
    assert any("DEBUG" in log.read_text() or '"level":"DEBUG"' in log.read_text() for log in logs)
