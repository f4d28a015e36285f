#!/usr/bin/env bash
# Runs every test of the repository and prints a summary; exits non-zero if any step failed.
#
#   0. the machine (scripts/prepare.sh: as root, installs the missing Debian packages and
#      starts PostgreSQL, MariaDB and RabbitMQ; as another user, names what is missing),
#      then the fresh build (tests/fresh/run.sh): the README's run command in a clean
#      clone with the database client libraries out of reach answers GET /
#      and the lint (cargo fmt --check, cargo clippy -D warnings on every target)
#   1. Rust unit and integration tests on SQLite   (cargo test --workspace; the Redfish
#      tests use sushy-emulator from the virtual environment, so that is set up first)
#   2. the API integration tests on PostgreSQL and on MariaDB/MySQL, with the conductor
#      in-process and with two conductors over RabbitMQ
#                                   (cargo test -p api-gateway --test it -- volume:: nodes:: drivers::)
#      and the conductor's tests of node locks, creates and copies of one request there too
#                                   (cargo test -p conductor --test it -- node_lock:: copies:: creates::)
#      Each crate has one integration-test binary (tests/it); a step picks its tests
#      by the name of their module.
#   3. the client tests: openstacksdk, the `baremetal` CLI (also with HTTP basic
#      authentication), secrets absent from responses and debug logs, Nova's call sequence and
#      the `cinder` storage interface against a real Cinder (tests/cinder's fixture: deploy
#      and tear-down, Cinder down, unknown or taken volumes, the docs' walk-through),
#      the operations (request ids in the logs, /healthz, /readyz, /metrics, the admin
#      commands, the commands of docs/operations.md; they need curl, sqlite3, pg_dump
#      and mariadb-dump) (pytest tests/clients), against the embedded `sanlink` on SQLite and against
#      the production topology (two `conductor`s + `api-gateway` over RabbitMQ) on
#      PostgreSQL and on MariaDB (there without the CLI's and Cinder's tests)
#   3a. the differential test (tests/differential): the real Ironic 39 from PyPI and
#      sanlink (embedded, then production on PostgreSQL) get the same corpus of
#      requests; every difference not listed in docs/differences-from-ironic.md fails
#   3a'. the Keystone tests (tests/keystone, Keystone 30 from PyPI in .venv-keystone):
#      every endpoint for every persona against Ironic 39's recorded answers, token
#      expiry, revocation and Keystone stopped, the operator guide's Keystone commands;
#      then Nova's real ironic driver (tests/nova, Nova from PyPI in .venv-nova) drives
#      nodes through spawn with a boot volume and a config drive, power, NMI, console,
#      rescue, VIFs and destroy, without authentication (embedded) and through Keystone
#      (in the production topology on PostgreSQL)
#   3a''. the community suites (tests/community): openstacksdk's baremetal functional
#      tests and python-ironicclient 5.6.0's, each test that passes on Ironic 39 must
#      pass on sanlink (embedded; openstacksdk's in production too)
#   3b. the API fuzzer (tests/fuzz/run.sh): schemathesis, in its own .venv-fuzz, runs
#      every operation of docs/openapi.json against an embedded `sanlink` with a fixed
#      seed and example count and every schemathesis check: a 5xx, a response off the
#      documented schema, a valid request refused, an invalid one accepted or an
#      undeclared method not answered 405 fails it
#   4. the fault tests (pytest tests/faults): a conductor killed mid-stream and a
#      RabbitMQ restart under load, on PostgreSQL and on MariaDB, a restart of a
#      private PostgreSQL server (initdb + pg_ctl in a temporary directory) under load,
#      and the embedded `sanlink` on SQLite killed mid-stream
#   4b. a smoke run of the benchmark (bench --quick: embedded, 1 s per scenario, no error)
#   5. the end-to-end test (tests/e2e/run.sh): a QEMU machine, powered through Redfish,
#      boots its iSCSI volume with iPXE through sanlink, embedded and in the production
#      topology; its Cinder cases again with a real Keystone in front of sanlink and
#      Cinder; as root, since it installs its packages (tests/e2e/install-deps.sh)
#      and runs in a network namespace of its own
#
# Needs running PostgreSQL, MariaDB and RabbitMQ servers (see README.md; .ci/run starts them).
# Environment:
#   TEST_PG_URL     server URL for step 2, default postgres://postgres@127.0.0.1:5432/
#   TEST_MYSQL_URL  server URL for step 2, default mysql://root@127.0.0.1:3306/
#   CLIENT_TEST_DATABASES  backends the client tests run on against the embedded
#                   `sanlink`, default "sqlite"; "postgres" and "mysql" use a fresh
#                   database `sanlink_clients` on the servers above
#   CLIENT_TEST_PRODUCTION  backends the client tests run on against the production
#                   topology (two `conductor`s + `api-gateway` over RabbitMQ), default
#                   "postgres mysql"; empty to skip
#   FAULT_TEST_DATABASES  backends of the fault tests (tests/faults: a conductor killed
#                   mid-stream, RabbitMQ restarted under load), default "postgres mysql";
#                   they restart the local RabbitMQ, so run them on a broker of your own
#   TEST_AMQP_URL   RabbitMQ for those, default amqp://guest:guest@127.0.0.1:5672/%2f
#   E2E_TOPOLOGIES  topologies of the end-to-end test, default "embedded production";
#                   empty to skip
#   PYTHON          interpreter for the virtual environment, default python3
# Extra arguments are passed to pytest (e.g. scripts/test.sh -k cli -x).

