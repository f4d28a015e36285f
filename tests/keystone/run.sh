#!/usr/bin/env bash
# Keystone authentication and Ironic's default (secure RBAC) policy: every endpoint,
# every persona, against sanlink or against the real Ironic 39 (whose answers the
# table in test_policy.py records).
#
#   tests/keystone/run.sh [--against sanlink|ironic] [--topology embedded|production] [pytest args]
#
# Keystone 30 lives in .venv-keystone at the repository root, created on first use and
# brought up to date when requirements.txt changes (its sha256 is kept in the venv,
# .requirements.sha256; keystone_service.py ensure-venv does it): about 20 s from PyPI.
# If that has to happen and PyPI cannot be reached, the test prints a SKIPPED line and
# exits 0; once Keystone is installed, every failure fails. Keystone itself takes about
# 17 s to set up and start (keystone-manage, then gunicorn); each service under test
# runs twice, with rbac_service_role_elevated_access off and on.
#
# pytest runs from .venv (openstacksdk, requests, pytest: tests/clients/requirements.txt,
# which scripts/test.sh installs). --against ironic needs .venv-ironic
# (tests/differential/run.sh installs it). --topology production runs sanlink as two
# `conductor`s and an `api-gateway` over RabbitMQ (TEST_AMQP_URL) on a fresh PostgreSQL
# database, created here on TEST_PG_URL (default postgres://postgres@127.0.0.1:5432)
# unless TEST_DATABASE_URL is given. Binaries: SANLINK_BIN, SANLINK_CONDUCTOR_BIN,
# SANLINK_GATEWAY_BIN (default target/debug/...; nothing is built here). PYTHON is the
# interpreter for the Keystone venv (default python3); PIP_INDEX_URL is honoured.
# KEYSTONE_TEST_RECORD=FILE records the answers instead of comparing them (test_policy.py).

set -uo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
HERE="$ROOT/tests/keystone"
TEST_VENV="$ROOT/.venv"

against=sanlink
topology=embedded
while [ $# -gt 0 ]; do
    case "$1" in
        --against) against="$2"; shift 2 ;;
        --against=*) against="${1#*=}"; shift ;;
        --topology) topology="$2"; shift 2 ;;
        --topology=*) topology="${1#*=}"; shift ;;
        *) break ;;
    esac
done
case "$against/$topology" in
    sanlink/embedded|sanlink/production|ironic/embedded) ;;
    ironic/*) echo "--topology applies to sanlink only" >&2; exit 2 ;;
    *) echo "usage: $0 [--against sanlink|ironic] [--topology embedded|production]" >&2; exit 2 ;;
esac

if [ ! -x "$TEST_VENV/bin/python" ]; then
    echo "$TEST_VENV not found: create it with tests/clients/requirements.txt (scripts/test.sh does)" >&2
    exit 2
fi

reason="$("${PYTHON:-python3}" "$HERE/keystone_service.py" ensure-venv)"
case $? in
    0) ;;
    3) echo "SKIPPED Keystone tests: $reason"; exit 0 ;;
    *) echo "$reason" >&2; exit 1 ;;
esac

dbname=""
if [ "$against" = sanlink ] && [ "$topology" = production ] && [ -z "${TEST_DATABASE_URL:-}" ]; then
    # The server part of TEST_PG_URL (scheme and authority; a database path is dropped).
    pg="${TEST_PG_URL:-postgres://postgres@127.0.0.1:5432}"
    rest="${pg#*://}"
    pg="${pg%%://*}://${rest%%/*}"
    dbname="sanlink_keystone_$$"
    psql "$pg/postgres" -v ON_ERROR_STOP=1 -q -c "CREATE DATABASE $dbname" || exit 1
    export TEST_DATABASE_URL="$pg/$dbname"
    trap 'psql "$pg/postgres" -q -c "DROP DATABASE IF EXISTS $dbname" >/dev/null 2>&1' EXIT
fi

export KEYSTONE_TEST_AGAINST="$against" TEST_TOPOLOGY="$topology"
export SANLINK_BIN="${SANLINK_BIN:-$ROOT/target/debug/sanlink}"
export SANLINK_CONDUCTOR_BIN="${SANLINK_CONDUCTOR_BIN:-$ROOT/target/debug/conductor}"
export SANLINK_GATEWAY_BIN="${SANLINK_GATEWAY_BIN:-$ROOT/target/debug/api-gateway}"
cd "$HERE"
"$TEST_VENV/bin/python" -m pytest "$@" .
rc=$?
# pytest exits 5 when it collected no test: that is a failure here.
[ "$rc" -eq 5 ] && echo "pytest ran no test" >&2
exit "$rc"
