#!/usr/bin/env bash
# The libvirt <emulator> of the e2e test machine.
#
# libvirt's <interface type='user'> (QEMU's user-mode network) cannot set the DHCP
# boot file name, and a NIC added on the raw QEMU command line would be invisible to
# sushy-tools, which sets the PXE boot order on <interface> elements. So the domain
# passes the URL in SANLINK_E2E_BOOTFILE and this wrapper adds it to libvirt's JSON
# -netdev argument. Without that variable (libvirt probing QEMU) it changes nothing.
args=()
for arg in "$@"; do
    if [ -n "${SANLINK_E2E_BOOTFILE:-}" ] && [[ $arg == '{"type":"user",'* ]]; then
        arg="{\"type\":\"user\",\"bootfile\":\"$SANLINK_E2E_BOOTFILE\",${arg#'{"type":"user",'}"
    fi
    args+=("$arg")
done
exec /usr/bin/qemu-system-x86_64 "${args[@]}"
