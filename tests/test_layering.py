"""The package layering of docs/architecture.md, kept: every import (lazy ones included) points
down the layers, no package cycle, no module over 400 lines."""

from __future__ import annotations

import ast
from collections import defaultdict
from pathlib import Path

import pytest

SRC = Path(__file__).resolve().parents[1] / "src" / "tunesmith"
# lower layers first; a package may import only packages of a lower layer (and the root)
LAYERS: list[set[str]] = [
    {"config", "plan", "examples"},
    {"store"},
    {"models"},
    {"data"},
    {"registry"},
    {"governance", "preference"},
    {"evaluate"},
    {"train"},
    {"review"},
    {"monitor"},
    {"serve"},
    {"loop"},
    {"pipeline"},
    {"cli"},
]
MAX_LINES = 400

Arrow = tuple[str, str]


def _package(module: str) -> str:
    parts = module.split(".")
    return parts[1] if len(parts) > 1 else ""


def import_arrows(src: Path) -> dict[Arrow, list[str]]:
    """(from package, to package) -> the files and lines behind it; "" is the root package."""
    arrows: dict[Arrow, list[str]] = defaultdict(list)
    for path in sorted(src.rglob("*.py")):
        rel = path.relative_to(src.parent).with_suffix("")
        parts = list(rel.parts)
        if parts[-1] == "__init__":
            parts = parts[:-1]
        module = ".".join(parts)
        here = _package(module)
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            targets: list[str] = []
            if isinstance(node, ast.Import):
                targets = [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom):
                if node.level:
                    base = module.split(".")
                    if path.name != "__init__.py":
                        base = base[:-1]
                    base = base[: len(base) - (node.level - 1)]
                    name = ".".join(base + ([node.module] if node.module else []))
                else:
                    name = node.module or ""
                targets = [name]
                if name == src.name:  # from tunesmith import config
                    targets = [f"{name}.{alias.name}" for alias in node.names]
            for target in targets:
                if target != src.name and not target.startswith(src.name + "."):
                    continue
                there = _package(target)
                is_package = (src / there).is_dir() or (src / f"{there}.py").is_file()
                if there in (here, "") or not is_package:  # `from tunesmith import __version__`
                    continue
                arrows[(here, there)].append(f"{path.relative_to(src.parent)}:{node.lineno}")
    return arrows


def cycles(arrows: dict[Arrow, list[str]]) -> list[list[str]]:
    """Strongly connected components of more than one package (Tarjan)."""
    graph: dict[str, set[str]] = defaultdict(set)
    for a, b in arrows:
        graph[a].add(b)
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    found: list[list[str]] = []

    def visit(v: str) -> None:
        index[v] = low[v] = len(index)
        stack.append(v)
        for w in graph[v]:
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            component = []
            while True:
                w = stack.pop()
                component.append(w)
                if w == v:
                    break
            if len(component) > 1:
                found.append(sorted(component))

    for v in list(graph):
        if v not in index:
            visit(v)
    return found


def forbidden(arrows: dict[Arrow, list[str]], layers: list[set[str]]) -> list[str]:
    rank = {pkg: i for i, layer in enumerate(layers) for pkg in layer}
    problems = []
    for (a, b), where in sorted(arrows.items()):
        if a not in rank or b not in rank:
            problems.append(f"{a} -> {b}: package not in the layering ({where[0]})")
        elif rank[b] >= rank[a]:
            problems.append(f"{a} -> {b} points up or across the layers ({', '.join(where)})")
    return problems


def test_no_package_cycle() -> None:
    assert cycles(import_arrows(SRC)) == []


def test_every_import_points_down_the_layers() -> None:
    assert forbidden(import_arrows(SRC), LAYERS) == []


def test_the_issue_rules_hold() -> None:
    arrows = import_arrows(SRC)
    out = defaultdict(set)
    for a, b in arrows:
        out[a].add(b)
    assert out["config"] == set()
    assert out["store"] <= {"config"}
    assert out["models"] <= {"config", "store"}
    assert out["data"] <= {"config", "store", "models"}
    assert not out["evaluate"] & {"train", "serve"}
    assert not out["serve"] & {"train", "monitor", "loop"}
    assert not {"serve", "preference", "monitor"} & {a for a, b in arrows if b == "evaluate"}
    assert {a for a, b in arrows if b in ("cli", "pipeline")} <= {"cli"}


def test_no_module_over_400_lines() -> None:
    long = {
        str(p.relative_to(SRC)): n
        for p in SRC.rglob("*.py")
        if (n := len(p.read_text(encoding="utf-8").splitlines())) > MAX_LINES
    }
    assert long == {}


def _write(root: Path, files: dict[str, str]) -> Path:
    for name, text in files.items():
        path = root / "tunesmith" / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
    return root / "tunesmith"


@pytest.mark.parametrize("lazy", [False, True])
def test_the_checker_sees_a_cycle_and_an_upward_arrow(tmp_path: Path, lazy: bool) -> None:
    inner = (
        "def f():\n    from tunesmith.b.y import g\n" if lazy else "from tunesmith.b.y import g\n"
    )
    src = _write(
        tmp_path,
        {
            "__init__.py": "",
            "a/__init__.py": "",
            "a/x.py": inner,
            "b/__init__.py": "",
            "b/y.py": "from ..a import x\n",
        },
    )
    arrows = import_arrows(src)
    assert set(arrows) == {("a", "b"), ("b", "a")}
    assert cycles(arrows) == [["a", "b"]]
    assert forbidden(arrows, [{"a"}, {"b"}]) == [
        f"a -> b points up or across the layers ({arrows[('a', 'b')][0]})"
    ]
