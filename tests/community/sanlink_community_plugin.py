"""pytest plugin loaded into the community suites' runs (run.py passes it with -p).

openstacksdk's tests skip themselves when the service lacks the microversion they
need (``require_service(min_microversion=...)``). python-ironicclient 5.6.0's tests do
not: its CLI negotiates down to the service's maximum and then fails on a resource that
version does not have. For its modules whose commands exist only from some microversion
on, this plugin skips their tests when the service under test advertises a lower
maximum, with a message run.py recognises ("needs microversion X"). The minimum of each
module is that of the resource its commands drive, from Ironic's API version history.
"""

import os

import pytest
import requests

IRONICCLIENT_MINIMUM = {
    "test_baremetal_conductor_basic.py": "1.49",  # /v1/conductors
    "test_baremetal_allocation.py": "1.52",  # /v1/allocations
    "test_baremetal_deploy_template_basic.py": "1.55",  # /v1/deploy_templates
}

_MAX = {}


def _service_max():
    if "version" not in _MAX:
        root = requests.get(os.environ["COMMUNITY_SERVICE_URL"] + "/", timeout=10).json()
        _MAX["version"] = root["default_version"]["version"]
    return _MAX["version"]


def _tuple(version):
    return tuple(int(part) for part in version.split("."))


def pytest_runtest_setup(item):
    if "ironicclient" not in str(item.path):
        return
    minimum = IRONICCLIENT_MINIMUM.get(item.path.name)
    if minimum and _tuple(minimum) > _tuple(_service_max()):
        pytest.skip(f"needs microversion {minimum}, above the service's maximum {_service_max()}")
