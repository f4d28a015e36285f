"""The exact answers around authentication and authorization, as Ironic 39 gives them
with Keystone (recorded against it; the service under test must give the same):
401 and its ``WWW-Authenticate``, 403, the 500 of a project-scoped token on a
system-only rule, the 404 that hides a node, the redaction of volume target
properties, expired and revoked tokens, Keystone going away and coming back, and
openstacksdk authenticating through the catalog with a clouds.yaml cloud per persona.
"""

import json
import time
import uuid

import pytest

import keystone_service
from conftest import AGAINST, OWNED_NODES, TARGET_PROPERTIES

UNAUTHORIZED = {"error": {"code": 401, "title": "Unauthorized",
                          "message": "The request you have made requires authentication."}}
# keystonemiddleware's answer when it cannot reach Keystone (webob's 503 page, as JSON).
UNAVAILABLE = {"message": "The server is currently unavailable. Please try again at a later "
                          "time.<br /><br />\nThe Keystone service is temporarily unavailable."
                          "\n\n",
               "code": "503 Service Unavailable", "title": "Service Unavailable"}
REDACTED = {"redacted_contents": "** Value redacted: Requires permission "
                                 "baremetal:volume:view_target_properties access. "
                                 "Permission denied. **"}


def fault(r):
    """(faultcode, faultstring) of an Ironic error answer, which nests JSON in JSON."""
    body = r.json()
    assert set(body) == {"error_message"}, body
    inner = json.loads(body["error_message"])
    assert inner["debuginfo"] is None, inner
    return inner["faultcode"], inner["faultstring"]


def assert_unauthorized(r, keystone):
    assert r.status_code == 401, r.text
    assert r.json() == UNAUTHORIZED
    assert r.headers["WWW-Authenticate"] == f'Keystone uri="{keystone.auth_url}"'
    assert r.headers["Content-Type"] == "application/json"


@pytest.mark.parametrize("persona", ["anon", "garbage"])
@pytest.mark.parametrize("path", ["/v1/nodes", "/v1/volume/targets", "/v1/no/such/path",
                                  "/nodes"])
def test_unauthenticated(call, keystone, persona, path):
    assert_unauthorized(call(persona, "GET", path), keystone)


@pytest.mark.parametrize("path", ["/", "/v1", "/v1/lookup?addresses=52:54:00:00:00:01"])
def test_public_routes_ignore_the_token(call, path):
    """The public routes answer alike with no token, a valid one and a garbage one."""
    answers = {p: call(p, "GET", path) for p in ("anon", "garbage", "p-none")}
    assert len({(r.status_code, r.content) for r in answers.values()}) == 1, answers


def test_forbidden(call, world):
    r = call("s-reader", "PATCH", f"/v1/nodes/{world['sys']['node']}",
             [{"op": "add", "path": "/extra/x", "value": "y"}])
    assert r.status_code == 403
    assert r.headers["Content-Type"] == "application/json"
    assert "WWW-Authenticate" not in r.headers
    assert fault(r) == ("Client", "Access was denied to the following resource: "
                                  "baremetal:node:update_extra")


def test_project_scope_on_a_system_rule(call):
    """oslo.policy's InvalidScope: Ironic does not catch it, a 500 quoting the rule;
    sanlink refuses such a request as any other, 403 naming the rule."""
    r = call("p-admin", "GET", "/v1/chassis")
    if not OWNED_NODES:
        assert r.status_code == 403
        assert fault(r) == ("Client", "Access was denied to the following resource: "
                                      "baremetal:chassis:get")
        return
    assert r.status_code == 500
    assert fault(r) == ("Server", '"baremetal:chassis:get": "(role:reader and system_scope:all)'
                                  ' or (role:service and system_scope:all) or rule:service_role"'
                                  " requires a scope of ['system'], request was made with "
                                  "project scope.")


