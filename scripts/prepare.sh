#!/usr/bin/env bash
# Makes a Debian 12 machine ready for scripts/test.sh: the packages the tests build and run
# with, and running PostgreSQL, MariaDB and RabbitMQ servers. scripts/test.sh calls it
# first; it can be run again safely and does nothing that is already done.
#
# As root it installs what is missing (apt-get) and starts the servers that are not
# running. As another user it changes nothing: it names the first missing piece and the
# command that adds it, and exits 1.
#
# Environment: PREPARE_E2E=0 skips the end-to-end test's packages (QEMU, tgt, libvirt).
set -uo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
export DEBIAN_FRONTEND=noninteractive

# Debian package -> why the tests need it.
declare -A NEEDED=(
    [libpq-dev]="PostgreSQL client library, for the postgres feature"
    [libmariadb-dev]="MariaDB client library, for the mysql feature"
    [pkg-config]="finds the client libraries when building"
    [python3-venv]="the client tests' virtual environment"
    [curl]="the commands of docs/operations.md"
    [sqlite3]="the SQLite backup commands of docs/operations.md"
    [postgresql-client]="psql and pg_dump, for the test databases and backups"
    [mariadb-client]="mariadb and mariadb-dump, for the test databases and backups"
)

fail() {
    echo "prepare: $*" >&2
    exit 1
}

is_root() { [ "$(id -u)" -eq 0 ]; }

installed() { dpkg-query -W -f '${Status}' "$1" 2>/dev/null | grep -q 'ok installed'; }

packages() {
    command -v cargo >/dev/null ||
        fail "cargo not found: install Rust 1.95 with rustup (https://rustup.rs)"
    command -v cc >/dev/null || fail "no C compiler: run \`apt-get install gcc\`"
    local missing=() pkg
    for pkg in "${!NEEDED[@]}"; do
        installed "$pkg" || missing+=("$pkg")
    done
    [ "${#missing[@]}" -eq 0 ] && return 0
    if ! is_root; then
        fail "missing ${missing[0]} (${NEEDED[${missing[0]}]}): run \`sudo apt-get install ${missing[*]}\`"
    fi
    echo "installing ${missing[*]}"
    apt-get update -q && apt-get install -y -q --no-install-recommends "${missing[@]}" ||
        fail "apt-get could not install ${missing[*]}"
}

# e2e: QEMU, tgt, libvirt and sushy-tools for the end-to-end boot test (root only; the
# e2e steps say why they cannot run otherwise).
e2e_packages() {
    [ "${PREPARE_E2E:-1}" = 0 ] && return 0
    is_root || return 0
    tests/e2e/install-deps.sh >/dev/null ||
        echo "prepare: end-to-end dependencies not installed; the e2e steps will say why" >&2
}

# wait_for NAME SECONDS COMMAND...: polls COMMAND until it succeeds.
wait_for() {
    local name="$1" seconds="$2" i
    shift 2
    for ((i = 0; i < seconds; i++)); do
        "$@" >/dev/null 2>&1 && return 0
        sleep 1
    done
    fail "$name did not become ready within ${seconds}s"
}

# service NAME CHECK START: starts a server whose CHECK fails (root only).
service() {
    local name="$1" check="$2" start="$3" seconds="$4"
    bash -c "$check" >/dev/null 2>&1 && return 0
    is_root || fail "$name is not running: start it with \`sudo $start\`"
    echo "starting $name"
    bash -c "$start" || fail "could not start $name with \`$start\`"
    wait_for "$name" "$seconds" bash -c "$check"
}

services() {
    service PostgreSQL "pg_isready -q -h 127.0.0.1" \
        'pg_ctlcluster --skip-systemctl-redirect $(ls /etc/postgresql) main start' 60
    service MariaDB "mariadb-admin ping" \
        "start-stop-daemon --start --oknodo --background --exec /usr/sbin/mariadbd" 60
    # A port probe, not `rabbitmqctl status`: that needs the broker's Erlang cookie,
    # which only root and the rabbitmq user can read.
    service RabbitMQ "timeout 2 bash -c '</dev/tcp/127.0.0.1/5672'" "rabbitmq-server -detached" 120
}

packages
e2e_packages
services
echo "prepare: packages installed, PostgreSQL, MariaDB and RabbitMQ running"