set -uo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"

VENV="$ROOT/.venv"
REQUIREMENTS="$ROOT/tests/clients/requirements.txt"
PG_URL="${TEST_PG_URL:-postgres://postgres@127.0.0.1:5432/}"
MYSQL_URL="${TEST_MYSQL_URL:-mysql://root@127.0.0.1:3306/}"
CLIENT_DBS="${CLIENT_TEST_DATABASES-sqlite}"
PRODUCTION_DBS="${CLIENT_TEST_PRODUCTION-postgres mysql}"

declare -a NAMES=() RESULTS=()
FAILED=0
# Every test builds both server backends; the embedded build without them is the fresh
# build's test.
FEATURES="postgres,mysql"
FAULT_DBS="${FAULT_TEST_DATABASES-postgres mysql}"
E2E_TOPOLOGIES="${E2E_TOPOLOGIES-embedded production}"

note() { printf '\n==> %s\n' "$*"; }

# step NAME COMMAND...: runs a command, records whether it passed.
step() {
    local name="$1"
    shift
    note "$name"
    local start=$SECONDS
    if "$@"; then
        NAMES+=("$name")
        RESULTS+=("ok     $((SECONDS - start))s")
    else
        local rc=$?
        NAMES+=("$name")
        RESULTS+=("FAILED (exit $rc) $((SECONDS - start))s")
        FAILED=1
    fi
}

skip() {
    NAMES+=("$1")
    RESULTS+=("skipped: $2")
    note "$1: skipped ($2)"
}

summary() {
    printf '\n==================== test summary ====================\n'
    local i
    for i in "${!NAMES[@]}"; do
        printf '%-60s %s\n' "${NAMES[$i]}" "${RESULTS[$i]}"
    done
    local passed=0 failed=0 r
    for r in "${RESULTS[@]}"; do
        if [[ "$r" == ok* ]]; then passed=$((passed + 1)); else failed=$((failed + 1)); fi
    done
    if [ "$FAILED" -ne 0 ]; then
        printf 'RESULT: FAILED\n'
    else
        printf 'RESULT: all steps passed\n'
    fi
    printf 'steps: %d passed, %d failed\n' "$passed" "$failed"
}

# --- Python environment ------------------------------------------------------

setup_venv() {
    local python="${PYTHON:-python3}"
    if [ ! -x "$VENV/bin/python" ] || ! "$VENV/bin/python" -c 'import sys' 2>/dev/null; then
        rm -rf "$VENV"
        "$python" -m venv "$VENV" || return 1
    fi
    local stamp="$VENV/.requirements.sha256"
    local want
    want="$(sha256sum "$REQUIREMENTS" | cut -d' ' -f1)"
    if [ "$(cat "$stamp" 2>/dev/null)" != "$want" ]; then
        "$VENV/bin/python" -m pip install --quiet --disable-pip-version-check \
            -r "$REQUIREMENTS" || return 1
        echo "$want" > "$stamp"
    fi
    "$VENV/bin/python" -c 'import openstack, ironicclient, pytest, sushy_tools' || return 1
    echo "venv ready: $VENV"
}

