"""Through the real registry (MLflow on SQLite): register, approve, promote, then `tunesmith
docs NAME/VERSION` and `tunesmith lineage --model` / `--source --row`."""

from __future__ import annotations

import json
import shutil
from collections.abc import Callable
from pathlib import Path

import pytest
from typer.testing import CliRunner

from tunesmith.cli import app
from tunesmith.config.workspace import Workspace
from tunesmith.store import audit
from tunesmith.store.files import sha256_file

from .conftest import BASE_SHA, RUN_ID, eval_report

runner = CliRunner()


@pytest.fixture(scope="session")
def empty_store(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """An MLflow SQLite store with its schema created once: migrating one takes seconds."""
    from mlflow import MlflowClient

    from tunesmith.store.tracking import tracking_uri

    state = tmp_path_factory.mktemp("store")
    MlflowClient(tracking_uri=tracking_uri(state)).search_experiments()
    return state / "mlflow.db"


@pytest.fixture
def registered(
    ws: Workspace,
    run_folder: Callable[..., Path],
    empty_store: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> Workspace:
    """The run registered as support-router/1, approved and champion."""
    from tunesmith.store.tracking import URI_ENV

    monkeypatch.delenv(URI_ENV, raising=False)
    monkeypatch.setenv(audit.ACTOR_ENV, "ci")
    shutil.copyfile(empty_store, ws.state_dir / "mlflow.db")
    run = run_folder()
    report = eval_report(ws, passed=True)
    (run / "eval" / "report.json").write_text(json.dumps(report))
    # the registry trusts only a report `tunesmith eval` put on the audit log
    digest = sha256_file(run / "eval" / "report.json")
    audit.append(audit.audit_path(ws.state_dir), "eval", RUN_ID, outputs={"report.json": digest})
    w = ["-w", str(ws.root)]
    for args in (
        ["register", RUN_ID],
        ["approve", "support-router/1", "--by", "ana", "--note", "checked the APAC slice"],
        ["promote", "support-router/1", "--alias", "champion"],
    ):
        result = runner.invoke(app, [*args, *w])
        assert result.exit_code == 0, result.output
    return ws


def test_docs_of_a_registered_version(registered: Workspace) -> None:
    ws = registered
    result = runner.invoke(app, ["docs", "support-router@champion", "-w", str(ws.root)])
    assert result.exit_code == 0, result.output
    out = ws.root / "docs" / "support-router" / "v1"
    card = (out / "MODEL_CARD.md").read_text()
    annex = (out / "ANNEX_IV.md").read_text()
    for text in (card, annex):
        assert "`support-router/1`" in text and "champion" in text
        assert "| ana (user:" in text and "checked the APAC slice | yes |" in text
        assert BASE_SHA in text and "Overall: **PASSED**" in text
    # every record agrees with the registry's copy of it
    assert "MISMATCH" not in annex and "| the eval report on disk is the one recorded" in annex
    assert "| register | `support-router/1` |" in annex
    assert "| approve | `support-router/1` |" in annex
    assert "| promote | `support-router/1` |" in annex
    assert "Audit log `.tunesmith/audit.jsonl`: verified" in annex
    assert audit.entries(audit.audit_path(ws.state_dir))[-1].subject == "support-router/1"


def test_unknown_version_is_one_line(registered: Workspace) -> None:
    result = runner.invoke(app, ["docs", "support-router/7", "-w", str(registered.root)])
    assert result.exit_code == 1
    assert "no version 7 of registered model 'support-router'" in result.output


def test_lineage_walks_a_model_back_and_a_row_forward(registered: Workspace) -> None:
    ws = registered
    manifest = json.loads((ws.datasets_dir / "support-tickets/v1/manifest.json").read_text())
    w = ["-w", str(ws.root)]
    result = runner.invoke(app, ["lineage", "--model", "support-router@champion", *w])
    assert result.exit_code == 0, result.output
    assert "support-router/1 (champion)" in result.output and RUN_ID in result.output
    assert BASE_SHA in result.output and "support-tickets/v1" in result.output
    assert manifest["sources"][0]["sha256"] in result.output
    for entry in manifest["files"].values():
        assert entry["sha256"] in result.output
    kept = json.loads(
        (ws.datasets_dir / "support-tickets/v1/train.jsonl").read_text().split("\n")[0]
    )
    args = ["lineage", "--source", kept["meta"]["source"], "--row", str(kept["meta"]["row"])]
    result = runner.invoke(app, [*args, *w])
    assert result.exit_code == 0, result.output
    assert f"runs trained on it: {RUN_ID}" in result.output
    assert "model versions trained on it: support-router/1" in result.output
    result = runner.invoke(app, ["lineage", "--model", "support-router/9", *w])
    assert result.exit_code == 1 and "no version 9" in result.output
