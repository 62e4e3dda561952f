"""The docs a newcomer follows work: every relative link lands, every offline command runs.

Pages: README.md and docs/*.md. Links: every relative target exists, and every `#anchor` is a
heading of its page (GitHub's slugs); every page is linked from the front page and the index.
Files: every repository path the docs name exists, and the tables of components, end-to-end
scenarios and workflows list every one there is. Commands: every line of a `bash` block that
starts with `./scripts/` or `.venv/bin/` is a documented command. The cheap offline ones (render,
diff, the config reference) run exactly as written, each in a scratch copy of this working tree
with its own git history, so the checkout's build/, diff.md and generated files are left alone.
The others (the test command, the end-to-end suite, the benchmarks, anything online) are too
slow or need credentials: their script must exist and be executable, and each flag the docs give
them must be one they handle (an end-to-end `-k` must select a scenario).
"""

from __future__ import annotations

import ast
import itertools
import os
import re
import shlex
import shutil
import subprocess
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import pytest

from offline.simulate import REPO, stack_names
from tests import assets
from tests.test_pinned_assets import closed_port

PAGES = [REPO / "README.md", *sorted((REPO / "docs").glob("*.md"))]
FRONT_PAGE_LIMIT = 10_000  # bytes: README.md is a front page; the rest belongs in docs/

# Run as written, unless a `<placeholder>` is in the line.
RUN = ("./scripts/render", "./scripts/diff", ".venv/bin/python -m offline.config_reference")

FENCE = re.compile(r"^\s*(```+|~~~+)\s*([\w+-]*)")
HEADING = re.compile(r"^(#{1,6})\s+(.+?)\s*#*\s*$")
LINK = re.compile(r"!?\[[^\]]*\]\(\s*<?([^)\s>]+)>?(?:\s+\"[^\"]*\")?\s*\)")
INLINE_CODE = re.compile(r"`+[^`]*`+")
SCHEME = re.compile(r"^[a-z][a-z0-9+.-]*:", re.IGNORECASE)


def name(page: Path) -> str:
    return str(page.relative_to(REPO))


@dataclass
class Block:
    lang: str
    lines: list[str]


def split(text: str) -> tuple[list[str], list[Block]]:
    """The prose lines (code blocks blanked) and the fenced code blocks of a Markdown page."""
    prose: list[str] = []
    blocks: list[Block] = []
    fence: str | None = None
    for line in text.splitlines():
        match = FENCE.match(line)
        closes = fence is not None and set(line.strip()) == {fence[0]}
        if fence is None and match:
            fence = match.group(1)
            blocks.append(Block(match.group(2).lower(), []))
            prose.append("")
        elif fence is not None and closes and len(line.strip()) >= len(fence):
            fence = None
            prose.append("")
        elif fence is not None:
            blocks[-1].lines.append(line)
            prose.append("")
        else:
            prose.append(line)
    return prose, blocks


def slug(heading: str) -> str:
    """GitHub's anchor for a heading: lower case, punctuation dropped, spaces to hyphens."""
    text = LINK.sub(lambda m: m.group(0)[1 : m.group(0).index("]")], heading)
    text = re.sub(r"[^\w\- ]", "", text.lower())
    return text.replace(" ", "-")


def anchors(page: Path) -> set[str]:
    prose, _ = split(page.read_text())
    seen: dict[str, int] = {}
    found = set()
    for line in prose:
        match = HEADING.match(line)
        if match:
            base = slug(match.group(2))
            count = seen.get(base, 0)
            seen[base] = count + 1
            found.add(base if count == 0 else f"{base}-{count}")
    return found


def links(page: Path) -> Iterator[str]:
    prose, _ = split(page.read_text())
    for line in prose:
        for match in LINK.finditer(INLINE_CODE.sub("``", line)):
            yield match.group(1)


def relative_links() -> list[tuple[str, str]]:
    return [
        (name(page), target) for page in PAGES for target in links(page) if not SCHEME.match(target)
    ]