# The fuzzer's own environment: schemathesis pins versions openstacksdk's may not share.
setup_fuzz_venv() {
    local python="${PYTHON:-python3}" venv="$ROOT/.venv-fuzz" reqs="$ROOT/tests/fuzz/requirements.txt"
    if [ ! -x "$venv/bin/python" ] || ! "$venv/bin/python" -c 'import sys' 2>/dev/null; then
        rm -rf "$venv"
        "$python" -m venv "$venv" || return 1
    fi
    local stamp="$venv/.requirements.sha256" want
    want="$(sha256sum "$reqs" | cut -d' ' -f1)"
    if [ "$(cat "$stamp" 2>/dev/null)" != "$want" ]; then
        "$venv/bin/python" -m pip install --quiet --disable-pip-version-check -r "$reqs" || return 1
        echo "$want" > "$stamp"
    fi
    "$venv/bin/schemathesis" --version
}

# --- Rust --------------------------------------------------------------------

cargo_tests_sqlite() {
    # The Redfish tests run against the emulator that setup_venv installed.
    TEST_DATABASE=sqlite SUSHY_EMULATOR="$VENV/bin/sushy-emulator" \
        cargo test --workspace --features "$FEATURES" --no-fail-fast
}

# cargo_api_tests DATABASE TRANSPORT: the API tests against a server database, with the
# conductor in-process (memory) or two conductors over RabbitMQ (amqp).
# With the conductor in-process, also the database-fault tests (connections killed
# under load, creates racing a node delete) and the input edges.
cargo_api_tests() {
    local extra=()
    [ "$2" = memory ] && extra=(db_faults:: input_edges::)
    TEST_DATABASE="$1" TEST_TRANSPORT="$2" TEST_PG_URL="$PG_URL" TEST_MYSQL_URL="$MYSQL_URL" \
        cargo test -p api-gateway --features "$FEATURES" --test it --no-fail-fast -- \
        volume:: nodes:: limits:: compat:: traits:: management:: chassis:: portgroups:: drivers:: "${extra[@]}"
}

# cargo_conductor_tests DATABASE: node locks, concurrent copies of one request and changes
# planned before a lock, on a server database (they run on SQLite in cargo_tests_sqlite).
# The conductor's test binary is the one `cargo test --workspace` built: `cargo test -p
# conductor` would resolve the dependencies' features for that one package and build
# them all again, for minutes.
cargo_conductor_tests() {
    local binary
    binary="$(cargo test --workspace --features "$FEATURES" --test it --no-run \
        --message-format=json 2>/dev/null | "${PYTHON:-python3}" -c '
import json, sys
for line in sys.stdin:
    m = json.loads(line)
    if m.get("reason") == "compiler-artifact" and m["target"]["name"] == "it" \
            and "/conductor#" in m["package_id"] and m.get("executable"):
        print(m["executable"])
')" || return 1
    [ -x "$binary" ] || { echo "no test binary of the conductor" >&2; return 1; }
    (cd "$ROOT/conductor" && TEST_DATABASE="$1" TEST_PG_URL="$PG_URL" TEST_MYSQL_URL="$MYSQL_URL" \
        "$binary" node_lock:: copies:: creates:: trait_copies:: nmi_copies:: portgroups:: planned_changes::)
}

# --- client tests ------------------------------------------------------------

# scheme://authority of a database URL (its path and query dropped).
server_base() {
    local scheme="${1%%://*}" rest="${1#*://}"
    echo "$scheme://${rest%%/*}"
}

