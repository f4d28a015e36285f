#!/usr/bin/env bash
# Runs the boot-from-SAN end-to-end test (pytest tests/e2e) inside a new network
# namespace that has only loopback, with the virtual environment that
# tests/e2e/install-deps.sh made. Needs root (namespaces, tgtd, libvirtd) and the
# binaries from `cargo build --bin sanlink --bin api-gateway --bin conductor`.
# Arguments go to pytest; TEST_TOPOLOGY=production runs gateway + two conductors over
# a RabbitMQ of the namespace's own, on the host's PostgreSQL (through its socket).
# TEST_AUTH=keystone puts a Keystone of the namespace's own (.venv-keystone) in front
# of sanlink and Cinder and runs only the Cinder tests (the others are skipped).
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
VENV="${E2E_VENV:-$ROOT/.venv-e2e}"
if [ ! -x "$VENV/bin/python" ]; then
    echo "no $VENV: run tests/e2e/install-deps.sh (as root) first" >&2
    exit 3
fi
exec unshare --net -- bash -c 'ip link set lo up && exec "$@"' bash \
    "$VENV/bin/python" -m pytest "$ROOT/tests/e2e" "$@"