def test_node_concealed(call, world):
    """A project that may not see a node is told it does not exist (by UUID or name)."""
    node = world["sys"]
    for ident in (node["node"], node["node_name"]):
        r = call("p-member", "GET", f"/v1/nodes/{ident}")
        assert r.status_code == 404
        assert fault(r) == ("Client", f"Node {ident} could not be found.")
    r = call("p-member", "GET", f"/v1/volume/targets/{node['target']}")
    assert r.status_code == 404
    assert fault(r) == ("Client", f"Volume target {node['target']} could not be found.")
    # A system reader is refused, not deceived.
    r = call("s-reader", "PATCH", f"/v1/nodes/{node['node']}",
             [{"op": "add", "path": "/extra/x", "value": "y"}])
    assert r.status_code == 403


def masked(props):
    """Volume target properties as Ironic always shows them: passwords masked."""
    return {k: ("******" if "password" in k else v) for k, v in props.items()}


@pytest.mark.parametrize("persona,view", [
    ("s-admin", "masked"), ("s-reader", "masked"), ("p-admin", "masked"),
    ("p-member", "redacted"), ("p-reader", "redacted"), ("nova+", "masked")])
def test_target_properties(call, world, service, persona, view):
    """``baremetal:volume:view_target_properties`` (system reader, or role admin)."""
    if persona == "nova+" and not service.elevated:
        pytest.skip("nova sees no target with elevated access off")
    if persona.startswith("p-") and not OWNED_NODES:
        pytest.skip("no project owns a node in sanlink (before 1.50): test_policy_file.py "
                    "shows redaction with a policy that lets projects see every node")
    target = world["own"]["target"]
    want = masked(TARGET_PROPERTIES) if view == "masked" else REDACTED
    r = call(persona, "GET", f"/v1/volume/targets/{target}")
    assert r.status_code == 200 and r.json()["properties"] == want, r.text
    r = call(persona, "GET", "/v1/volume/targets?detail=True")
    mine = [t for t in r.json()["targets"] if t["uuid"] == target]
    assert mine and mine[0]["properties"] == want, r.text


def test_project_lists(call, world, service):
    """Project-scoped lists show the project's nodes (and their children) only;
    nova's, with elevated access off, show nothing."""
    for path, key, kind in (("/v1/nodes", "nodes", "node"), ("/v1/ports", "ports", "port"),
                            ("/v1/portgroups", "portgroups", "portgroup"),
                            ("/v1/volume/connectors", "connectors", "connector"),
                            ("/v1/volume/targets", "targets", "target")):
        for persona in ("p-admin", "p-reader"):
            got = {x["uuid"] for x in call(persona, "GET", path).json()[key]}
            if OWNED_NODES:
                assert world["own"][kind] in got and world["sys"][kind] not in got, (path, persona)
            else:  # no project owns a node in sanlink before 1.50
                assert got == set(), (path, persona)
        got = call("nova", "GET", path).json()[key]
        if service.elevated:
            assert {world["own"][kind], world["sys"][kind]} <= {x["uuid"] for x in got}
        else:
            assert got == [], (path, got)


def test_expired_token(call, keystone):
    """A token of the sibling Keystone ([token] expiration = 5) works until it expires."""
    sibling = keystone.sibling(expiration=5).start()
    try:
        call.tokens["short-lived"], body = sibling.token("s-reader")
    finally:
        sibling.stop()
    assert call("short-lived", "GET", "/v1/nodes").status_code == 200
    expires = time.mktime(time.strptime(body["expires_at"][:19], "%Y-%m-%dT%H:%M:%S")) - time.timezone
    time.sleep(max(0.0, expires - time.time()) + 0.5)
    assert_unauthorized(call("short-lived", "GET", "/v1/nodes"), keystone)


