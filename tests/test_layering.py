"""The package layering of docs/architecture.md, kept: every import (lazy, relative and
`from tunesmith import pkg` ones included) is an arrow the ALLOWED table permits, no package
cycle, no module over 400 lines, and the doc's table is this table."""

from __future__ import annotations

import ast
import re
from collections import defaultdict
from itertools import pairwise
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
SRC = REPO / "src" / "tunesmith"
DOC = REPO / "docs" / "architecture.md"
MAX_LINES = 400

# package -> the packages it may import; rows run bottom to top, and a row names only packages
# of earlier rows, so the table is the layering (config < store < models < data < registry,
# knowledge, memory < governance, preference < evaluate < train < review < monitor < serve < loop <
# pipeline < cli).
# Every package may import the root `tunesmith` (its version, the offline environment).
_SHARED = frozenset({"config", "store", "models", "data"})
_STAGES = _SHARED | {"knowledge", "registry", "memory", "governance", "preference"}
ALLOWED: dict[str, frozenset[str]] = {
    "config": frozenset(),
    "plan": frozenset(),  # leaves: import nothing, only pipeline and cli import them
    "examples": frozenset(),
    "store": frozenset({"config"}),
    "models": frozenset({"config", "store"}),
    "data": frozenset({"config", "store", "models"}),
    "knowledge": _SHARED,
    "memory": frozenset({"config", "store"}),  # per-user memory: its own tables, no model code
    "registry": _SHARED,
    "governance": _SHARED | {"registry", "knowledge"},  # erasure reaches indexed chunks
    "preference": _SHARED | {"registry"},
    "evaluate": _STAGES,
    "train": _STAGES | {"evaluate"},
    "review": _STAGES | {"evaluate", "train"},
    "monitor": _STAGES | {"train", "review"},  # drift needs no evaluation code
    "serve": _STAGES | {"review"},  # the server runs models, never trains, evaluates or monitors
    "loop": _STAGES | {"evaluate", "train", "review", "monitor", "serve"},
    "pipeline": _STAGES
    | {"evaluate", "train", "review", "monitor", "serve", "loop", "plan", "examples"},
    "cli": _STAGES
    | {"evaluate", "train", "review", "monitor", "serve", "loop", "plan", "examples", "pipeline"},
}

Arrow = tuple[str, str]
Where = list[str]  # "src/tunesmith/a/x.py:3 (tunesmith.b.y)"


def _package(module: str) -> str:
    """tunesmith.serve.app -> serve; the root `tunesmith` -> ""."""
    parts = module.split(".")
    return parts[1] if len(parts) > 1 else ""


def _targets(node: ast.AST, module: str, is_init: bool, root: str) -> list[str]:
    """The absolute modules one import statement names (each name of `from root import a, b`)."""
    if isinstance(node, ast.Import):
        return [alias.name for alias in node.names]
    if not isinstance(node, ast.ImportFrom):
        return []
    if node.level:  # relative: from the module's package, one level up per extra dot
        base = module.split(".") if is_init else module.split(".")[:-1]
        base = base[: len(base) - (node.level - 1)]
        name = ".".join(base + ([node.module] if node.module else []))
    else:
        name = node.module or ""
    if name == root:
        return [f"{root}.{alias.name}" for alias in node.names]
    return [name]


def import_arrows(src: Path, shown_from: Path | None = None) -> dict[Arrow, Where]:
    """(from package, to package) -> every import behind it, as file:line (module), the file
    relative to `shown_from` (default: the folder holding the package)."""
    arrows: dict[Arrow, Where] = defaultdict(list)
    for path in sorted(src.rglob("*.py")):
        parts = list(path.relative_to(src.parent).with_suffix("").parts)
        if parts[-1] == "__init__":
            parts = parts[:-1]
        module = ".".join(parts)
        here = _package(module)
        tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
        for node in ast.walk(tree):  # walk, not body: imports inside functions count
            for target in _targets(node, module, path.name == "__init__.py", src.name):
                if target != src.name and not target.startswith(src.name + "."):
                    continue
                there = _package(target)
                # `from tunesmith import __version__` is the root, not a package
                if not ((src / there).is_dir() or (src / f"{there}.py").is_file()):
                    there = ""
                if there in (here, "") or here == "":
                    continue
                shown = path.relative_to(shown_from or src.parent)
                arrows[(here, there)].append(f"{shown}:{node.lineno} ({target})")
    return arrows


def cycles(arrows: dict[Arrow, Where]) -> list[list[str]]:
    """One cycle (first package repeated at the end) per strongly connected component of more
    than one package: Tarjan finds the components, a breadth-first search the shortest loop."""
    graph: dict[str, set[str]] = defaultdict(set)
    for a, b in arrows:
        graph[a].add(b)
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    components: list[set[str]] = []

    def visit(v: str) -> None:
        index[v] = low[v] = len(index)
        stack.append(v)
        for w in sorted(graph[v]):
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            component = set()
            while (w := stack.pop()) != v:
                component.add(w)
            component.add(v)
            if len(component) > 1:
                components.append(component)

    for v in sorted(graph):
        if v not in index:
            visit(v)
    found = []
    for component in components:
        start = min(component)
        paths = {start: [start]}
        queue = [start]
        while queue:
            v = queue.pop(0)
            if start in graph[v]:
                found.append([*paths[v], start])
                break
            for w in sorted(graph[v] & component):
                if w not in paths:
                    paths[w] = [*paths[v], w]
                    queue.append(w)
    return sorted(found)


