#!/usr/bin/env bash
# The differential test: real OpenStack Ironic 39 (from PyPI, all-in-one, fake-hardware,
# SQLite, noauth) and sanlink side by side, the same corpus of requests sent to both,
# every difference not listed in docs/differences-from-ironic.md a failure.
#
#   tests/differential/run.sh [pytest args]
#
# Ironic lives in .venv-ironic at the repository root (created on first use, kept
# between runs, reinstalled when requirements.txt changes). If that environment has
# to be built and PyPI cannot be reached, the test prints a skip line and exits 0;
# once Ironic is installed, every failure fails.
#
# Environment: SANLINK_BIN (embedded, default target/debug/sanlink);
#   TEST_TOPOLOGY=production with TEST_DATABASE_URL (PostgreSQL or MySQL) runs sanlink
#   as two `conductor`s and an `api-gateway` over RabbitMQ (TEST_AMQP_URL), binaries
#   SANLINK_CONDUCTOR_BIN / SANLINK_GATEWAY_BIN; PYTHON, the interpreter for the venv
#   (default python3); PIP_INDEX_URL is honoured.

set -uo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
HERE="$ROOT/tests/differential"
VENV="$ROOT/.venv-ironic"
REQUIREMENTS="$HERE/requirements.txt"
STAMP="$VENV/.requirements.sha256"
want="$(sha256sum "$REQUIREMENTS" | cut -d' ' -f1)"

if [ "$(cat "$STAMP" 2>/dev/null)" != "$want" ] || [ ! -x "$VENV/bin/ironic" ]; then
    index="${PIP_INDEX_URL:-https://pypi.org/simple}"
    if ! curl -fsS --max-time 20 -o /dev/null "${index%/}/ironic/"; then
        echo "SKIPPED differential test: PyPI ($index) is unreachable and $VENV has no Ironic"
        exit 0
    fi
    echo "installing Ironic into $VENV (takes a few minutes)"
    if [ ! -x "$VENV/bin/python" ]; then
        "${PYTHON:-python3}" -m venv "$VENV" || exit 1
    fi
    "$VENV/bin/python" -m pip install --quiet --disable-pip-version-check --upgrade pip || exit 1
    "$VENV/bin/python" -m pip install --quiet --disable-pip-version-check -r "$REQUIREMENTS" || exit 1
    echo "$want" > "$STAMP"
fi

cd "$HERE"
exec "$VENV/bin/python" -m pytest "$@" .
