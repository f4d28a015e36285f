"""A tiny raw disk image that proves a boot from it: the volume the SAN exports.

LBA 0 holds a boot sector (``boot.asm``, assembled bytes below, so no assembler is
needed) that prints ``MBR drive=0x80: `` on COM1, reads LBA 1 through INT 13h and
prints the text there: ``BOOTED-FROM-SAN nonce=<nonce>``. Seeing this run's nonce on
the serial console proves that the machine ran this image's boot sector and read a
second sector of it through iPXE's SAN hook, i.e. over iSCSI.

``write_boot_disk`` makes a sparse 16 MiB image; ``write_boot_sectors`` writes the
same two sectors into an existing, larger disk (a Cinder volume's 1 GiB backing
file) without changing its size. 16 MiB at least: with no partition table iPXE's
INT 13h emulation assumes 255 heads x 63 sectors, and a disk smaller than one such
cylinder would have no cylinder at all, so the BIOS read of the boot sector would
fail.
"""

import secrets
from pathlib import Path

MARKER = "BOOTED-FROM-SAN"
SIZE = 16 * 1024 * 1024

# nasm -f bin boot.asm, code and strings (zero-padded to 510 bytes below).
BOOT_CODE = bytes.fromhex(
    "fa31c08ed88ec08ed0bc007cfb8816767cbe877ce85400a0767ce82b00be967ce848"
    "00be777cb4428a16767ccd13720abe007ee83500b010eb08be997ce82b00b011e6f4"
    "faf4ebfc50c0e804e8030058240f04303c39760204075250bafd03eca82074fb58ba"
    "f803ee5ac3ac84c07405e8e7ffebf6c30010000100007e000001000000000000000d"
    "0a4d42522064726976653d3078003a20004c4241312d524541442d4641494c45440d"
    "0a"
)


def _sectors():
    """LBA 0 and LBA 1 of a fresh image, and the banner LBA 1 holds."""
    banner = f"{MARKER} nonce={secrets.token_hex(8)}"
    boot_sector = BOOT_CODE.ljust(510, b"\0") + b"\x55\xaa"
    second = f"{banner}\r\n".encode().ljust(512, b"\0")
    return boot_sector + second, banner


def write_boot_disk(path):
    """Writes a fresh bootable image to ``path``; returns the line it prints when booted."""
    sectors, banner = _sectors()
    with open(path, "wb") as f:
        f.write(sectors)
        f.truncate(SIZE)
    return banner


def write_boot_sectors(path):
    """Writes the boot sector and the banner sector over the first two sectors of an
    existing disk (a volume's backing file), keeping its size and the rest of it;
    returns the line it prints when booted."""
    path = Path(path)
    size = path.stat().st_size
    if size < SIZE:
        raise ValueError(f"{path}: {size} bytes, smaller than a cylinder ({SIZE})")
    sectors, banner = _sectors()
    with open(path, "r+b") as f:  # no O_TRUNC: the rest of the disk stays as it is
        f.write(sectors)
    assert path.stat().st_size == size, f"{path} changed size"
    return banner
