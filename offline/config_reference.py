"""Keeps the declared config in step with components/config_schema.py.

.venv/bin/python -m offline.config_reference          # print the README table
.venv/bin/python -m offline.config_reference --write  # rewrite Pulumi.yaml's config and
                                                      # the README table from the schema
"""

from __future__ import annotations

import json
import sys

from components.config_schema import KEYS
from offline.simulate import REPO

README_HEADING = "## Stack config reference"


def table() -> str:
    lines = ["| key | type | default | description |", "|---|---|---|---|"]
    for key in KEYS:
        default = "required" if key.required else "—"
        if key.default is not None:
            default = f"`{json.dumps(key.default)}`"
        secret = " **Secret.**" if key.secret else ""
        lines.append(f"| `{key.name}` | {key.type} | {default} | {key.description}{secret} |")
    return "\n".join(lines) + "\n"


def pulumi_yaml_config() -> str:
    lines = ["config:"]
    for key in KEYS:
        lines.append(f"  {key.name}:")
        lines.append(f"    type: {key.type}")
        if key.type == "array":
            lines += ["    items:", "      type: string"]
        if key.default is not None:
            lines.append(f"    default: {json.dumps(key.default)}")
        if key.declared_secret:
            lines.append("    secret: true")
        lines.append(f"    description: {json.dumps(key.description)}")
    return "\n".join(lines) + "\n"


def write() -> None:
    project = REPO / "Pulumi.yaml"
    text = project.read_text()
    project.write_text(text[: text.index("config:\n")] + pulumi_yaml_config())
    readme = REPO / "README.md"
    text = readme.read_text()
    start = text.index(README_HEADING)
    table_start = text.index("| key | type |", start)
    blank_line = text.find("\n\n", table_start)
    table_end = len(text) if blank_line == -1 else blank_line + 1
    readme.write_text(text[:table_start] + table() + text[table_end:])


if __name__ == "__main__":
    if "--write" in sys.argv:
        write()
    else:
        print(table(), end="")
