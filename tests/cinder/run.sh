#!/usr/bin/env bash
# The Cinder fixture's self-test: a real Cinder 29 (cinder-api, -scheduler, -volume;
# tests/cinder/cinder_service.py) with volumes in sparse files exported by its own
# tgtd, driven over HTTP the way Ironic's cinder storage interface drives it, with an
# iSCSI login (libiscsi) on the connection info it returns; once with
# auth_strategy = noauth and once behind the Keystone of tests/keystone.
#
#   tests/cinder/run.sh [pytest args]
#
# Cinder lives in .venv-cinder at the repository root, created on first use and
# brought up to date when requirements.txt or constraints.txt changes (their sha256 is
# kept in the venv, .requirements.sha256; cinder_service.py ensure-venv does it): about
# 30 s from PyPI. If that has to happen and PyPI cannot be reached, the test prints a
# SKIPPED line and exits 0; so does the Keystone test without .venv-keystone and PyPI.
# Once Cinder is installed, every failure fails, a missing tgt or libiscsi-bin
# included: install-deps.sh (run here when root) installs them. Needs root (tgtd) and
# RabbitMQ on 127.0.0.1:5672 (guest/guest; scripts/prepare.sh starts it); each Cinder
# makes a vhost of its own and deletes it when it stops. A Cinder starts in about 6 s.
#
# pytest runs from .venv (requests, pytest: tests/clients/requirements.txt, which
# scripts/test.sh installs). PYTHON is the interpreter for the venvs (default
# python3); PIP_INDEX_URL is honoured.

set -uo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
HERE="$ROOT/tests/cinder"
TEST_VENV="$ROOT/.venv"

if [ ! -x "$TEST_VENV/bin/python" ]; then
    echo "$TEST_VENV not found: create it with tests/clients/requirements.txt (scripts/test.sh does)" >&2
    exit 2
fi

if [ "$(id -u)" -eq 0 ]; then
    "$HERE/install-deps.sh" || { echo "tests/cinder/install-deps.sh failed" >&2; exit 1; }
fi

reason="$("${PYTHON:-python3}" "$HERE/cinder_service.py" ensure-venv)"
case $? in
    0) ;;
    3) echo "SKIPPED Cinder tests: $reason"; exit 0 ;;
    *) echo "$reason" >&2; exit 1 ;;
esac
# The Keystone test's venv; without it (and no PyPI) that test alone is skipped.
"${PYTHON:-python3}" "$ROOT/tests/keystone/keystone_service.py" ensure-venv >/dev/null
case $? in
    0|3) ;;
    *) echo "could not set up .venv-keystone" >&2; exit 1 ;;
esac

cd "$HERE"
"$TEST_VENV/bin/python" -m pytest "$@" .
rc=$?
# pytest exits 5 when it collected no test: that is a failure here.
[ "$rc" -eq 5 ] && echo "pytest ran no test" >&2
exit "$rc"
