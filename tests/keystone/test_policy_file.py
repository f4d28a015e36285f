"""An operator's policy file (``SANLINK_POLICY_FILE``, oslo.policy's YAML and Ironic's
rule names) over Ironic's defaults: read at start-up, every problem in it reported by
``sanlink check-config``, and its rules in force. The file here lets every project
reader see nodes and volume objects, which the defaults never give a project before
nodes have owners (1.50): so the redaction of volume target properties
(``baremetal:volume:view_target_properties``) shows, with Ironic's text."""

import os
import subprocess

import pytest
import requests

from conftest import (AGAINST, API_VERSION, REPO, Caller, _SubprocessWithEnv, clients,
                      make_children, make_node, sanlink_keystone_env)

pytestmark = pytest.mark.skipif(AGAINST != "sanlink", reason="sanlink's settings")

POLICY = """\
# Project readers may see every node and its volume objects.
"baremetal:node:get": "role:reader"
"baremetal:volume:get": "role:reader"
"baremetal:volume:list_all": "role:reader"
"""

REDACTED = {"redacted_contents": "** Value redacted: Requires permission "
                                 "baremetal:volume:view_target_properties access. "
                                 "Permission denied. **"}


def get(base, token, path):
    headers = {"X-Auth-Token": token, "X-OpenStack-Ironic-API-Version": API_VERSION}
    return requests.get(base + path, headers=headers, timeout=30)


def test_a_policy_file_changes_what_callers_may_do(keystone, tokens, tmp_path):
    policy = tmp_path / "policy.yaml"
    policy.write_text(POLICY)
    env = {**sanlink_keystone_env(keystone, False), "SANLINK_POLICY_FILE": str(policy)}
    clients.subprocess = _SubprocessWithEnv(env)
    (tmp_path / "sanlink").mkdir()
    procs, base = clients._start(tmp_path / "sanlink")
    assert base, "sanlink did not start with the policy file"
    try:
        call = Caller(base, dict(tokens))
        node = make_node(call)
        made = make_children(call, node)
        target = made["target"]
        member = keystone.token("p-member")[0]
        admin = keystone.token("p-admin")[0]
        # Redacted for a project member; shown (secrets masked) to any admin.
        r = get(base, member, f"/v1/volume/targets/{target}")
        assert r.status_code == 200, r.text
        assert r.json()["properties"] == REDACTED
        listed = get(base, member, "/v1/volume/targets?detail=True").json()["targets"]
        assert [t["properties"] for t in listed if t["uuid"] == target] == [REDACTED]
        r = get(base, admin, f"/v1/volume/targets/{target}")
        assert r.json()["properties"]["target_iqn"] == "iqn.2024-01.org.example:boot"
        assert r.json()["properties"]["auth_password"] == "******"
        # Rules the file leaves alone keep Ironic's defaults.
        r = get(base, member, f"/v1/ports/{made['port']}")
        assert r.status_code == 403, r.text
    finally:
        clients._stop(procs)


def test_every_problem_of_a_policy_file_is_reported_by_check_config(keystone, tmp_path):
    policy = tmp_path / "policy.yaml"
    policy.write_text('"baremetal:node:get": "role:reader and ("\n'
                      '"baremetal:node:list": "rule:no_such_rule"\n')
    env = {k: v for k, v in os.environ.items() if not k.startswith("SANLINK_")}
    env.update(sanlink_keystone_env(keystone, False), SANLINK_POLICY_FILE=str(policy))
    proc = subprocess.run([str(REPO / "target" / "debug" / "sanlink"), "check-config"],
                          env=env, capture_output=True, text=True, timeout=60)
    assert proc.returncode != 0
    out = proc.stdout + proc.stderr
    assert "SANLINK_POLICY_FILE" in out, out
    assert "baremetal:node:get" in out and "baremetal:node:list" in out, out
    assert "no_such_rule" in out, out
