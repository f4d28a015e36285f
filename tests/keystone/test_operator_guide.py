"""The Keystone section of docs/operations.md, run as written against a Keystone that
has only what ``keystone-manage bootstrap`` makes (plus the ``service`` project every
cloud has): the ``openstack`` commands that register sanlink, the settings block with
its ``sanlink check-config``, then sanlink started with those settings, reached by the
``openstack`` and ``baremetal`` commands through the catalog. Only the addresses differ: Keystone's
``http://127.0.0.1:5000/v3`` is the test Keystone's, and the catalog's baremetal
endpoints are moved to the test service once it runs. (Nova's ``[ironic]`` section of
the same page is run by tests/nova/run.sh --auth keystone.)"""

import json
import os
import re
import subprocess

import pytest

import keystone_service
from conftest import AGAINST, REPO, _SubprocessWithEnv, clients

GUIDE = REPO / "docs" / "operations.md"
DOC_KEYSTONE = "http://127.0.0.1:5000/v3"
SERVICE_PASSWORD = "sanlink-registered"

pytestmark = pytest.mark.skipif(AGAINST != "sanlink", reason="the guide is sanlink's")


def block(name, lang="bash"):
    text = GUIDE.read_text()
    found = re.findall(rf"<!-- ops:{name} -->\s*```{lang}\n(.*?)```", text, re.S)
    assert len(found) == 1, f"ops:{name} ({lang}) is not in {GUIDE} exactly once"
    return found[0]


@pytest.fixture(scope="module")
def bare_keystone(tmp_path_factory):
    try:
        keystone_service.ensure_venv()
    except keystone_service.KeystoneUnavailable as exc:
        pytest.skip(f"SKIPPED Keystone tests: {exc}")
    ks = keystone_service.Keystone(tmp_path_factory.mktemp("bare-keystone"), populate=False)
    ks.start()
    domain = ks._find("domains", name=keystone_service.DOMAIN)
    ks._ensure("projects", "project", {"name": "service", "domain_id": domain},
               name="service", domain_id=domain)
    yield ks
    ks.stop()


def admin_env(ks, tmp_path):
    """The environment of a cloud administrator's shell: the ``openstack`` command on
    PATH and ``OS_CLOUD`` naming a system-scoped admin."""
    clouds = {"clouds": {"cloud-admin": {
        "auth_type": "password", "region_name": keystone_service.REGION,
        "identity_api_version": 3,
        "auth": {"auth_url": ks.auth_url, "username": "admin",
                 "password": keystone_service.password("admin"),
                 "user_domain_name": keystone_service.DOMAIN, "system_scope": "all"}}}}
    path = tmp_path / "clouds.yaml"
    path.write_text(json.dumps(clouds))
    env = {k: v for k, v in os.environ.items()
           if not k.startswith(("OS_", "SANLINK_"))}
    env.update(OS_CLIENT_CONFIG_FILE=str(path), OS_CLOUD="cloud-admin",
               PATH=f"{REPO / 'target' / 'debug'}:{REPO / '.venv' / 'bin'}:{env['PATH']}")
    return env


def run(code, env, cwd):
    proc = subprocess.run(["bash", "-euo", "pipefail", "-c", code], env=env, cwd=cwd,
                          capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, f"failed:\n{code}\nstdout: {proc.stdout}\nstderr: {proc.stderr}"
    return proc.stdout


def settings(code):
    """The ``export NAME=VALUE`` lines of a block."""
    return dict(re.findall(r"^export (SANLINK_[A-Z_]+)=(\S+)$", code, re.M))


def test_register_configure_and_call_through_the_catalog(bare_keystone, tmp_path):
    ks = bare_keystone
    env = admin_env(ks, tmp_path)
    env["SANLINK_KEYSTONE_PASSWORD"] = SERVICE_PASSWORD
    run(block("keystone-register"), env, tmp_path)

    configure = block("keystone-settings").replace(DOC_KEYSTONE, ks.auth_url)
    assert "configuration OK" in run(configure, env, tmp_path)

    # The service as the section configures it, the password as the operator gives it.
    extra = {**settings(configure), "SANLINK_KEYSTONE_PASSWORD": SERVICE_PASSWORD}
    clients.subprocess = _SubprocessWithEnv(extra)
    (tmp_path / "sanlink").mkdir()
    procs, base = clients._start(tmp_path / "sanlink")
    assert base, "sanlink did not start with the guide's settings"
    try:
        ks.set_baremetal_url(base)
        # (In the production topology the database is the other Keystone tests' too.)
        listed = run("openstack baremetal node list -f json", env, tmp_path)
        assert isinstance(json.loads(listed), list)
        created = run("openstack baremetal node create --driver fake-hardware -f json",
                      env, tmp_path)
        node = json.loads(created)["uuid"]
        shown = run(f"openstack baremetal node show {node} -f json", env, tmp_path)
        assert json.loads(shown)["uuid"] == node
        # The standalone `baremetal` command with the OS_* variables instead of a
        # clouds.yaml (it assumes auth type none unless told).
        plain = {k: v for k, v in env.items() if not k.startswith("OS_")}
        plain.update(OS_AUTH_TYPE="password", OS_AUTH_URL=ks.auth_url, OS_USERNAME="admin",
                     OS_PASSWORD=keystone_service.password("admin"),
                     OS_USER_DOMAIN_NAME=keystone_service.DOMAIN, OS_SYSTEM_SCOPE="all",
                     OS_REGION_NAME=keystone_service.REGION)
        listed = run("baremetal node list -f json", plain, tmp_path)
        assert node in [n.get("UUID", n.get("uuid")) for n in json.loads(listed)], listed
    finally:
        clients._stop(procs)


def test_a_wrong_service_password_is_refused_at_every_call(bare_keystone, tmp_path):
    """A service user that cannot log in cannot validate anyone's token: 503, with the
    reason in the log, rather than letting anything through."""
    ks = bare_keystone
    configure = block("keystone-settings").replace(DOC_KEYSTONE, ks.auth_url)
    extra = {**settings(configure), "SANLINK_KEYSTONE_PASSWORD": "not-the-password"}
    clients.subprocess = _SubprocessWithEnv(extra)
    (tmp_path / "sanlink").mkdir()
    procs, base = clients._start(tmp_path / "sanlink")
    assert base
    try:
        import requests

        token = ks.issue("admin")[0]
        r = requests.get(base + "/v1/nodes", headers={"X-Auth-Token": token}, timeout=30)
        assert r.status_code == 503, r.text
        assert "Keystone" in r.json()["message"]
    finally:
        clients._stop(procs)
