#!/usr/bin/env bash
# Instructions per request of the embedded service (release build), counted by
# valgrind's callgrind in user space: noauth against Keystone tokens, for the cheapest
# requests, where what authentication and policy add is easiest to see, for a
# connector's create, update and deletion, and for a list of 1000. Unlike the
# load benchmark's CPU column, the counts do not move with the machine's load, so a
# small difference is a real one.
#
#   bench/instructions.sh [REQUESTS]      # default 2000 per scenario, after 200 warm-up
#   SANLINK_BIN=path bench/instructions.sh  # measure that binary, build nothing
#
# Needs valgrind, the client tests' .venv (requests) and tests/keystone's Keystone
# (.venv-keystone, made on first use). Prints one table; exits 1 if a request failed.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
REQUESTS="${1:-2000}"
PY="$ROOT/.venv/bin/python"
command -v valgrind >/dev/null || { echo "valgrind is not installed" >&2; exit 1; }
[ -x "$PY" ] || { echo "no .venv: run scripts/test.sh once, or make it from tests/clients/requirements.txt" >&2; exit 1; }
# SANLINK_BIN: a binary to measure instead of building this checkout's.
if [ -z "${SANLINK_BIN:-}" ]; then
    cargo build --release --quiet --features postgres,mysql --bin sanlink
fi
BIN="${SANLINK_BIN:-$ROOT/target/release/sanlink}"

# INSTRUCTIONS_WORK: a folder to keep the dumps in (for callgrind_annotate).
WORK="${INSTRUCTIONS_WORK:-$(mktemp -d)}"
mkdir -p "$WORK"
PIDS=()
cleanup() {
    for pid in "${PIDS[@]}"; do kill -TERM -- "-$pid" 2>/dev/null || kill "$pid" 2>/dev/null || true; done
    wait 2>/dev/null || true
    [ -n "${INSTRUCTIONS_WORK:-}" ] || rm -rf "$WORK"
}
trap cleanup EXIT

free_port() { "$PY" -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }

# Keystone, in its own process group so that it and gunicorn stop together.
KS_PORT="$(free_port)"
KS_PORT="$KS_PORT" setsid python3 tests/keystone/keystone_service.py serve "$WORK/keystone" \
    >"$WORK/keystone.log" 2>&1 &
PIDS+=($!)
for _ in $(seq 600); do grep -q "Keystone at" "$WORK/keystone.log" && break; sleep 0.1; done
grep -q "Keystone at" "$WORK/keystone.log" || { cat "$WORK/keystone.log" >&2; exit 1; }

