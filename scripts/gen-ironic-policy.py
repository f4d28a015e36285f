#!/usr/bin/env python3
"""Writes common/data/ironic-policy.json: Ironic's default policy rules, in the order
Ironic registers them, each with its name, check string, scope types (null when the
rule has none), description and documented operations. sanlink compiles the file in
and enforces these defaults, as Ironic does with enforce_new_defaults; the deprecated
fallbacks of the pre-RBAC rules are left out.

    python -m pip install ironic==39.0.0     # the release sanlink follows
    python scripts/gen-ironic-policy.py      # or --check: exit 1 when the file differs
"""

import json
import sys
from importlib.metadata import version
from pathlib import Path

from ironic.common import policy

TARGET = Path(__file__).resolve().parents[1] / "common" / "data" / "ironic-policy.json"


def rule(default):
    return {
        "name": default.name,
        "check_str": default.check_str,
        "scope_types": list(default.scope_types) if default.scope_types is not None else None,
        "description": default.description,
        "operations": [
            {"path": op["path"], "method": op["method"]}
            for op in getattr(default, "operations", None) or []
        ],
    }


def render():
    document = {
        "ironic_version": version("ironic"),
        "rules": [rule(default) for default in policy.list_policies()],
    }
    return json.dumps(document, indent=2, ensure_ascii=False) + "\n"


def main():
    text = render()
    if sys.argv[1:] == ["--check"]:
        if TARGET.read_text() != text:
            sys.exit(f"{TARGET} does not match ironic {version('ironic')}: rerun {sys.argv[0]}")
        return
    TARGET.write_text(text)


if __name__ == "__main__":
    main()