# A fresh, empty database named sanlink_clients on the given server; prints its URL.
fresh_database() {
    local name=sanlink_clients base
    case "$1" in
        postgres)
            base="$(server_base "$PG_URL")"
            psql "$base/postgres" -v ON_ERROR_STOP=1 -q \
                -c "DROP DATABASE IF EXISTS $name" -c "CREATE DATABASE $name" >&2 || return 1
            echo "$base/$name"
            ;;
        mysql)
            base="$(server_base "$MYSQL_URL")"
            local authority="${base#*://}" userinfo="" hostport
            hostport="$authority"
            if [[ "$authority" == *@* ]]; then
                userinfo="${authority%@*}"
                hostport="${authority##*@}"
            fi
            local user="${userinfo%%:*}" pass="" host="${hostport%%:*}" port=3306
            [[ "$userinfo" == *:* ]] && pass="${userinfo#*:}"
            [[ "$hostport" == *:* ]] && port="${hostport##*:}"
            MYSQL_PWD="$pass" mariadb -h "$host" -P "$port" -u "${user:-root}" \
                -e "DROP DATABASE IF EXISTS $name; CREATE DATABASE $name CHARACTER SET utf8mb4" >&2 \
                || return 1
            echo "$base/$name"
            ;;
        *)
            echo "unknown database $1 in CLIENT_TEST_DATABASES (sqlite, postgres, mysql)" >&2
            return 1
            ;;
    esac
}

# client_tests TOPOLOGY DATABASE [pytest args...]
client_tests() {
    local topology="$1" db="$2"
    shift 2
    local url=""
    if [ "$db" != sqlite ]; then
        url="$(fresh_database "$db")" || return 1
    fi
    TEST_TOPOLOGY="$topology" TEST_DATABASE_URL="$url" \
        SANLINK_BIN="$ROOT/target/debug/sanlink" \
        SANLINK_GATEWAY_BIN="$ROOT/target/debug/api-gateway" \
        SANLINK_CONDUCTOR_BIN="$ROOT/target/debug/conductor" \
        "$VENV/bin/python" -m pytest "$ROOT/tests/clients" "$@"
    local rc=$?
    # pytest exits 5 when it collected no test: that is a failure here.
    [ "$rc" -eq 5 ] && echo "pytest ran no test" >&2
    return "$rc"
}

# --- run -----------------------------------------------------------------------

last_ok() { [[ "${RESULTS[-1]}" == ok* ]]; }

step "prepare the machine (scripts/prepare.sh)" scripts/prepare.sh
if ! last_ok; then
    summary
    exit 1
fi

step "fresh build: the run command without database client libraries" tests/fresh/run.sh

lint() {
    cargo fmt --all --check &&
        cargo clippy --workspace --all-targets --features "$FEATURES" -- -D warnings
}
step "lint: cargo fmt --check, cargo clippy -D warnings" lint

step "python venv (.venv)" setup_venv
VENV_OK=0; last_ok || VENV_OK=1

step "cargo test --workspace (sqlite)" cargo_tests_sqlite

for db in postgres mysql; do
    step "api-gateway API tests ($db)" cargo_api_tests "$db" memory
    step "api-gateway API tests ($db, two conductors over RabbitMQ)" cargo_api_tests "$db" amqp
    step "conductor lock and request-copy tests ($db)" cargo_conductor_tests "$db"
done

step "cargo build (sanlink, api-gateway, conductor)" \
    cargo build --features "$FEATURES" --bin sanlink --bin api-gateway --bin conductor
BUILD_OK=0; last_ok || BUILD_OK=1

# The benchmark harness keeps working: 1 s per scenario against the embedded `sanlink`
# (debug build), failing on any non-2xx answer. The real benchmark is scripts/bench.sh.
bench_smoke() {
    cargo build -p bench && target/debug/bench --quick --work-dir target/bench-smoke/work \
        --json target/bench-smoke/results.json
}
if [ "$BUILD_OK" -ne 0 ]; then
    skip "benchmark smoke run (bench --quick)" "no binaries"
    FAILED=1
else
    step "benchmark smoke run (bench --quick)" bench_smoke
fi

# The Cinder fixture's own test (tests/cinder/run.sh): a real Cinder 29 from PyPI in
# .venv-cinder, its volumes in sparse files exported by its own tgtd, attached and
# logged in to over iSCSI, with and without Keystone; as root it installs tgt and
# libiscsi-bin first. The client tests' test_cinder.py runs on the same fixture.
step "Cinder fixture (tests/cinder)" tests/cinder/run.sh -p no:cacheprovider