# One sanlink under callgrind, counting nothing until it has started.
measure() { # mode -> "scenario Ir/request" lines
    local mode="$1" port out
    port="$(free_port)"
    out="$WORK/callgrind.$mode"
    local -a env=(SANLINK_LISTEN="127.0.0.1:$port" SANLINK_BOOT_LISTEN="127.0.0.1:$(free_port)"
        SANLINK_DATA_DIR="$WORK/data-$mode" SANLINK_LOG=warn)
    if [ "$mode" = keystone ]; then
        env+=(SANLINK_AUTH_STRATEGY=keystone
            SANLINK_KEYSTONE_AUTH_URL="http://127.0.0.1:$KS_PORT/v3"
            SANLINK_KEYSTONE_USERNAME=ironic SANLINK_KEYSTONE_PASSWORD=sanlink-ironic
            SANLINK_KEYSTONE_PROJECT_NAME=service)
    fi
    mkdir -p "$WORK/data-$mode"
    env "${env[@]}" valgrind --tool=callgrind --instr-atstart=no \
        --callgrind-out-file="$out" "$BIN" >"$WORK/sanlink-$mode.log" 2>&1 &
    local pid=$!
    PIDS+=("$pid")
    "$PY" - "$port" "$KS_PORT" "$mode" "$REQUESTS" "$out" "$pid" <<'EOF'
import glob, os, subprocess, sys, time
import requests

port, ks_port, mode, n, out, pid = sys.argv[1:]
n = int(n)
base = f"http://127.0.0.1:{port}"
s = requests.Session()
s.headers["X-OpenStack-Ironic-API-Version"] = "1.32"
if mode == "keystone":
    body = {"auth": {"identity": {"methods": ["password"], "password": {"user": {
        "name": "s-admin", "domain": {"name": "Default"}, "password": "sanlink-s-admin"}}},
        "scope": {"system": {"all": True}}}}
    r = requests.post(f"http://127.0.0.1:{ks_port}/v3/auth/tokens", json=body)
    r.raise_for_status()
    s.headers["X-Auth-Token"] = r.headers["X-Subject-Token"]
for _ in range(1200):
    try:
        if requests.get(base + "/", timeout=1).ok:
            break
    except requests.RequestException:
        time.sleep(0.1)
node = s.post(base + "/v1/nodes", json={"driver": "fake-hardware"})
node.raise_for_status()
node = node.json()["uuid"]
conn = s.post(base + "/v1/volume/connectors",
              json={"node_uuid": node, "type": "iqn", "connector_id": "iqn.2026-12.org.example:bench"})
conn.raise_for_status()
# Connectors change only while their node is powered off.
s.put(f"{base}/v1/nodes/{node}/states/power", json={"target": "power off"}).raise_for_status()
def get(path):
    return lambda i: s.get(base + path)
made = []  # the connectors the POST scenario makes, patched and then deleted
def post(i):
    r = s.post(base + "/v1/volume/connectors", json={
        "node_uuid": node, "type": "iqn", "connector_id": f"iqn.2026-12.org.example:{i}"})
    made.append(r.json().get("uuid"))
    return r
def patch(i):
    return s.patch(f"{base}/v1/volume/connectors/{made[i]}",
                   json=[{"op": "add", "path": "/extra/n", "value": i}])
def delete(i):
    return s.delete(f"{base}/v1/volume/connectors/{made[i]}")
def fill(i):
    # A list of 1000 needs 1000 connectors: made by its warm-up, not counted.
    if i == 0:
        for j in range(1000):
            s.post(base + "/v1/volume/connectors", json={"node_uuid": node, "type": "iqn",
                   "connector_id": f"iqn.2026-12.org.example:list-{j}"}).raise_for_status()
    return s.get(base + "/v1/volume/connectors?detail=True&limit=1000")
# (name, request, warm-up requests, requests counted). PATCH and DELETE take the
# connectors POST made, warm-up included; a list of 1000 costs a thousand GETs' worth.
scenarios = [
    ("GET / (trivial)", get("/"), 200, n),
    ("GET one connector", get(f"/v1/volume/connectors/{conn.json()['uuid']}"), 200, n),
    ("GET node's targets", get(f"/v1/nodes/{node}/volume/targets"), 200, n),
    ("POST connector", post, 200, n),
    ("PATCH connector", patch, 200, n),
    ("DELETE connector", delete, 200, n),
    ("list 1000 connectors", fill, 3, max(10, n // 100)),
]
def control(option):
    subprocess.run(["callgrind_control", option, pid], check=True, capture_output=True)
control("--instr=on")
for name, request, warmup, count in scenarios:
    for i in range(warmup):
        request(i).raise_for_status()
    control("--zero")
    for i in range(warmup, warmup + count):
        request(i).raise_for_status()
    control("--dump")
    time.sleep(0.5)
    dumps = sorted(glob.glob(out + "*"), key=os.path.getmtime)
    total = 0
    with open(dumps[-1]) as f:
        for line in f:
            if line.startswith("summary:") or line.startswith("totals:"):
                total = int(line.split()[1])
                break
    print(f"{name}\t{total / count:.0f}")
EOF
    kill "$pid"
    wait "$pid" 2>/dev/null || true
}

noauth="$(measure noauth)"
keystone="$(measure keystone)"
printf '%-22s %14s %14s %8s\n' "scenario ($REQUESTS req)" "noauth Ir/req" "token Ir/req" "Δ"
while IFS=$'\t' read -r name a; do
    b="$(printf '%s\n' "$keystone" | awk -F'\t' -v n="$name" '$1 == n {print $2}')"
    awk -v n="$name" -v a="$a" -v b="$b" \
        'BEGIN { printf "%-22s %14d %14d %+7.1f%%\n", n, a, b, (b - a) * 100 / a }'
done <<<"$noauth"
