#!/usr/bin/env bash
# The benchmark (see bench/README.md): builds the service and the load generator in
# release mode and runs them. Without arguments: the floor, the embedded topology on
# SQLite and the production topology on PostgreSQL over RabbitMQ. `--mysql` adds
# MariaDB, `--ironic` OpenStack Ironic as the peer, `--keystone` the embedded topology
# again with Keystone tokens (tests/keystone's Keystone), `--help` lists the rest.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"

cargo build --release --quiet --features postgres,mysql -p bench -p api-gateway -p conductor
exec "$ROOT/target/release/bench" "$@"
