#!/usr/bin/env bash
# The README's run command on a machine without the database client libraries.
#
# A clean clone of HEAD is built with `cargo run --release --bin sanlink` while
# PostgreSQL's and MariaDB's client libraries are out of reach: pkg-config searches an
# empty folder, no `pg_config`, `mysql_config` or `mariadb_config` is on PATH, and the
# target directory is new, so nothing built earlier is reused. The service it starts must
# answer `GET /` on 127.0.0.1:6385. Two checks keep the proof honest: the binary links
# neither libpq nor libmariadb/libmysqlclient, and in the same environment a build that
# does need the MariaDB client library (`-p common --features mysql`) fails.
#
# Prints the cold build time. Needs only what the run command needs, plus curl and git.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
PORT=6385
WORK="$(mktemp -d "${TMPDIR:-/tmp}/sanlink-fresh.XXXXXX")"
SERVICE_PID=""

cleanup() {
    # `cargo run` does not pass SIGTERM on to the service: stop its whole process group.
    if [ -n "$SERVICE_PID" ] && kill -TERM -- "-$SERVICE_PID" 2>/dev/null; then
        wait "$SERVICE_PID" 2>/dev/null || true
    fi
    rm -rf "$WORK"
}
trap cleanup EXIT

fail() {
    echo "fresh build: $*" >&2
    exit 1
}

if curl -s -o /dev/null "http://127.0.0.1:$PORT/"; then
    fail "something already answers on 127.0.0.1:$PORT; stop it first"
fi

git clone --quiet --no-local "$ROOT" "$WORK/sanlink"
echo "clone of $(git -C "$WORK/sanlink" rev-parse --short HEAD) in $WORK/sanlink"

# A PATH of links to every program the machine has, except the client libraries'
# configuration programs, which the -sys crates ask for the library's location.
mkdir "$WORK/bin" "$WORK/empty-pkgconfig"
IFS=: read -r -a path_dirs <<< "$PATH"
for dir in "${path_dirs[@]}"; do
    [ -d "$dir" ] || continue
    for program in "$dir"/*; do
        name="${program##*/}"
        case "$name" in
            pg_config | mysql_config | mariadb_config | mariadb-config) continue ;;
        esac
        [ -e "$WORK/bin/$name" ] || ln -s "$program" "$WORK/bin/$name"
    done
done

# isolated COMMAND...: runs in the clone with only that PATH and no way to the libraries.
isolated() {
    (cd "$WORK/sanlink" && env -i \
        HOME="$HOME" \
        PATH="$WORK/bin" \
        CARGO_HOME="${CARGO_HOME:-$HOME/.cargo}" \
        RUSTUP_HOME="${RUSTUP_HOME:-$HOME/.rustup}" \
        CARGO_TERM_COLOR=never \
        PKG_CONFIG_LIBDIR="$WORK/empty-pkgconfig" \
        PKG_CONFIG_PATH= \
        SANLINK_DATA_DIR="$WORK/data" \
        "$@")
}

isolated pkg-config --exists libpq mysqlclient libmariadb 2>/dev/null &&
    fail "pkg-config still finds a client library"

start=$SECONDS
isolated cargo build --release --bin sanlink || fail "the cold build of the run command failed"
build_seconds=$((SECONDS - start))
echo "cold build of \`cargo run --release --bin sanlink\`: ${build_seconds}s on $(nproc) cores"

binary="$WORK/sanlink/target/release/sanlink"
if ldd "$binary" | grep -E 'libpq|libmariadb|libmysqlclient'; then
    fail "the embedded binary links a database client library"
fi

# In a process group of its own (job control on), so that cleanup stops cargo and the
# service together.
set -m
isolated cargo run --release --bin sanlink > "$WORK/sanlink.log" 2>&1 &
set +m
SERVICE_PID=$!
for _ in $(seq 1 60); do
    if body="$(curl -sf "http://127.0.0.1:$PORT/")"; then
        break
    fi
    kill -0 "$SERVICE_PID" 2>/dev/null || { cat "$WORK/sanlink.log" >&2; fail "sanlink exited"; }
    sleep 1
done
[ -n "${body:-}" ] || { cat "$WORK/sanlink.log" >&2; fail "no answer on 127.0.0.1:$PORT"; }
echo "GET / -> $body"
grep -q '"versions"' <<< "$body" || fail "GET / is not the API root"

# The negative control: this environment really hides the MariaDB client library.
if isolated cargo build --release -p common --features mysql > "$WORK/mysql.log" 2>&1; then
    fail "a build with the mysql feature succeeded without the MariaDB client library"
fi
refusal='failed to run custom build command for `mysqlclient-sys'
grep -q "$refusal" "$WORK/mysql.log" ||
    { cat "$WORK/mysql.log" >&2; fail "the mysql build failed for another reason"; }
echo "the mysql feature's build fails here, as it should: $(grep -m1 "$refusal" "$WORK/mysql.log")"
echo "fresh build: ok (${build_seconds}s)"
