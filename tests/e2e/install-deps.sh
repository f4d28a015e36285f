#!/usr/bin/env bash
# Installs what the boot-from-SAN end-to-end test needs on Debian 12 (bookworm), as
# root; safe to run again:
#   * QEMU with iPXE option ROMs (the node), tgt (the iSCSI target);
#   * libvirt, driven by sushy-tools' libvirt driver (the node's Redfish BMC), with
#     the qemu.conf it needs inside a container (no cgroups, no DAC relabelling,
#     no virtlogd);
#   * the virtual environment $E2E_VENV (default .venv-e2e) on Debian's python3, so it
#     sees python3-libvirt: openstacksdk, pytest and sushy-tools.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
VENV="${E2E_VENV:-$ROOT/.venv-e2e}"
export DEBIAN_FRONTEND=noninteractive
apt_get() { apt-get -o DPkg::Lock::Timeout=900 "$@"; }

have_packages() {
    local package
    for package; do
        [ "$(dpkg-query -W -f='${Status}' "$package" 2>/dev/null)" = 'install ok installed' ] || return 1
    done
}

PACKAGES=(ipxe-qemu tgt libvirt-daemon libvirt-daemon-driver-qemu libvirt-clients
    python3-libvirt python3-venv iproute2 util-linux)
if ! command -v qemu-system-x86_64 >/dev/null || ! have_packages "${PACKAGES[@]}"; then
    apt_get update
    # Debian 12 images that carry qemu-utils from bookworm-backports refuse bookworm's
    # qemu-system-x86 (qemu-utils Breaks the older qemu-system-common); take
    # qemu-system-x86 from bookworm-backports as well, through a source list of its
    # own on the system's mirror, leaving apt's configuration as it is.
    qemu_utils=$(dpkg-query -W -f='${Version}' qemu-utils 2>/dev/null || true)
    if [ -n "$qemu_utils" ] && dpkg --compare-versions "$qemu_utils" ge 1:8; then
        bpo=/var/tmp/sanlink-apt-backports
        mkdir -p "$bpo/lists/partial" "$bpo/archives/partial"
        mirror=$(awk '/^URIs:/ { print $2; exit }' /etc/apt/sources.list.d/debian.sources 2>/dev/null)
        mirror=${mirror:-http://deb.debian.org/debian}
        echo "deb [signed-by=/usr/share/keyrings/debian-archive-keyring.gpg] $mirror bookworm-backports main" \
            >"$bpo/sources.list"
        opts=(-o "Dir::Etc::sourcelist=$bpo/sources.list" -o "Dir::State::lists=$bpo/lists"
            -o "Dir::Cache::archives=$bpo/archives")
        apt_get "${opts[@]}" update
        apt_get "${opts[@]}" install -y --no-install-recommends -t bookworm-backports qemu-system-x86
    else
        apt_get install -y --no-install-recommends qemu-system-x86
    fi
    apt_get install -y --no-install-recommends "${PACKAGES[@]}"
fi

# libvirtd 9.0 looks its built-in QEMU user up before it reads qemu.conf.
getent group libvirt-qemu >/dev/null || groupadd --system libvirt-qemu
getent passwd libvirt-qemu >/dev/null ||
    useradd --system --gid libvirt-qemu --home-dir /var/lib/libvirt \
        --shell /usr/sbin/nologin libvirt-qemu
QEMU_CONF=/etc/libvirt/qemu.conf
if ! grep -q '^# sanlink e2e' "$QEMU_CONF" 2>/dev/null; then
    [ -e "$QEMU_CONF" ] && cp "$QEMU_CONF" "$QEMU_CONF.orig"
    cat >"$QEMU_CONF" <<'CONF'
# sanlink e2e: QEMU runs as root without per-VM cgroups, a /dev namespace, DAC
# relabelling, a security driver or virtlogd, none of which a container offers.
user = "root"
group = "root"
dynamic_ownership = 0
remember_owner = 0
security_driver = "none"
namespaces = []
cgroup_controllers = []
stdio_handler = "file"
CONF
fi

# Debian's python3 (not another one on PATH): the venv reuses python3-libvirt.
if [ ! -x "$VENV/bin/python" ]; then
    /usr/bin/python3 -m venv --system-site-packages "$VENV"
fi
REQUIREMENTS="$ROOT/tests/e2e/requirements.txt"
stamp="$VENV/.requirements.sha256"
want="$(sha256sum "$REQUIREMENTS" | cut -d' ' -f1)"
if [ "$(cat "$stamp" 2>/dev/null)" != "$want" ]; then
    "$VENV/bin/python" -m pip install --quiet --disable-pip-version-check -r "$REQUIREMENTS"
    echo "$want" >"$stamp"
fi
"$VENV/bin/python" -c 'import libvirt, openstack, pytest, sushy_tools'
echo "e2e dependencies ready (venv $VENV)"
