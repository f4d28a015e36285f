#!/usr/bin/env bash
# Fuzzes the API with schemathesis against its OpenAPI document (docs/openapi.json):
# starts an embedded `sanlink` on a fresh SQLite database, runs every operation with a
# fixed seed and example count, with every check schemathesis has: no 5xx, every
# response as documented, valid requests accepted and invalid ones refused, undeclared
# methods a 405 (tests/fuzz/schemathesis.toml names the few state-dependent answers).
# Prints its settings and the number of cases it ran.
#
#   tests/fuzz/run.sh            (SANLINK_BIN, default target/debug/sanlink;
#                                 SCHEMATHESIS, default .venv-fuzz/bin/schemathesis)
# Environment: FUZZ_SEED (default 20261126), FUZZ_MAX_EXAMPLES (default 25 per operation).

set -uo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
SANLINK_BIN="${SANLINK_BIN:-$ROOT/target/debug/sanlink}"
SCHEMATHESIS="${SCHEMATHESIS:-$ROOT/.venv-fuzz/bin/schemathesis}"
SEED="${FUZZ_SEED:-20261126}"
MAX_EXAMPLES="${FUZZ_MAX_EXAMPLES:-25}"
CHECKS="all"
CONFIG="$ROOT/tests/fuzz/schemathesis.toml"
# The one rule between parameters the document cannot state (see the file).
export SCHEMATHESIS_HOOKS=hooks
export PYTHONPATH="$ROOT/tests/fuzz${PYTHONPATH:+:$PYTHONPATH}"
# Every request at the newest version: below 1.32 the volume API is a 404, and the
# version header's parsing has property tests of its own (api-gateway/tests/it/parsers.rs).
VERSION=1.46

work="$(mktemp -d)"
port="$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')"
boot="$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')"
base="http://127.0.0.1:$port"

env -u SANLINK_DATABASE_URL SANLINK_LISTEN="127.0.0.1:$port" SANLINK_BOOT_LISTEN="127.0.0.1:$boot" \
    SANLINK_DATA_DIR="$work" SANLINK_LOG=warn NO_COLOR=1 "$SANLINK_BIN" > "$work/sanlink.log" 2>&1 &
pid=$!
cleanup() {
    kill "$pid" 2>/dev/null
    wait "$pid" 2>/dev/null
    rm -rf "$work"
}
trap cleanup EXIT

up=0
for _ in $(seq 150); do
    curl -fsS "$base/" > /dev/null 2>&1 && { up=1; break; }
    sleep 0.2
done
if [ "$up" -ne 1 ]; then
    echo "sanlink did not start on $base; its log:" >&2
    cat "$work/sanlink.log" >&2
    exit 1
fi

# The served document must be the checked-in one that schemathesis reads.
curl -fsS "$base/v1/openapi.json" > "$work/served.json" || exit 1
if ! cmp -s "$work/served.json" "$ROOT/docs/openapi.json"; then
    echo "the served /v1/openapi.json differs from docs/openapi.json" \
         "(UPDATE_OPENAPI=1 cargo test -p api-gateway --test it openapi::, then rebuild)" >&2
    exit 1
fi

echo "schemathesis $("$SCHEMATHESIS" --version | awk '{print $NF}'): seed=$SEED" \
     "max-examples=$MAX_EXAMPLES per operation, checks=$CHECKS, version header $VERSION, phases=examples,coverage,fuzzing,stateful," \
     "against $base (embedded sanlink, SQLite), schema docs/openapi.json"
# schemathesis keeps a cache of past failures in ./.schemathesis and replays them: run
# it in the scratch directory so that every run starts from the seed alone.
cd "$work" || exit 1
options=(--url "$base" --checks "$CHECKS" --seed "$SEED" --max-examples "$MAX_EXAMPLES"
         --header "X-OpenStack-Ironic-API-Version: $VERSION"
         --phases examples,coverage,fuzzing,stateful --workers 1 --request-timeout 30 --no-color)

echo "== pass 1: every operation, every parameter generated"
"$SCHEMATHESIS" --config-file "$CONFIG" run "$ROOT/docs/openapi.json" "${options[@]}"
rc=$?

# Pass 2: the operations on a node, on a real one (tests/fuzz/node-pass.toml names it);
# deleting it would end the pass early, so that one operation stays in pass 1 only.
echo "== pass 2: the {ident} operations on an existing node"
curl -fsS -o /dev/null -H "X-OpenStack-Ironic-API-Version: $VERSION" \
    -H "Content-Type: application/json" -d '{"driver": "fake-hardware", "name": "fuzz-node"}' \
    "$base/v1/nodes" || rc=1
cat "$CONFIG" "$ROOT/tests/fuzz/node-pass.toml" > "$work/node-pass.toml"
"$SCHEMATHESIS" --config-file "$work/node-pass.toml" run "$ROOT/docs/openapi.json" \
    --include-path-regex '\{ident\}' --exclude-operation-id delete_node "${options[@]}" || rc=1
if [ "$rc" -ne 0 ]; then
    echo "---- sanlink log (last 80 lines) ----"
    tail -80 "$work/sanlink.log"
fi
exit "$rc"
