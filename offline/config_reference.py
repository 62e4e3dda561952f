"""Keeps the declared config in step with config/schema.py.

.venv/bin/python -m offline.config_reference          # print the reference table
.venv/bin/python -m offline.config_reference --write  # rewrite Pulumi.yaml's config and
                                                      # docs/config-reference.md from the schema
"""

from __future__ import annotations

import json
import sys

from config.schema import KEYS
from offline.simulate import REPO

REFERENCE = REPO / "docs" / "config-reference.md"
COMMAND = ".venv/bin/python -m offline.config_reference --write"

# Above the table in docs/config-reference.md; the whole page is generated.
PAGE_HEAD = f"""\
<!-- Generated from config/schema.py by `{COMMAND}`. Do not edit. -->

# Stack config reference

Every key a stack file (`Pulumi.<stack>.yaml`) can set, with its type, default and meaning. Keys
are in the `posts-infra` namespace (`pulumi config set -s dev minNodes 2`); keys marked
**Secret.** are set with `pulumi config set --secret` (see [Secrets](operations.md#secrets)).
A key whose default is "required" has none: the Pulumi CLI refuses to run a stack without it.
Prices behind the size slugs: [`model/catalog.py`](../model/catalog.py).

The keys are declared with the same types, defaults and descriptions in `Pulumi.yaml`. This page
and that declaration are generated from `config/schema.py`; after changing it, run:

```bash
{COMMAND}
```

`tests/test_config_reference.py` fails while either is out of date.

"""


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


def page() -> str:
    """The whole of docs/config-reference.md."""
    return PAGE_HEAD + table()


def write() -> None:
    project = REPO / "Pulumi.yaml"
    text = project.read_text()
    project.write_text(text[: text.index("config:\n")] + pulumi_yaml_config())
    REFERENCE.write_text(page())


if __name__ == "__main__":
    if "--write" in sys.argv:
        write()
    else:
        print(table(), end="")