@pytest.mark.parametrize(("page", "target"), relative_links())
def test_every_relative_link_lands_on_a_file_and_heading(page: str, target: str) -> None:
    path, _, anchor = target.partition("#")
    source = REPO / page
    destination = (source.parent / path).resolve() if path else source
    assert destination.exists(), f"{page}: {target}: no such file"
    if anchor:
        assert destination.suffix == ".md", f"{page}: {target}: an anchor into a non-Markdown file"
        assert anchor in anchors(destination), (
            f"{page}: {target}: no heading #{anchor} in {name(destination)}; "
            f"it has {sorted(anchors(destination))}"
        )


def test_every_docs_page_is_linked_from_the_front_page_and_the_index() -> None:
    def linked_from(page: Path) -> set[Path]:
        targets = (t.partition("#")[0] for t in links(page) if not SCHEME.match(t))
        return {(page.parent / t).resolve() for t in targets if t}

    docs = {page.resolve() for page in PAGES if page.parent == REPO / "docs"}
    index = REPO / "docs" / "README.md"
    assert docs - linked_from(REPO / "README.md") == set()
    assert docs - linked_from(index) - {index.resolve()} == set()


def test_the_front_page_is_short_and_starts_with_the_two_commands() -> None:
    readme = REPO / "README.md"
    size = len(readme.read_bytes())
    assert size < FRONT_PAGE_LIMIT, f"README.md is {size} bytes: move detail to docs/"
    prose, blocks = split(readme.read_text())
    first_section = next(line for line in prose if line.startswith("## "))
    assert first_section == "## The two commands"
    assert blocks[0].lang == "bash"
    assert [shlex.split(line, comments=True)[0] for line in blocks[0].lines] == [
        "./scripts/render",
        "./scripts/test",
    ]
    assert shlex.split(blocks[0].lines[0], comments=True) == ["./scripts/render", "dev"]


def test_the_front_page_diagrams_are_the_architecture_pages() -> None:
    _, front = split((REPO / "README.md").read_text())
    _, architecture = split((REPO / "docs" / "architecture.md").read_text())
    diagrams = [block.lines for block in front if block.lang == ""]
    assert len(diagrams) == 2
    assert diagrams == [block.lines for block in architecture if block.lang == ""]


REPO_PATH = re.compile(
    r"`((?:components|config|model|offline|tests|scripts|policy|ops|\.github|\.ci)/[\w./-]*)`"
)


@dataclass(frozen=True)
class FileTable:
    """A table whose first column lists the files of one folder, all of them."""

    page: str
    header: str  # the start of its header row
    folder: str
    pattern: str


FILE_TABLES = [
    FileTable("docs/architecture.md", "| config |", "config", "*.py"),
    FileTable("docs/architecture.md", "| model |", "model", "*.py"),
    FileTable("docs/architecture.md", "| module |", "components", "*.py"),
    FileTable("docs/e2e.md", "| scenario (file) |", "tests/e2e", "test_*.py"),
    FileTable("docs/delivery.md", "| workflow |", ".github/workflows", "*.yml"),
]


def table_files(table: FileTable) -> list[str]:
    prose, _ = split((REPO / table.page).read_text())
    start = next(i for i, line in enumerate(prose) if line.startswith(table.header)) + 2
    rows = itertools.takewhile(lambda line: line.startswith("|"), prose[start:])
    cells = [row.split("|")[1] for row in rows]
    return [f"{table.folder}/{f}" for cell in cells for f in re.findall(r"`([\w./-]+)`", cell)]


def test_every_repository_file_the_docs_name_exists() -> None:
    named = [
        (name(page), match.group(1))
        for page in PAGES
        for line in split(page.read_text())[0]
        for match in REPO_PATH.finditer(line)
    ]
    named += [(table.page, path) for table in FILE_TABLES for path in table_files(table)]
    missing = [f"{page}: {path}" for page, path in named if not (REPO / path).exists()]
    assert missing == [], f"the docs name files that do not exist: {missing}"


