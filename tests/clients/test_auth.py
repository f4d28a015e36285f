"""HTTP basic authentication (SANLINK_AUTH_STRATEGY=http_basic) with the real clients:
openstacksdk (``auth_type: http_basic``) and the ``baremetal`` CLI, against a service
of its own in the session's topology (own_service.py). Without credentials, or with
wrong ones, both fail with 401."""

import subprocess

import bcrypt
import pytest
import requests

import conftest
from own_service import OwnService

USER = "sanlink-admin"
PASSWORD = "Basic-auth-pw-7f3a"


@pytest.fixture(scope="module")
def basic_service(tmp_path_factory):
    data_dir = tmp_path_factory.mktemp("sanlink-auth")
    users = data_dir / "htpasswd"
    digest = bcrypt.hashpw(PASSWORD.encode(), bcrypt.gensalt(rounds=5)).decode()
    users.write_text(f"{USER}:{digest}\n")
    service = OwnService(data_dir, SANLINK_AUTH_STRATEGY="http_basic",
                         SANLINK_HTTP_BASIC_AUTH_USER_FILE=str(users)).start()
    yield service
    service.stop()


@pytest.fixture
def base(basic_service):
    return basic_service.base


def sdk(base, password=PASSWORD):
    import openstack

    return openstack.connect(
        load_yaml_config=False,
        load_envvars=False,
        auth_type="http_basic",
        auth={"username": USER, "password": password, "endpoint": base},
        # As Ironic's standalone guide configures it: the endpoint is the API root, and
        # the SDK discovers /v1 there.
        baremetal_endpoint_override=base + "/",
        baremetal_status_code_retries=0,
    ).baremetal


def test_discovery_is_open_and_the_rest_needs_credentials(base):
    assert requests.get(base + "/v1").status_code == 200
    refused = requests.get(base + "/v1/nodes")
    assert refused.status_code == 401
    assert refused.headers["WWW-Authenticate"] == 'Basic realm="Baremetal API"'
    allowed = requests.get(base + "/v1/nodes", auth=(USER, PASSWORD))
    assert allowed.status_code == 200, allowed.text


def test_openstacksdk_with_http_basic(base):
    from openstack import exceptions

    bm = sdk(base)
    node = bm.create_node(driver="fake-hardware", name="basic-auth-sdk")
    connector = bm.create_volume_connector(
        node_id=node.id, type="iqn", connector_id="iqn.2026-11.org.example:basic-sdk"
    )
    assert [c.id for c in bm.volume_connectors(node=node.id)] == [connector.id]
    with pytest.raises(exceptions.HttpException) as refused:
        list(sdk(base, password="wrong").nodes())
    assert refused.value.status_code == 401


def test_baremetal_cli_with_http_basic(base):
    exe = conftest._baremetal_exe()

    def run(*args, password=PASSWORD):
        cmd = [exe, "--os-auth-type", "http_basic", "--os-username", USER,
               "--os-password", password, "--os-endpoint", base, *args]
        env = {k: v for k, v in conftest.os.environ.items() if not k.startswith("OS_")}
        return subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=120)

    created = run("node", "create", "--driver", "fake-hardware", "--name", "basic-auth-cli")
    assert created.returncode == 0, created.stderr
    listed = run("node", "list", "-f", "value", "-c", "Name")
    assert listed.returncode == 0, listed.stderr
    assert "basic-auth-cli" in listed.stdout.split()
    refused = run("node", "list", password="wrong")
    assert refused.returncode != 0
    assert "401" in refused.stderr or "Unauthorized" in refused.stderr or "Incorrect" in refused.stderr, refused.stderr


def test_metrics_need_credentials_and_probes_do_not(base):
    assert requests.get(base + "/healthz").status_code == 200
    assert requests.get(base + "/v1/openapi.json").status_code == 200
    assert requests.get(base + "/metrics").status_code == 401
    metrics = requests.get(base + "/metrics", auth=(USER, PASSWORD))
    assert metrics.status_code == 200 and "sanlink_http_requests_total" in metrics.text


def test_noauth_does_not_start_on_a_non_loopback_address(tmp_path):
    binary = str(conftest._binary("SANLINK_BIN", "sanlink"))
    env = {k: v for k, v in conftest.os.environ.items() if not k.startswith("SANLINK_")}
    env.update(SANLINK_LISTEN=f"0.0.0.0:{conftest._free_port()}", SANLINK_DATA_DIR=str(tmp_path),
               SANLINK_BOOT_LISTEN=f"127.0.0.1:{conftest._free_port()}")
    check = subprocess.run([binary, "check-config"], env=env, capture_output=True, text=True,
                           timeout=60)
    assert check.returncode == 1, check
    assert "SANLINK_AUTH_STRATEGY" in check.stderr and "SANLINK_NOAUTH_ALLOW_REMOTE" in check.stderr
    start = subprocess.run([binary], env=env, capture_output=True, text=True, timeout=60)
    assert start.returncode == 2 and "noauth" in start.stderr, start
    # Explicitly allowed, the same configuration is valid.
    allowed = subprocess.run([binary, "check-config"], env={**env, "SANLINK_NOAUTH_ALLOW_REMOTE": "true"},
                             capture_output=True, text=True, timeout=60)
    assert allowed.returncode == 0, allowed.stderr


def test_the_caller_reaches_the_conductor_s_log_and_the_password_does_not(basic_service):
    node = requests.post(basic_service.base + "/v1/nodes", auth=(USER, PASSWORD),
                         headers={"X-OpenStack-Ironic-API-Version": "1.46"},
                         json={"driver": "fake-hardware", "name": "basic-auth-log"})
    assert node.status_code == 201, node.text
    request_id = node.headers["x-openstack-request-id"]
    conductor_log = basic_service.logs[0].read_text(errors="replace")
    done = [line for line in conductor_log.splitlines()
            if request_id in line and "request done" in line]
    assert done and USER in done[0], conductor_log[-2000:]
    for log in basic_service.logs:
        assert PASSWORD not in log.read_text(errors="replace")
