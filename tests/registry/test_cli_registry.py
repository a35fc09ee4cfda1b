"""register, approve, promote, rollback and models list/show through the `tunesmith` CLI."""

from __future__ import annotations

import json
import os

import pytest
import yaml
from mlflow.exceptions import MlflowException
from typer.testing import CliRunner

from tunesmith.cli import app
from tunesmith.config.workspace import Workspace
from tunesmith.registry import client as store
from tunesmith.store.actor import KEY_ENV, os_login

from .conftest import MakeRun
from .fakes import NAME, write_report

runner = CliRunner()
ME = f"user:{os_login()}"


def _run(ws: Workspace, *args: str) -> tuple[int, str]:
    result = runner.invoke(app, [*args, "-w", str(ws.root)])
    return result.exit_code, result.output


def test_the_registry_commands(
    ws: Workspace, make_run: MakeRun, monkeypatch: pytest.MonkeyPatch
) -> None:
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
    # the OS user running this is not listed, whatever name it types
    for name in ("mallory", "alice"):
        code, out = _run(ws, "approve", f"{NAME}/1", "--by", name)
        assert code == 1 and f"{ME} may not approve" in out, out
    code, out = _run(
        ws, "keys", "create", "--name", "alice", "--models", NAME, "--role", "approver"
    )
    assert code == 0, out
    monkeypatch.setenv(KEY_ENV, out.strip().splitlines()[-1])  # the key alice authenticates with
    code, out = _run(ws, "approve", f"{NAME}/1", "--note", "checked EU slice")
    assert code == 0 and "approved by alice (as key:alice)" in out, out
    assert "enough approvals for champion" in out, out
    code, out = _run(ws, "approve", f"{NAME}/1", "--by", "bob")
    assert code == 1 and "already approved by key:alice" in out, out
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
    # three evals (written by the fake eval), two registrations, a key, an approval, a promotion
    assert code == 0 and "8 entries" in out, out


def _one_line_error(code: int, out: str, exception: BaseException | None) -> str:
    # an exception escaping the command (not typer's exit) is what main() calls internal
    assert isinstance(exception, SystemExit) and code == 1, (code, out, exception)
    (line,) = out.strip().splitlines()
    assert line.startswith("error: "), line
    return line


def test_mlflow_failures_are_one_line_errors(
    ws: Workspace, make_run: MakeRun, monkeypatch: pytest.MonkeyPatch
) -> None:
    run_id = make_run()
    assert _run(ws, "register", run_id)[0] == 0
    seen: list[str | None] = []

    def unreachable(**_: str) -> None:
        seen.append(os.environ.get("MLFLOW_HTTP_REQUEST_MAX_RETRIES"))
        # a proxy in front of the server answers with a page of HTML
        raise MlflowException("API request to http://mlflow:5000 failed:\n<html>\n502</html>")

    monkeypatch.delenv("MLFLOW_HTTP_REQUEST_MAX_RETRIES", raising=False)
    monkeypatch.setattr(store, "MlflowClient", unreachable)
    commands = [
        ("register", run_id),
        ("approve", f"{NAME}/1", "--by", "alice"),
        ("promote", f"{NAME}/1", "--alias", "champion"),
        ("rollback", NAME),
        ("models", "list"),
        ("models", "show", NAME),
        ("models", "show", f"{NAME}/1"),
    ]
    for args in commands:
        result = runner.invoke(app, [*args, "-w", str(ws.root)])
        line = _one_line_error(result.exit_code, result.output, result.exception)
        assert "API request to http://mlflow:5000 failed: <html> 502</html>" in line, args
    # retries are cut to seconds while a command runs, and the setting is put back after
    assert seen and set(seen) == {"2"}
    assert "MLFLOW_HTTP_REQUEST_MAX_RETRIES" not in os.environ


def test_a_retry_setting_in_the_environment_wins(monkeypatch: pytest.MonkeyPatch) -> None:
    from tunesmith.store.tracking import quick_http_failures

    monkeypatch.setenv("MLFLOW_HTTP_REQUEST_MAX_RETRIES", "5")
    monkeypatch.delenv("MLFLOW_HTTP_REQUEST_TIMEOUT", raising=False)
    with quick_http_failures():
        assert os.environ["MLFLOW_HTTP_REQUEST_MAX_RETRIES"] == "5"
        assert os.environ["MLFLOW_HTTP_REQUEST_TIMEOUT"] == "30"
    assert os.environ["MLFLOW_HTTP_REQUEST_MAX_RETRIES"] == "5"
    assert "MLFLOW_HTTP_REQUEST_TIMEOUT" not in os.environ


def test_a_hand_edited_report_is_one_line_at_register(ws: Workspace, make_run: MakeRun) -> None:
    run_id = make_run(accuracy=0.62)
    path = ws.runs_dir / run_id / "eval" / "report.json"
    report = json.loads(path.read_text())
    report["passed"] = True
    path.write_text(json.dumps(report, indent=2))
    result = runner.invoke(app, ["register", run_id, "-w", str(ws.root)])
    line = _one_line_error(result.exit_code, result.output, result.exception)
    assert "not the report `tunesmith eval` wrote" in line and "re-run tunesmith eval" in line


def test_register_warns_when_the_champion_takes_a_failing_eval(
    ws: Workspace, make_run: MakeRun
) -> None:
    run_id = make_run()
    for args in (
        ("register", run_id),
        ("approve", f"{NAME}/1", "--by", "alice"),
        ("promote", f"{NAME}/1", "--alias", "champion"),
    ):
        assert _run(ws, *args)[0] == 0
    write_report(ws, run_id, 0.5)
    code, out = _run(ws, "register", run_id)
    assert code == 0 and "its new eval report is attached (passed: false)" in out, out
    assert f"warning: {NAME}/1 is still champion" in out, out