def describe_cycle(cycle: list[str], arrows: dict[Arrow, Where]) -> str:
    steps = [f"{a} -> {b} at {arrows[(a, b)][0]}" for a, b in pairwise(cycle)]
    return "package cycle " + " -> ".join(cycle) + ":\n  " + "\n  ".join(steps)


def forbidden(arrows: dict[Arrow, Where], allowed: dict[str, frozenset[str]]) -> list[str]:
    """One line per import the table does not permit, naming the importing file and line."""
    problems = []
    for (a, b), where in sorted(arrows.items()):
        if a not in allowed:
            problems += [f"{w}: package {a!r} is not in the ALLOWED table" for w in where]
        elif b not in allowed[a]:
            problems += [f"{w}: {a} may not import {b}" for w in where]
    return problems


def doc_table(text: str) -> dict[str, frozenset[str]]:
    """The `| package | may import |` table of the doc's layering section."""
    section = text.split("\n## Layering", 1)[1].split("\n## ", 1)[0]
    table = {}
    for row in re.findall(r"^\| `(\w+)` \| (.*) \|$", section, flags=re.MULTILINE):
        table[row[0]] = frozenset(re.findall(r"`(\w+)`", row[1]))
    return table


def test_no_package_cycle() -> None:
    arrows = import_arrows(SRC, REPO)
    found = cycles(arrows)
    assert not found, "\n".join(describe_cycle(c, arrows) for c in found)


def test_every_import_is_an_allowed_arrow() -> None:
    problems = forbidden(import_arrows(SRC, REPO), ALLOWED)
    assert not problems, "\n".join(problems)


def test_every_package_is_in_the_table() -> None:
    packages = {p.stem for p in SRC.iterdir() if p.is_dir() and (p / "__init__.py").exists()}
    packages |= {p.stem for p in SRC.glob("*.py") if p.name != "__init__.py"}
    assert packages == set(ALLOWED)


def test_the_table_is_layered() -> None:
    """Each row names only packages of earlier rows: no cycle, no package beside itself."""
    seen: set[str] = set()
    for package, may in ALLOWED.items():
        assert may <= seen, f"{package} may import {sorted(may - seen)}, which sit above it"
        seen.add(package)


def test_the_table_keeps_the_issue_rules() -> None:
    importers = defaultdict(set)
    for package, may in ALLOWED.items():
        for other in may:
            importers[other].add(package)
    assert ALLOWED["config"] == set()
    assert ALLOWED["store"] == {"config"}
    assert ALLOWED["models"] == {"config", "store"}
    assert ALLOWED["data"] == {"config", "store", "models"}
    assert not ALLOWED["evaluate"] & {"train", "serve"}
    assert not ALLOWED["serve"] & {"train", "monitor", "loop", "evaluate"}
    assert not importers["evaluate"] & {"serve", "preference", "monitor"}
    assert importers["pipeline"] == {"cli"}
    assert importers["cli"] == set()


def test_the_doc_shows_this_table() -> None:
    assert doc_table(DOC.read_text(encoding="utf-8")) == ALLOWED


def test_no_module_over_400_lines() -> None:
    long = [
        f"{p.relative_to(SRC.parents[1])}: {n} lines"
        for p in sorted(SRC.rglob("*.py"))
        if (n := len(p.read_text(encoding="utf-8").splitlines())) > MAX_LINES
    ]
    assert not long, "\n".join(long)


def _write(root: Path, files: dict[str, str]) -> Path:
    for name, text in files.items():
        path = root / "tunesmith" / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
    return root / "tunesmith"


@pytest.mark.parametrize(
    "import_b",
    [
        "from tunesmith.b.y import g\n",
        "def f():\n    from tunesmith.b.y import g\n",  # lazy
        "import tunesmith.b.y\n",
        "from tunesmith import b\n",
        "from ..b import y\n",  # relative
    ],
)
def test_the_checker_sees_a_cycle_and_a_forbidden_arrow(tmp_path: Path, import_b: str) -> None:
    src = _write(
        tmp_path,
        {
            "__init__.py": "",
            "a/__init__.py": "from tunesmith import __version__\n",  # the root: no arrow
            "a/x.py": "from . import helper\n" + import_b,
            "a/helper.py": "",
            "b/__init__.py": "",
            "b/y.py": "from ..a import x\n",
        },
    )
    arrows = import_arrows(src)
    assert set(arrows) == {("a", "b"), ("b", "a")}
    found = cycles(arrows)
    assert found == [["a", "b", "a"]]
    assert "tunesmith/a/x.py:" in describe_cycle(found[0], arrows)
    line = 3 if import_b.startswith("def") else 2
    assert forbidden(arrows, {"b": frozenset(), "a": frozenset({"b"})}) == [
        "tunesmith/b/y.py:1 (tunesmith.a): b may not import a"
    ]
    assert forbidden(arrows, {"a": frozenset(), "b": frozenset({"a"})})[0].startswith(
        f"tunesmith/a/x.py:{line} (tunesmith.b"
    )
