#!/usr/bin/env bash
# Installs the Debian packages the Cinder fixture (tests/cinder/cinder_service.py) needs,
# as root; safe to run again:
#   * tgt: tgtd, tgtadm and tgt-admin, the iSCSI target that Cinder's tgtadm helper
#     drives (the fixture runs a tgtd of its own, on its own control socket and port);
#   * libiscsi-bin: iscsi-readcapacity16 and iscsi-inq, a user-space initiator the tests
#     log in with (no kernel initiator, no iscsid);
#   * python3-venv, for .venv-cinder.
# RabbitMQ (127.0.0.1:5672, guest/guest) is scripts/prepare.sh's.
set -euo pipefail
export DEBIAN_FRONTEND=noninteractive
PACKAGES=(tgt libiscsi-bin python3-venv)

missing=()
for package in "${PACKAGES[@]}"; do
    [ "$(dpkg-query -W -f='${Status}' "$package" 2>/dev/null)" = 'install ok installed' ] ||
        missing+=("$package")
done
[ "${#missing[@]}" -eq 0 ] && exit 0
if [ "$(id -u)" -ne 0 ]; then
    echo "missing ${missing[*]}: run \`sudo apt-get install ${missing[*]}\`" >&2
    exit 1
fi
apt_get() { apt-get -o DPkg::Lock::Timeout=900 "$@"; }
apt_get update -q
apt_get install -y -q --no-install-recommends "${missing[@]}"
echo "installed ${missing[*]}"
