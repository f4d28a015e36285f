"""A service of a test's own, with settings of its own, in the session's topology:
an embedded ``sanlink``, or (``TEST_TOPOLOGY=production``) a conductor and an
``api-gateway`` over RabbitMQ with queue names private to it, on ``TEST_DATABASE_URL``.
"""

import os
import subprocess
import time
import uuid
from urllib.parse import urlsplit

import conftest


class OwnService:
    def __init__(self, data_dir, **settings):
        port = conftest._free_port()
        self.base = f"http://127.0.0.1:{port}"
        self.logs = []
        self.procs = []
        # Credentials the processes hold that no log may show (see test_secrets.py).
        self.broker_credentials = None
        self.data_dir = data_dir
        self.env = {k: v for k, v in os.environ.items() if not k.startswith("SANLINK_")}
        self.env.update(
            SANLINK_LISTEN=f"127.0.0.1:{port}",
            SANLINK_BOOT_LISTEN=f"127.0.0.1:{conftest._free_port()}",
            SANLINK_DATA_DIR=str(data_dir),
            NO_COLOR="1",
        )
        if os.environ.get("TEST_DATABASE_URL"):
            self.env["SANLINK_DATABASE_URL"] = os.environ["TEST_DATABASE_URL"]
        self.env.update(settings)

    def _spawn(self, binary, name, extra):
        log = self.data_dir / f"{name}.log"
        self.logs.append(log)
        with open(log, "ab") as out:
            self.procs.append(subprocess.Popen(
                [str(binary)], env={**self.env, **extra}, stdout=out,
                stderr=subprocess.STDOUT, cwd=self.data_dir,
            ))
        return log

    def start(self):
        deadline = time.monotonic() + 60
        if conftest.TOPOLOGY == "production":
            url = os.environ.get("TEST_AMQP_URL", "amqp://guest:guest@127.0.0.1:5672/%2f")
            broker = urlsplit(url)
            self.broker_credentials = f"{broker.username}:{broker.password}@"
            amqp = {"SANLINK_AMQP_URL": url,
                    "SANLINK_AMQP_PREFIX": f"sanlink-own-{uuid.uuid4().hex[:8]}"}
            log = self._spawn(conftest._binary("SANLINK_CONDUCTOR_BIN", "conductor"), "conductor",
                              {**amqp, "SANLINK_CONDUCTOR_HOSTNAME": f"own-{uuid.uuid4().hex[:6]}"})
            assert conftest._wait_log(log, "conductor serving", self.procs[0], deadline), log.read_text()
            self._spawn(conftest._binary("SANLINK_GATEWAY_BIN", "api-gateway"), "api-gateway", amqp)
        else:
            self._spawn(conftest._binary("SANLINK_BIN", "sanlink"), "sanlink", {})
        assert conftest._wait_http(self.base, self.procs, deadline), [
            log.read_text(errors="replace") for log in self.logs
        ]
        return self

    def stop(self):
        conftest._stop(self.procs)
