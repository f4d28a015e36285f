#!/usr/bin/env python3
"""Writes common/data/os-traits.txt: the standard trait names of the os-traits
package, one a line, sorted. Ironic accepts a node trait when it is one of these or a
CUSTOM_ name; sanlink compiles the file in.

    python -m pip install os-traits==3.9.0   # the version tests/clients/requirements.txt pins
    python scripts/gen-os-traits.py          # or --check: exit 1 when the file differs
"""

import sys
from importlib.metadata import version
from pathlib import Path

import os_traits

TARGET = Path(__file__).resolve().parents[1] / "common" / "data" / "os-traits.txt"


def render():
    return "".join(f"{name}\n" for name in sorted(os_traits.get_traits()))


def main():
    text = render()
    if sys.argv[1:] == ["--check"]:
        if TARGET.read_text() != text:
            sys.exit(f"{TARGET} does not match os-traits {version('os-traits')}: rerun {sys.argv[0]}")
        return
    TARGET.write_text(text)


if __name__ == "__main__":
    main()
