#!/usr/bin/env bash
# The community suites against sanlink (or Ironic 39): openstacksdk's baremetal
# functional tests (shipped in its wheel) and python-ironicclient 5.6.0's functional
# tests (shipped in its wheel; they drive the `openstack baremetal` CLI through tempest),
# both with pytest into junit XML, both pointed at a noauth endpoint: a clouds.yaml
# (auth_type none, baremetal_endpoint_override) and a test.conf (auth_strategy noauth).
#
#   tests/community/run.sh [--against sanlink|ironic] [--topology embedded|production]
#                          [--suite openstacksdk|ironicclient|all] [--record]
#                          [--workers N] [--keep DIR]
#
#   --against sanlink (default) starts target/debug/sanlink as tests/clients/conftest.py
#       does; with --topology production, two `conductor`s and an `api-gateway` over
#       RabbitMQ (TEST_AMQP_URL) on a fresh PostgreSQL database made here on TEST_PG_URL
#       (default postgres://postgres@127.0.0.1:5432/) and dropped afterwards. Nothing is
#       built here: cargo build --features postgres,mysql --bin sanlink --bin api-gateway
#       --bin conductor first.
#   --against ironic starts Ironic 39 from .venv-ironic all-in-one with
#       tests/differential/conftest.py's configuration (SQLite, noauth, fake-hardware).
#   --record (with --against ironic) rewrites expected-pass-<suite>.txt: the tests
#       that pass on Ironic 39.
#   Otherwise every test listed in expected-pass-<suite>.txt must pass; the one
#   exception is a test skipped because it needs a microversion above the service's
#   maximum (openstacksdk's own "does not provide microversion X" skip, or the
#   plugin's "needs microversion X" for the three ironicclient modules on resources
#   newer than 1.46, see sanlink_community_plugin.py). Failures are printed with the
#   first lines of their errors; the exit status is then 1.
#   --workers N runs N tests at a time (pytest-xdist, default 4): each test makes its
#       own nodes, and the ironicclient tests spend most of their time starting the CLI.
#   --keep DIR keeps the junit files, configuration and service logs in DIR.
#
# Timing: openstacksdk's suite about a minute; ironicclient's is bound by the CPU time
# of its 400-500 CLI starts (about 1 s each): some 4 minutes on an idle 2-core machine,
# far longer on a busy one.
#
# The suites run in .venv-community (tests/community/requirements.txt), made on first
# use and reinstalled when the requirements change, as scripts/test.sh's setup_venv does.
# Environment: PYTHON, the interpreter for the environment (default python3).

set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
HERE="$ROOT/tests/community"
VENV="$ROOT/.venv-community"
REQUIREMENTS="$HERE/requirements.txt"

setup_venv() {
    if [ ! -x "$VENV/bin/python" ] || ! "$VENV/bin/python" -c 'import sys' 2>/dev/null; then
        rm -rf "$VENV"
        "${PYTHON:-python3}" -m venv "$VENV"
    fi
    local stamp="$VENV/.requirements.sha256" want
    want="$(sha256sum "$REQUIREMENTS" | cut -d' ' -f1)"
    if [ "$(cat "$stamp" 2>/dev/null)" != "$want" ]; then
        "$VENV/bin/python" -m pip install --quiet --disable-pip-version-check -r "$REQUIREMENTS"
        echo "$want" > "$stamp"
    fi
}

topology=embedded
args=("$@")
for ((i = 0; i < ${#args[@]}; i++)); do
    case "${args[$i]}" in
        --topology) topology="${args[$((i + 1))]:-}" ;;
        --topology=*) topology="${args[$i]#--topology=}" ;;
    esac
done

setup_venv

export SANLINK_BIN="$ROOT/target/debug/sanlink"
export SANLINK_GATEWAY_BIN="$ROOT/target/debug/api-gateway"
export SANLINK_CONDUCTOR_BIN="$ROOT/target/debug/conductor"
export TEST_TOPOLOGY="$topology"
unset TEST_DATABASE_URL

if [ "$topology" = production ] && [[ " $* " != *" --against ironic "* && " $* " != *" --against=ironic "* ]]; then
    # A database of this run's own: other runs may share the server.
    pg_url="${TEST_PG_URL:-postgres://postgres@127.0.0.1:5432/}"
    scheme="${pg_url%%://*}" rest="${pg_url#*://}"
    server="$scheme://${rest%%/*}"
    db="sanlink_community_$$"
    psql "$server/postgres" -v ON_ERROR_STOP=1 -q -c "CREATE DATABASE $db"
    trap 'psql "$server/postgres" -q -c "DROP DATABASE IF EXISTS $db WITH (FORCE)" >/dev/null 2>&1 || true' EXIT
    export TEST_DATABASE_URL="$server/$db"
fi

# Not exec: the trap above drops the database once the run is over.
"$VENV/bin/python" "$HERE/run.py" "$@"