def test_service_token(call, keystone):
    """X-Service-Token: a valid one with the service role lets an expired user token
    through (a service finishing what a user started); an invalid one is refused even
    with a valid user token."""
    sibling = keystone.sibling(expiration=5).start()
    try:
        call.tokens["expiring"], body = sibling.token("p-reader")
    finally:
        sibling.stop()
    nova = keystone.token("nova")[0]
    reader = keystone.token("s-reader")[0]
    expires = time.mktime(time.strptime(body["expires_at"][:19], "%Y-%m-%dT%H:%M:%S")) - time.timezone
    time.sleep(max(0.0, expires - time.time()) + 0.5)
    assert_unauthorized(call("expiring", "GET", "/v1/nodes"), keystone)
    r = call("expiring", "GET", "/v1/nodes", headers={"X-Service-Token": nova})
    assert r.status_code == 200, r.text
    # A service token without the service role vouches for nothing.
    r = call("expiring", "GET", "/v1/nodes", headers={"X-Service-Token": reader})
    assert_unauthorized(r, keystone)
    r = call("s-reader", "GET", "/v1/nodes", headers={"X-Service-Token": "gAAAAABnot-a-token"})
    assert_unauthorized(r, keystone)


def test_revoked_token(call, keystone):
    """A token revoked before the service has seen it is refused."""
    token, _ = keystone.token("s-reader")
    keystone.revoke(token)
    call.tokens["revoked"] = token
    assert_unauthorized(call("revoked", "GET", "/v1/nodes"), keystone)


def test_keystone_down(call, keystone):
    """With Keystone gone, a call with a token the service has not validated before
    gets a 503 (after keystonemiddleware's retries, some 3.5 s), calls without one are
    still refused with a 401, public routes still answer. With Keystone back, all is
    as before. (A token Ironic validated shortly before may still be honoured from
    keystonemiddleware's in-process cache, or not: that cache is per pooled client.)"""
    token, _ = keystone.token("s-member")
    call.tokens["fresh"] = token
    call.tokens["new-garbage"] = "gAAAAABgarbage-never-seen-" + uuid.uuid4().hex
    keystone.stop()
    try:
        # sanlink remembers a refused token as it does a valid one (for the cache
        # time), so "garbage", refused before, stays refused; Ironic asks again.
        unseen = ("fresh", "new-garbage") if AGAINST == "sanlink" else ("fresh", "garbage")
        for persona in unseen:
            r = call(persona, "GET", "/v1/nodes")
            assert r.status_code == 503, (persona, r.text)
            assert r.json() == UNAVAILABLE
            assert r.headers["Content-Type"] == "application/json"
            assert "WWW-Authenticate" not in r.headers
        assert_unauthorized(call("anon", "GET", "/v1/nodes"), keystone)
        if AGAINST == "sanlink":
            assert_unauthorized(call("garbage", "GET", "/v1/nodes"), keystone)
            # A token validated before is served from the cache meanwhile.
            assert call("s-reader", "GET", "/v1/nodes").status_code == 200
        assert call("s-reader", "GET", "/v1").status_code == 200
    finally:
        keystone.start()
    assert call("fresh", "GET", "/v1/nodes").status_code == 200
    assert call("s-reader", "GET", "/v1/nodes").status_code == 200


def test_clouds_yaml(keystone, world, service, tmp_path, monkeypatch):
    """openstacksdk with OS_CLOUD: password authentication, the endpoint from the
    catalog (which the service fixture points at the service)."""
    import openstack

    path = keystone.clouds_yaml(tmp_path / "clouds.yaml", service.base)
    monkeypatch.setenv("OS_CLIENT_CONFIG_FILE", str(path))
    seen = {}
    for persona in ("s-reader", "p-member"):
        monkeypatch.setenv("OS_CLOUD", persona)
        conn = openstack.connect(baremetal_api_version="1.46")
        assert conn.baremetal.get_endpoint().startswith(service.base + "/")
        seen[persona] = {n.id for n in conn.baremetal.nodes()}
        conn.close()
    assert {world["own"]["node"], world["sys"]["node"]} <= seen["s-reader"]
    assert (world["own"]["node"] in seen["p-member"]) == OWNED_NODES
    assert world["sys"]["node"] not in seen["p-member"]
    assert set(keystone_service.PERSONAS) <= set(json.loads(path.read_text())["clouds"])
