#!/usr/bin/env bash
# Nova's real ironic driver (nova.virt.ironic.driver.IronicDriver, Nova from PyPI)
# against sanlink or against the real Ironic 39.
#
#   tests/nova/run.sh [--against sanlink|ironic] [--topology embedded|production]
#                     [--auth none|keystone] [pytest args]
#
# Nova lives in .venv-nova at the repository root, created on first use and brought
# up to date when requirements.txt changes (its hash is kept in the venv). Nova pulls
# in some 150 packages, about 400 MB: under three minutes from PyPI with an empty pip
# cache, about one with a warm one. If that environment has to be built and PyPI
# cannot be reached, the test prints a skip line and exits 0; once Nova is installed,
# every failure fails.
#
# --against ironic needs .venv-ironic (tests/differential/run.sh installs it).
# --topology production runs sanlink as two `conductor`s and an `api-gateway` over
# RabbitMQ (TEST_AMQP_URL) on a fresh PostgreSQL database, created here on
# TEST_PG_URL (default postgres://postgres@127.0.0.1:5432) unless TEST_DATABASE_URL
# is given. Binaries: SANLINK_BIN, SANLINK_CONDUCTOR_BIN, SANLINK_GATEWAY_BIN
# (default target/debug/...; nothing is built here). PYTHON is the interpreter for
# the venv (default python3); PIP_INDEX_URL is honoured.
#
# --auth keystone (default none) puts a real Keystone 30 in front, as a cloud runs it
# (NOVA_TEST_AUTH, read by conftest.py): the service with Keystone authentication and
# the service role's elevated access, Nova's [ironic] section as docs/operations.md
# gives it (password auth as nova, endpoint from the catalog), the checks as s-admin.
# Keystone lives in .venv-keystone (tests/keystone/keystone_service.py ensure-venv
# builds it, about 20 s); if it has to be built and PyPI cannot be reached, the test
# prints a SKIPPED line and exits 0. Setting up and starting Keystone adds about 20 s.

set -uo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
HERE="$ROOT/tests/nova"
VENV="$ROOT/.venv-nova"
REQUIREMENTS="$HERE/requirements.txt"
STAMP="$VENV/.requirements.sha256"

against=sanlink
topology=embedded
auth=none
while [ $# -gt 0 ]; do
    case "$1" in
        --against) against="$2"; shift 2 ;;
        --against=*) against="${1#*=}"; shift ;;
        --topology) topology="$2"; shift 2 ;;
        --topology=*) topology="${1#*=}"; shift ;;
        --auth) auth="$2"; shift 2 ;;
        --auth=*) auth="${1#*=}"; shift ;;
        *) break ;;
    esac
done
case "$against/$topology" in
    sanlink/embedded|sanlink/production|ironic/embedded) ;;
    ironic/*) echo "--topology applies to sanlink only" >&2; exit 2 ;;
    *) echo "usage: $0 [--against sanlink|ironic] [--topology embedded|production] [--auth none|keystone]" >&2; exit 2 ;;
esac
case "$auth" in
    none|keystone) ;;
    *) echo "usage: $0 [--against sanlink|ironic] [--topology embedded|production] [--auth none|keystone]" >&2; exit 2 ;;
esac

want="$(sha256sum "$REQUIREMENTS" | cut -d' ' -f1)"
if [ "$(cat "$STAMP" 2>/dev/null)" != "$want" ] || [ ! -x "$VENV/bin/python" ]; then
    index="${PIP_INDEX_URL:-https://pypi.org/simple}"
    if ! curl -fsS --max-time 20 -o /dev/null "${index%/}/nova/"; then
        echo "SKIPPED Nova test: PyPI ($index) is unreachable and $VENV has no Nova"
        exit 0
    fi
    echo "installing Nova into $VENV (takes a minute or more)"
    if [ ! -x "$VENV/bin/python" ]; then
        "${PYTHON:-python3}" -m venv "$VENV" || exit 1
    fi
    "$VENV/bin/python" -m pip install --quiet --disable-pip-version-check --upgrade pip || exit 1
    "$VENV/bin/python" -m pip install --quiet --disable-pip-version-check -r "$REQUIREMENTS" || exit 1
    echo "$want" > "$STAMP"
fi

if [ "$auth" = keystone ]; then
    reason="$("${PYTHON:-python3}" "$ROOT/tests/keystone/keystone_service.py" ensure-venv)"
    case $? in
        0) ;;
        3) echo "SKIPPED Nova test (--auth keystone): $reason"; exit 0 ;;
        *) echo "$reason" >&2; exit 1 ;;
    esac
fi

dbname=""
if [ "$against" = sanlink ] && [ "$topology" = production ] && [ -z "${TEST_DATABASE_URL:-}" ]; then
    # The server part of TEST_PG_URL (scheme and authority; a database path is dropped).
    pg="${TEST_PG_URL:-postgres://postgres@127.0.0.1:5432}"
    rest="${pg#*://}"
    pg="${pg%%://*}://${rest%%/*}"
    dbname="sanlink_nova_$$"
    psql "$pg/postgres" -v ON_ERROR_STOP=1 -q -c "CREATE DATABASE $dbname" || exit 1
    export TEST_DATABASE_URL="$pg/$dbname"
    trap 'psql "$pg/postgres" -q -c "DROP DATABASE IF EXISTS $dbname" >/dev/null 2>&1' EXIT
fi

export NOVA_TEST_AGAINST="$against" TEST_TOPOLOGY="$topology" NOVA_TEST_AUTH="$auth"
export SANLINK_BIN="${SANLINK_BIN:-$ROOT/target/debug/sanlink}"
export SANLINK_CONDUCTOR_BIN="${SANLINK_CONDUCTOR_BIN:-$ROOT/target/debug/conductor}"
export SANLINK_GATEWAY_BIN="${SANLINK_GATEWAY_BIN:-$ROOT/target/debug/api-gateway}"
cd "$HERE"
"$VENV/bin/python" -m pytest "$@" .
rc=$?
# pytest exits 5 when it collected no test: that is a failure here.
[ "$rc" -eq 5 ] && echo "pytest ran no test" >&2
exit "$rc"