run_client_tests() {
    local topology="$1" db="$2"
    shift 2
    local name="client tests: pytest tests/clients ($topology, $db${*:+, $*})"
    if [ "$VENV_OK" -ne 0 ] || [ "$BUILD_OK" -ne 0 ]; then
        skip "$name" "no venv or no binaries"
        FAILED=1
        return
    fi
    step "$name" client_tests "$topology" "$db" "$@"
}

for db in $CLIENT_DBS; do
    run_client_tests embedded "$db" "$@"
done
# On MariaDB the production topology runs without the tests that drive the CLI or
# Cinder: they spend their minutes starting the CLI and Cinder, their requests are the
# ones the PostgreSQL run makes through the same gateway and conductors, and the cargo
# API tests above cover MariaDB with both transports.
for db in $PRODUCTION_DBS; do
    if [ "$db" = mysql ]; then
        run_client_tests production "$db" -m "not cli and not cinder" "$@"
    else
        run_client_tests production "$db" "$@"
    fi
done

# differential_tests TOPOLOGY: the same corpus to the real Ironic 39 and to sanlink
# (tests/differential); the production topology runs on PostgreSQL.
differential_tests() {
    local url=""
    if [ "$1" = production ]; then
        url="$(fresh_database postgres)" || return 1
    fi
    TEST_TOPOLOGY="$1" TEST_DATABASE_URL="$url" \
        SANLINK_BIN="$ROOT/target/debug/sanlink" \
        SANLINK_GATEWAY_BIN="$ROOT/target/debug/api-gateway" \
        SANLINK_CONDUCTOR_BIN="$ROOT/target/debug/conductor" \
        tests/differential/run.sh -p no:cacheprovider
}

for topology in embedded production; do
    name="differential test against Ironic 39 ($topology)"
    if [ "$BUILD_OK" -ne 0 ]; then
        skip "$name" "no binaries"
        FAILED=1
    else
        step "$name" differential_tests "$topology"
    fi
done

# keystone_tests TOPOLOGY: a real Keystone from PyPI (tests/keystone) in front of
# sanlink: every endpoint for every persona against Ironic 39's recorded answers, the
# texts of 401/403/503, expiry, revocation, Keystone stopped mid-run, and the operator
# guide's Keystone commands; production runs on PostgreSQL.
keystone_tests() {
    TEST_PG_URL="$PG_URL" \
        SANLINK_BIN="$ROOT/target/debug/sanlink" \
        SANLINK_GATEWAY_BIN="$ROOT/target/debug/api-gateway" \
        SANLINK_CONDUCTOR_BIN="$ROOT/target/debug/conductor" \
        tests/keystone/run.sh --against sanlink --topology "$1" -p no:cacheprovider
}

for topology in embedded production; do
    name="Keystone and Ironic's policy ($topology)"
    if [ "$BUILD_OK" -ne 0 ]; then
        skip "$name" "no binaries"
        FAILED=1
    else
        step "$name" keystone_tests "$topology"
    fi
done

# nova_tests TOPOLOGY AUTH: Nova's real ironic driver (Nova from PyPI, tests/nova)
# through spawn, power, rescue, console, VIFs and destroy, without authentication and
# through Keystone's catalog; production runs on PostgreSQL.
nova_tests() {
    TEST_PG_URL="$PG_URL" \
        SANLINK_BIN="$ROOT/target/debug/sanlink" \
        SANLINK_GATEWAY_BIN="$ROOT/target/debug/api-gateway" \
        SANLINK_CONDUCTOR_BIN="$ROOT/target/debug/conductor" \
        tests/nova/run.sh --against sanlink --topology "$1" --auth "$2" -p no:cacheprovider
}

