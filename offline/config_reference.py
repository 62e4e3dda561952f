"""Prints the README's stack config reference table from components/config_schema.py.

    .venv/bin/python -m offline.config_reference
"""

from __future__ import annotations

import json

from components.config_schema import KEYS


def table() -> str:
    lines = ["| key | type | default | description |", "|---|---|---|---|"]
    for key in KEYS:
        default = "required" if key.required else "—"
        if key.default is not None:
            default = f"`{json.dumps(key.default)}`"
        secret = " **Secret.**" if key.secret else ""
        lines.append(f"| `{key.name}` | {key.type} | {default} | {key.description}{secret} |")
    return "\n".join(lines) + "\n"


if __name__ == "__main__":
    print(table(), end="")
