"""Slow and idle clients cannot take a listener down: with the open-file limit most
hosts start services with (1024), 1,100 connections that send nothing or half a
request's headers leave the API and a conductor's boot listener answering everybody
else at once, and are themselves closed after the configured timeouts."""

import errno
import os
import resource
import select
import socket
import subprocess
import time
import uuid

import pytest
import requests

from conftest import HEADERS, Cluster, free_port, fresh_database

HEADER_TIMEOUT = 3.0
IDLE_TIMEOUT = 5.0
MAX_CONNECTIONS = 400
SLOW_CLIENTS = 1100
# What a prompt client may wait for an answer: far below either timeout, so an answer
# proves the listener did not wait for slow connections to time out.
PROMPT = 2.0


def service_fd_limit():
    resource.setrlimit(resource.RLIMIT_NOFILE, (1024, 1024))


@pytest.fixture(scope="module", autouse=True)
def enough_fds_for_the_test():
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    wanted = min(hard, 8192)
    assert wanted > SLOW_CLIENTS + 200, f"the test needs {SLOW_CLIENTS + 200} open files"
    resource.setrlimit(resource.RLIMIT_NOFILE, (wanted, hard))
    yield
    resource.setrlimit(resource.RLIMIT_NOFILE, (soft, hard))


@pytest.fixture
def limited(tmp_path, request):
    """A conductor and a gateway, each limited to 1024 open files."""
    name = f"sanlink_slow_{uuid.uuid4().hex[:12]}"
    c = Cluster(tmp_path, db_url=fresh_database(name))
    c.env.update(
        SANLINK_HTTP_HEADER_TIMEOUT=str(HEADER_TIMEOUT),
        SANLINK_HTTP_IDLE_TIMEOUT=str(IDLE_TIMEOUT),
        SANLINK_HTTP_MAX_CONNECTIONS=str(MAX_CONNECTIONS),
    )
    c.boot_base = f"http://127.0.0.1:{free_port()}"
    c.spawn("c1", "conductor", preexec_fn=service_fd_limit,
            SANLINK_CONDUCTOR_HOSTNAME="c1",
            SANLINK_BOOT_LISTEN=c.boot_base.removeprefix("http://"))
    c.wait_log("c1", "conductor serving")
    c.spawn("gateway", "api-gateway", preexec_fn=service_fd_limit)
    c.wait_log("gateway", "api-gateway serving")
    yield c
    c.stop()
    if getattr(request.node, "rep_call", None) and request.node.rep_call.failed:
        print(c.logs())
    drop_database(name)


def drop_database(name):
    if os.environ.get("TEST_FAULTS_DATABASE", "postgres") == "mysql":
        command = ["mariadb", "-h", "127.0.0.1", "-u", "root", "-e", f"DROP DATABASE {name}"]
    else:
        command = ["psql", "-q", "-h", "127.0.0.1", "-U", "postgres", "-d", "postgres",
                   "-c", f"DROP DATABASE {name}"]
    subprocess.run(command, check=True)


def ready(s, event, timeout):
    """Whether `s` has `event` within `timeout` seconds (poll: descriptors above 1024)."""
    poller = select.poll()
    poller.register(s, event)
    return bool(poller.poll(timeout * 1000))


def open_slow(port, half_header):
    """A connection that sends nothing, or the first half of a request's headers."""
    s = socket.socket()
    s.setblocking(False)
    try:
        s.connect(("127.0.0.1", port))
    except BlockingIOError:
        pass
    if half_header and ready(s, select.POLLOUT, 5):
        try:
            s.send(b"GET /healthz HTTP/1.1\r\nHost: slow\r\nX-Slow: ")
        except OSError:
            pass  # already closed to make room: that is allowed
    return s


def is_closed(s):
    """Whether the server closed `s` (EOF or reset); never blocks."""
    if not ready(s, select.POLLIN, 0):
        return False
    try:
        return s.recv(4096, socket.MSG_PEEK) == b""
    except OSError as e:
        return e.errno in (errno.ECONNRESET, errno.EPIPE, errno.ENOTCONN)


def wait_closed(sockets, deadline):
    """The sockets still open at `deadline`, polling until all are closed."""
    while True:
        open_ = [s for s in sockets if not is_closed(s)]
        if not open_ or time.monotonic() > deadline:
            return open_
        time.sleep(0.2)


def prompt_get(url):
    r = requests.get(url, headers=HEADERS, timeout=PROMPT)
    assert r.status_code == 200, r.text
    return r


def check_listener(base, path):
    port = int(base.rsplit(":", 1)[1])
    slow = [open_slow(port, half_header=i % 2 == 1) for i in range(SLOW_CLIENTS)]
    try:
        # Prompt clients are served while the slow connections are open.
        for _ in range(20):
            prompt_get(base + path)
        # ... and the slow ones were held, not refused wholesale: the newest are open.
        newest = slow[-MAX_CONNECTIONS // 2:]
        assert sum(not is_closed(s) for s in newest) > MAX_CONNECTIONS // 4
        # Every slow connection is closed once the timeouts passed.
        left = wait_closed(slow, time.monotonic() + IDLE_TIMEOUT + 15)
        assert not left, f"{len(left)} slow connections still open"
        prompt_get(base + path)
    finally:
        for s in slow:
            s.close()


def check_timeouts(base):
    """A connection is closed no sooner than its timeout, and soon after it."""
    port = int(base.rsplit(":", 1)[1])
    for half_header, timeout in ((False, IDLE_TIMEOUT), (True, HEADER_TIMEOUT)):
        opened = time.monotonic()
        s = open_slow(port, half_header)
        try:
            assert not wait_closed([s], opened + timeout + 10), f"open after {timeout + 10} s"
            # The server's clock started after ours: it cannot have closed sooner.
            assert time.monotonic() - opened >= timeout - 0.05
        finally:
            s.close()


def test_slow_clients_do_not_starve_the_api(limited):
    check_listener(limited.base, "/v1/nodes")
    check_timeouts(limited.base)


def test_slow_clients_do_not_starve_the_boot_listener(limited):
    check_listener(limited.boot_base, "/boot.ipxe")
    check_timeouts(limited.boot_base)