@pytest.mark.parametrize("table", FILE_TABLES, ids=[f"{t.page} {t.folder}" for t in FILE_TABLES])
def test_each_file_table_lists_every_file_of_its_folder(table: FileTable) -> None:
    """The components, the config, the model, the end-to-end scenarios and the workflows: a new
    one gets its row."""
    listed = {REPO / path for path in table_files(table)}
    covered = listed | {f for d in listed if d.is_dir() for f in d.rglob(table.pattern)}
    files = {f for f in (REPO / table.folder).rglob(table.pattern) if f.name != "__init__.py"}
    missing = sorted(str(f.relative_to(REPO)) for f in files - covered)
    assert missing == [], f"{table.page}: add a row for {missing}"


# --- documented commands --------------------------------------------------------------------


def commands(page: Path) -> Iterator[str]:
    _, blocks = split(page.read_text())
    for block in blocks:
        if block.lang not in ("bash", "sh", "shell"):
            continue
        text = "\n".join(line.strip() for line in block.lines).replace("\\\n", " ")
        for line in text.splitlines():
            if line.startswith(("./scripts/", ".venv/bin/")):
                yield line


def documented() -> dict[str, list[str]]:
    """Each documented command, as first written, and the pages that give it (one command even
    where two pages comment it differently)."""
    found: dict[str, list[str]] = {}
    first: dict[str, str] = {}
    for page in PAGES:
        for command in commands(page):
            written = first.setdefault(" ".join(shlex.split(command, comments=True)), command)
            found.setdefault(written, []).append(name(page))
    return found


def runnable(command: str) -> bool:
    words = shlex.split(command, comments=True)
    placeholder = any("<" in word for word in words)
    return any(words[: len(r.split())] == r.split() for r in RUN) and not placeholder


RUNNABLE = sorted(c for c in documented() if runnable(c))
CHECKED = sorted(c for c in documented() if not runnable(c))


def ids(commands: list[str]) -> list[str]:
    return [" ".join(shlex.split(command, comments=True)) for command in commands]


def test_the_docs_give_the_offline_commands() -> None:
    """Guards the extraction itself: a test that finds no command checks nothing."""
    first_words = {" ".join(shlex.split(c, comments=True)[:2]) for c in RUNNABLE}
    assert {"./scripts/render dev", "./scripts/diff dev"} <= first_words
    assert any(c.startswith(".venv/bin/python -m offline.config_reference") for c in RUNNABLE)
    assert "./scripts/test" in {shlex.split(c, comments=True)[0] for c in CHECKED}


def git(cwd: Path, *args: str) -> str:
    identity = {"GIT_AUTHOR_NAME": "docs", "GIT_AUTHOR_EMAIL": "docs@example.com"}
    identity |= {"GIT_COMMITTER_NAME": "docs", "GIT_COMMITTER_EMAIL": "docs@example.com"}
    return subprocess.run(
        ["git", *args],
        cwd=cwd,
        check=True,
        capture_output=True,
        text=True,
        env={**os.environ, **identity},
    ).stdout


def scratch_copy(into: Path) -> Path:
    """This working tree (uncommitted changes included) as the one commit of `main` and of
    `origin/main`, sharing this checkout's `.venv`."""
    listed = git(REPO, "ls-files", "--cached", "--others", "--exclude-standard", "-z")
    for file in filter(None, listed.split("\0")):
        if (REPO / file).is_file():
            (into / file).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(REPO / file, into / file)
    git(into, "init", "-q", "-b", "main")
    git(into, "add", "-A")
    git(into, "commit", "-q", "-m", "docs: scratch copy")
    git(into, "update-ref", "refs/remotes/origin/main", "HEAD")
    (into / ".git" / "info").mkdir(exist_ok=True)
    (into / ".git" / "info" / "exclude").write_text(".venv\n")  # a symlink: `.venv/` misses it
    (into / ".venv").symlink_to(REPO / ".venv")
    return into


@dataclass
class Ran:
    returncode: int
    output: str
    changed: str  # `git status` of tracked files afterwards