# Twice, not four times: without authentication embedded (as Bifrost runs it) and through
# Keystone in production (as a cloud runs it). The authentication layer is the gateway's
# in both topologies, and the Keystone tests above run it in each.
for run in "embedded none" "production keystone"; do
    read -r topology auth <<< "$run"
    name="Nova's ironic driver against sanlink ($topology, auth $auth)"
    if [ "$BUILD_OK" -ne 0 ]; then
        skip "$name" "no binaries"
        FAILED=1
    else
        step "$name" nova_tests "$topology" "$auth"
    fi
done

# community_tests TOPOLOGY SUITE: the OpenStack projects' own functional tests
# (tests/community): every test that passes on Ironic 39 must pass on sanlink.
community_tests() {
    TEST_PG_URL="$PG_URL" tests/community/run.sh --topology "$1" --suite "$2"
}

# Both suites embedded; in production only openstacksdk's: ironicclient's spends its
# minutes starting the CLI, and everything it sends crosses the same HTTP layer.
for run in "embedded all" "production openstacksdk"; do
    read -r topology suite <<< "$run"
    name="community suites: $suite ($topology)"
    if [ "$BUILD_OK" -ne 0 ]; then
        skip "$name" "no binaries"
        FAILED=1
    else
        step "$name" community_tests "$topology" "$suite"
    fi
done

fuzz_tests() {
    setup_fuzz_venv || return 1
    SANLINK_BIN="$ROOT/target/debug/sanlink" SCHEMATHESIS="$ROOT/.venv-fuzz/bin/schemathesis" \
        timeout 600 "$ROOT/tests/fuzz/run.sh"
}

if [ "$BUILD_OK" -ne 0 ]; then
    skip "fuzz: schemathesis against docs/openapi.json" "no binaries"
    FAILED=1
else
    step "fuzz: schemathesis against docs/openapi.json" fuzz_tests
fi

fault_tests() {
    # The PostgreSQL restart runs on a private PostgreSQL, and the embedded kill on
    # SQLite, whatever the step's database: once, in the PostgreSQL step.
    local only_once=()
    [ "$1" = postgres ] || only_once=(
        --ignore "$ROOT/tests/faults/test_postgres_restart.py"
        --ignore "$ROOT/tests/faults/test_embedded_kill.py"
    )
    TEST_FAULTS_DATABASE="$1" "$VENV/bin/python" -m pytest -p no:cacheprovider \
        "${only_once[@]}" "$ROOT/tests/faults"
}

for db in $FAULT_DBS; do
    if [ "$VENV_OK" -ne 0 ] || [ "$BUILD_OK" -ne 0 ]; then
        skip "fault tests ($db)" "no venv or no binaries"
        FAILED=1
    else
        step "fault tests: pytest tests/faults ($db)" fault_tests "$db"
    fi
done

# e2e_tests TOPOLOGY AUTH [pytest args...]: a machine boots its SAN volume through
# sanlink (tests/e2e); AUTH keystone puts a real Keystone in front of sanlink and Cinder.
e2e_tests() {
    local topology="$1" auth="$2"
    shift 2
    tests/e2e/install-deps.sh >/dev/null || return 1
    TEST_TOPOLOGY="$topology" TEST_AUTH="$auth" SANLINK_BIN="$ROOT/target/debug/sanlink" \
        SANLINK_API_GATEWAY_BIN="$ROOT/target/debug/api-gateway" \
        SANLINK_CONDUCTOR_BIN="$ROOT/target/debug/conductor" \
        timeout --signal=TERM 600 tests/e2e/run.sh "$@"
}

# run_e2e NAME TOPOLOGY AUTH [pytest args...]
run_e2e() {
    local name="$1"
    shift
    if [ "$BUILD_OK" -ne 0 ]; then
        skip "$name" "no binaries"
        FAILED=1
    elif [ "$(id -u)" -ne 0 ]; then
        skip "$name" "needs root (network namespace, tgtd, libvirtd)"
        FAILED=1
    else
        step "$name" e2e_tests "$@"
    fi
}

for topology in $E2E_TOPOLOGIES; do
    run_e2e "e2e: a machine boots its iSCSI volume ($topology)" "$topology" none
    run_e2e "e2e: a machine boots a Cinder volume, Keystone in front ($topology)" \
        "$topology" keystone -k cinder
done

summary
exit "$FAILED"
