"""Each folder is one layer, and the layers stay apart: the model is plain Python (no `pulumi`,
nothing of the program), the program uses no private Pulumi API, and no module imports one
that imports it back."""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

from offline.simulate import REPO

PROGRAM = ("__main__.py", "components", "config", "model")  # what `pulumi up` runs
TOOLS = ("offline", "ops")


def sources(*names: str) -> list[Path]:
    found: list[Path] = []
    for name in names:
        path = REPO / name
        found += [path] if path.is_file() else sorted(path.rglob("*.py"))
    return found


def module_name(path: Path) -> str:
    parts = list(path.relative_to(REPO).with_suffix("").parts)
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


# -- the model ----------------------------------------------------------------------------------

ONLY_THE_MODEL = """
import importlib.abc, sys

class Refuse(importlib.abc.MetaPathFinder):
    def find_spec(self, name, path=None, target=None):
        if name.split(".")[0].startswith("pulumi") or name.split(".")[0] in {NOT_MODEL}:
            raise ImportError(f"the model imported {name}")
        return None

sys.meta_path.insert(0, Refuse())
for module in sys.argv[1:]:
    importlib.import_module(module)
print("imported", *sys.argv[1:])
"""


def import_alone(*modules: str, path: Path = REPO) -> subprocess.CompletedProcess[str]:
    """Import the modules (from `path`) in a fresh Python that refuses `pulumi*` and the
    program's other layers."""
    code = ONLY_THE_MODEL.replace(
        "{NOT_MODEL}", repr({"components", "config", "offline", "ops", "policy"})
    )
    return subprocess.run(
        [sys.executable, "-c", code, *modules],
        cwd=path,
        capture_output=True,
        text=True,
        check=False,
    )


def test_the_model_is_plain_python_without_pulumi_or_the_program(tmp_path: Path) -> None:
    modules = [module_name(p) for p in sources("model")]
    assert {"model.catalog", "model.capacity"} <= set(modules)
    result = import_alone(*modules)
    assert result.returncode == 0, result.stderr[-2000:]
    # the same fence stops a module that imports pulumi through another
    (tmp_path / "uses_pulumi.py").write_text("import pulumi_kubernetes\n")
    (tmp_path / "plain_looking.py").write_text("import uses_pulumi\n")
    refused = import_alone("plain_looking", path=tmp_path)
    assert refused.returncode != 0 and "imported pulumi_kubernetes" in refused.stderr


# -- private Pulumi API ------------------------------------------------------------------------


def private_pulumi_uses(source: str) -> list[str]:
    """`pulumi` names starting with `_` that the source imports or reads (dunders aside)."""

    def private(name: str) -> bool:
        return name.startswith("_") and not name.startswith("__")

    found: list[str] = []
    aliases: set[str] = set()
    tree = ast.parse(source)
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for alias in node.names:
                if alias.name.split(".")[0] == "pulumi":
                    aliases.add(alias.asname or "pulumi")
                    found += [alias.name] if any(map(private, alias.name.split("."))) else []
        elif isinstance(node, ast.ImportFrom) and (node.module or "").split(".")[0] == "pulumi":
            module = node.module or ""
            for alias in node.names:
                if any(map(private, [*module.split("."), alias.name])):
                    found.append(f"{module}.{alias.name}")
                aliases.add(alias.asname or alias.name)
    for node in ast.walk(tree):
        if isinstance(node, ast.Attribute) and private(node.attr):
            root: ast.expr = node
            while isinstance(root, ast.Attribute):
                root = root.value
            if isinstance(root, ast.Name) and root.id in aliases:
                found.append(ast.unparse(node))
    return found


def test_the_program_uses_no_private_pulumi_api() -> None:
    """Private names change without notice between SDK releases. The secret keys, for one, come
    from PULUMI_CONFIG_SECRET_KEYS, as the engine hands them over."""
    found = {
        str(path.relative_to(REPO)): uses
        for path in sources(*PROGRAM)
        if (uses := private_pulumi_uses(path.read_text()))
    }
    assert found == {}


def test_the_private_api_check_finds_what_the_program_once_used() -> None:
    earlier = (
        "import pulumi.runtime.config as runtime_config\n"
        "keys = set(runtime_config._SECRET_KEYS.get())\n"
        "from pulumi.runtime.sync_await import _sync_await\n"
    )
    assert private_pulumi_uses(earlier) == [
        "pulumi.runtime.sync_await._sync_await",
        "runtime_config._SECRET_KEYS",
    ]
    assert private_pulumi_uses("import pulumi\npulumi.runtime.get_config_env()\n") == []


# -- import circles ----------------------------------------------------------------------------


def imports_of(path: Path, known: set[str]) -> set[str]:
    """The modules of `known` that `path` imports, at the top or inside a function."""
    name = module_name(path)
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                parts = package.split(".")[: len(package.split(".")) - node.level + 1]
                base = ".".join([*parts, base] if base else parts)
            found.add(base)
            found.update(f"{base}.{alias.name}" for alias in node.names)
    return (found & known) - {name}


def circles(graph: dict[str, set[str]]) -> list[list[str]]:
    """The groups of modules that import each other, directly or through others (Tarjan)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    found: list[list[str]] = []

    def visit(module: str) -> None:
        index[module] = low[module] = len(index)
        stack.append(module)
        for other in sorted(graph[module]):
            if other not in index:
                visit(other)
                low[module] = min(low[module], low[other])
            elif other in stack:
                low[module] = min(low[module], index[other])
        if low[module] == index[module]:
            group = []
            while True:
                other = stack.pop()
                group.append(other)
                if other == module:
                    break
            if len(group) > 1:
                found.append(sorted(group))

    for module in sorted(graph):
        if module not in index:
            visit(module)
    return found


def test_no_module_imports_one_that_imports_it_back() -> None:
    paths = sources(*PROGRAM, *TOOLS)
    known = {module_name(p) for p in paths}
    graph = {module_name(p): imports_of(p, known) for p in paths}
    assert graph["offline.render"], "the import graph is empty: the test would check nothing"
    assert circles(graph) == []


def test_the_program_imports_no_offline_tool() -> None:
    """`pulumi up` loads what the program needs to deploy, refuse or warn: the config, the model
    and the components; the reports (capacity.md, cost, first deploy) stay with the tools."""
    paths = sources(*PROGRAM, *TOOLS)
    known = {module_name(p) for p in paths}
    graph = {module_name(p): imports_of(p, known) for p in paths}
    reached, todo = set(), ["__main__"]
    while todo:
        module = todo.pop()
        if module not in reached:
            reached.add(module)
            todo += graph[module]
    assert {"config.settings", "model.capacity", "components.app.edge"} <= reached
    assert sorted(m for m in reached if m.split(".")[0] in TOOLS) == []


def test_the_circle_check_finds_a_circle() -> None:
    graph = {"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}
    assert circles(graph) == [["a", "b", "c"]]