@pytest.fixture(scope="module")
def ran(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Ran]:
    """Every runnable command, each in its own scratch copy, two at a time, slowest first."""
    template = scratch_copy(tmp_path_factory.mktemp("docs") / "repo")

    def run(command: str) -> Ran:
        sandbox = tmp_path_factory.mktemp("command") / "repo"
        shutil.copytree(template, sandbox, symlinks=True)
        # Only the stacks the command names (dev if none) stay: what is under test here is the
        # command as written, not every stack's render (tests/test_render.py does that), and
        # the diff of every stack renders each one twice.
        named = set(shlex.split(command, comments=True)) | {"dev"}
        unnamed = [f"Pulumi.{s}.yaml" for s in stack_names() if s not in named]
        if unnamed:
            git(sandbox, "rm", "-q", *unnamed)
            git(sandbox, "commit", "-q", "-m", "docs: only the stacks the command names")
            git(sandbox, "update-ref", "refs/remotes/origin/main", "HEAD")
        result = subprocess.run(
            ["bash", "-c", command],
            cwd=sandbox,
            capture_output=True,
            text=True,
            timeout=180,
            check=False,
        )
        changed = git(sandbox, "status", "--porcelain", "--untracked-files=no")
        return Ran(result.returncode, result.stdout + result.stderr, changed)

    order = sorted(RUNNABLE, key=lambda c: not c.startswith("./scripts/diff"))
    with ThreadPoolExecutor(max_workers=2) as pool:
        return dict(zip(order, pool.map(run, order), strict=True))


@pytest.mark.parametrize("command", RUNNABLE, ids=ids(RUNNABLE))
def test_each_offline_command_runs_as_written(command: str, ran: dict[str, Ran]) -> None:
    result = ran[command]
    pages = ", ".join(documented()[command])
    assert result.returncode == 0, f"{pages}: `{command}` failed:\n{result.output[-3000:]}"
    assert "Traceback" not in result.output, result.output[-3000:]
    assert result.changed == "", f"`{command}` changed tracked files:\n{result.changed}"


def handled_flags(script: Path) -> str:
    """The script and the Python modules it runs: where any flag it takes is spelt out."""
    text = script.read_text()
    for module in re.findall(r"python -m ([\w.]+)", text):
        source = REPO / (module.replace(".", "/") + ".py")
        if source.is_file():
            text += source.read_text()
    return text


def _params_of(decorators: list[ast.expr], keyword: str) -> list[str] | None:
    """The literal values of `@pytest.fixture(params=[...])` (keyword "params") or of
    `@pytest.mark.parametrize("name", [...])` (keyword ""), if a decorator has them."""
    for decorator in decorators:
        if not isinstance(decorator, ast.Call):
            continue
        for argument in decorator.keywords:
            if keyword and argument.arg == keyword:
                return [str(v) for v in ast.literal_eval(argument.value)]
        name = ast.unparse(decorator.func)
        if not keyword and name.endswith("parametrize") and len(decorator.args) >= 2:
            return [str(v) for v in ast.literal_eval(decorator.args[1])]
    return None


def e2e_scenarios() -> list[set[str]]:
    """The end-to-end tests, each as the names `pytest -k` matches it by (the module, the
    test, and each stack it is parametrized with: the conftest's `env` fixture, or its own
    `parametrize`), read from the sources, not imported."""
    e2e = REPO / "tests" / "e2e"
    conftest = ast.parse((e2e / "conftest.py").read_text())
    (env_stacks,) = [
        _params_of(node.decorator_list, "params")
        for node in conftest.body
        if isinstance(node, ast.FunctionDef) and node.name == "env"
    ]
    assert env_stacks, "tests/e2e/conftest.py: the `env` fixture has no stack params"
    scenarios = []
    for path in sorted(e2e.glob("test_*.py")):
        for node in ast.parse(path.read_text()).body:
            if isinstance(node, ast.FunctionDef) and node.name.startswith("test"):
                takes_env = "env" in [argument.arg for argument in node.args.args]
                stacks = env_stacks if takes_env else _params_of(node.decorator_list, "") or []
                for stack in stacks or [""]:
                    test = f"{node.name}[{stack}]" if stack else node.name
                    scenarios.append({path.name, test, "e2e", "tests"})
    return scenarios


