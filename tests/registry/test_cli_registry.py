"""register, approve, promote, rollback and models list/show through the `tunesmith` CLI."""

from __future__ import annotations

import yaml
from typer.testing import CliRunner

from tunesmith.cli import app
from tunesmith.workspace import Workspace

from .conftest import MakeRun
from .fakes import NAME

runner = CliRunner()


def _run(ws: Workspace, *args: str) -> tuple[int, str]:
    result = runner.invoke(app, [*args, "-w", str(ws.root)])
    return result.exit_code, result.output


def test_the_registry_commands(ws: Workspace, make_run: MakeRun) -> None:
    raw = yaml.safe_load(ws.config_path.read_text())
    raw["registry"]["approvers"] = ["alice", "bob"]
    ws.config_path.write_text(yaml.safe_dump(raw))
    good, failing, unfinished = make_run(), make_run(accuracy=0.62), make_run(finished=False)

    code, out = _run(ws, "register", good)
    assert code == 0 and f"registered {NAME}/1" in out, out
    code, out = _run(ws, "register", good)
    assert code == 0 and f"already registered as {NAME}/1" in out, out
    code, out = _run(ws, "register", unfinished)
    assert code == 1 and "unfinished" in out and len(out.strip().splitlines()) == 1, out
    assert _run(ws, "register", failing)[0] == 0

    code, out = _run(ws, "promote", f"{NAME}/1", "--alias", "champion")
    assert code == 1 and "needs 1 distinct approval(s)" in out, out
    code, out = _run(ws, "promote", f"{NAME}/2", "--alias", "challenger")
    assert code == 1 and "gate 'min accuracy' failed: accuracy 0.620 < 0.700" in out, out
    code, out = _run(ws, "approve", f"{NAME}/1", "--by", "mallory")
    assert code == 1 and "'mallory' may not approve" in out, out
    code, out = _run(ws, "approve", f"{NAME}/1", "--by", "alice", "--note", "checked EU slice")
    assert code == 0 and "enough approvals for champion" in out, out
    code, out = _run(ws, "promote", f"{NAME}/1", "--alias", "champion", "--by", "carol")
    assert code == 0 and f"{NAME}/1 is now champion, by carol" in out, out

    code, out = _run(ws, "models", "list")
    assert code == 0 and NAME in out and "champion" in out, out
    code, out = _run(ws, "models", "show", f"{NAME}@champion")
    assert code == 0 and "checked EU slice" in out and "min accuracy" in out, out
    assert "can become champion: yes" in out, out
    code, out = _run(ws, "models", "show", f"{NAME}/2")
    assert code == 0 and "can become champion: no" in out, out
    code, out = _run(ws, "models", "show", NAME)
    assert code == 0 and "promotions" in out, out
    code, out = _run(ws, "models", "show", f"{NAME}/9")
    assert code == 1 and f"no version 9 of registered model '{NAME}'" in out, out

    code, out = _run(ws, "rollback", NAME)
    assert code == 1 and "no previous champion" in out, out
    code, out = _run(ws, "audit", "verify")
    assert code == 0 and "4 entries" in out, out