def selects(expression: str, keywords: set[str]) -> bool:
    """`pytest -k` semantics: and/or/not over case-insensitive substrings of the names."""
    names = [keyword.lower() for keyword in keywords]
    words = re.findall(r"\(|\)|[^\s()]+", expression)
    python = " ".join(
        w if w in ("and", "or", "not", "(", ")") else f"m({w.lower()!r})" for w in words
    )
    matcher = {"m": lambda word: any(word in keyword for keyword in names)}
    return bool(eval(python, {"__builtins__": {}}, matcher))


@pytest.mark.parametrize("command", CHECKED, ids=ids(CHECKED))
def test_each_slow_or_online_command_names_a_script_and_flags_that_exist(command: str) -> None:
    pages = ", ".join(documented()[command])
    words = shlex.split(command, comments=True)
    program = REPO / words[0]
    assert program.is_file() and os.access(program, os.X_OK), f"{pages}: no {words[0]}"
    if words[0] == ".venv/bin/python":
        module = words[words.index("-m") + 1]
        program = REPO / (module.replace(".", "/") + ".py")
        assert program.is_file(), f"{pages}: no module {module}"
        words = words[words.index("-m") + 1 :]
    if words[0] == "./scripts/e2e":
        arguments = words[1:]
        while arguments:
            flag = arguments.pop(0)
            assert flag == "-k" and arguments, f"{pages}: teach tests/test_docs.py e2e's {flag}"
            expression = arguments.pop(0)
            assert any(selects(expression, s) for s in e2e_scenarios()), (
                f"{pages}: `{command}` selects no end-to-end test"
            )
        return
    flags = [word.split("=")[0] for word in words[1:] if word.startswith("-")]
    handled = handled_flags(program) if program.suffix != ".py" else program.read_text()
    missing = [flag for flag in flags if f'"{flag}"' not in handled]
    assert missing == [], f"{pages}: `{command}`: {words[0]} does not take {missing}"


def test_the_e2e_selection_check_can_fail() -> None:
    scenarios = e2e_scenarios()
    assert any(selects("first_deploy and prod", s) for s in scenarios)
    assert not any(selects("first_deploy and staging", s) for s in scenarios)
    assert not any(selects("no_such_scenario", s) for s in scenarios)


# --- from a fresh clone -----------------------------------------------------------------------
# Every entry command starts from a fresh clone: tests/e2e/test_fresh_clone.py (it needs the
# end-to-end toolchain). Here, the one way they must stop.


@pytest.fixture(scope="module")
def lone_clone(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A fresh copy of this working tree with nothing beside it: no ../shared."""
    clone = scratch_copy(tmp_path_factory.mktemp("lone") / "repo")
    assert not (clone.parent / "shared").exists()
    return clone


@pytest.mark.parametrize("command", ["./scripts/test", "./scripts/e2e"])
def test_without_shared_or_network_the_test_commands_stop_at_once_saying_both_ways(
    command: str, lone_clone: Path, tmp_path: Path
) -> None:
    offline = {
        assets.CACHE_ENV: str(tmp_path / "cache"),
        assets.MIRROR_ENV: f"http://127.0.0.1:{closed_port()}",  # nothing listens
    }
    started = time.monotonic()
    result = subprocess.run(
        [command],
        cwd=lone_clone,
        env={**os.environ, **offline},
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    output = result.stdout + result.stderr
    assert result.returncode == 1, output[-3000:]
    assert time.monotonic() - started < 20, "it should stop before installing or checking"
    assert output.count("Two ways to get them:") == 1, output
    for named in (
        "Gateway API v1.4.1 CRDs: GatewayClass CRD, Gateway CRD, HTTPRoute CRD",
        "DigitalOcean's OpenAPI description: DigitalOcean-public.v2.bundled.yaml",
        "the end-to-end toolchain: Pulumi CLI 3.274.1",
        f"offline: put shared/ beside the repository ({lone_clone.parent / 'shared'})",
        "online: run this again with internet access",
    ):
        assert named in output, output
    assert "Traceback" not in output
    assert "bootstrap: installing" not in output and "== ruff" not in output
    assert not (tmp_path / "cache").exists() or not any((tmp_path / "cache").rglob("*.yaml"))
