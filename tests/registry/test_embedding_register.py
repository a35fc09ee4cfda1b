"""A tuned embedding run is registered like any run: its model folder and retrieval eval in
the record, the tuned-beats-stock gate judged by promotion, an altered model refused."""

from __future__ import annotations

import json

import pytest
import yaml
from typer.testing import CliRunner

from tunesmith.cli import app
from tunesmith.config.workspace import Workspace
from tunesmith.registry import RegistryError, register, resolve
from tunesmith.store import audit

from ..train.test_embedding import embedding_ws  # noqa: F401  (the fixture)

runner = CliRunner()


def _cli(ws: Workspace, *args: str) -> tuple[int, str]:
    result = runner.invoke(app, [*args, "-w", str(ws.root)])
    return result.exit_code, result.output


def _train(ws: Workspace, **settings: object) -> str:
    raw = yaml.safe_load(ws.config_path.read_text())
    raw["train"]["embedding"].update(settings)
    raw["registry"] = {"required_approvals": 0}
    ws.config_path.write_text(yaml.safe_dump(raw))
    before = set(ws.runs_dir.iterdir()) if ws.runs_dir.is_dir() else set()
    code, out = _cli(ws, "train")
    assert code == 0, out
    (run,) = set(ws.runs_dir.iterdir()) - before
    return run.name


@pytest.fixture(autouse=True)
def _actor(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(audit.ACTOR_ENV, "ci")


def test_a_tuned_embedding_is_registered_and_promoted_when_it_beats_stock(
    embedding_ws: Workspace,  # noqa: F811
) -> None:
    ws = embedding_ws
    run = _train(ws, max_steps=30, hard_negatives=0)
    code, out = _cli(ws, "eval", "--model", run)
    assert code == 0 and "gate 'beats the stock model' passed" in out, out
    code, out = _cli(ws, "register", run)
    assert code == 0 and "registered kb-embedding/1" in out and "passed: true" in out, out
    mv = resolve(ws, "kb-embedding/1")
    assert mv.record["kind"] == "embedding" and mv.run_id == run
    report = json.loads((ws.runs_dir / run / "eval" / "report.json").read_text())
    assert mv.record["eval"]["metrics"]["ndcg@10"] == report["metrics"]["ndcg@10"]
    assert any(name.endswith(".safetensors") for name in mv.record["model"]["files"])
    assert mv.tags["train.method"] == "embedding"
    assert mv.source.endswith("/model")
    code, out = _cli(ws, "promote", "kb-embedding/1", "--alias", "champion")
    assert code == 0, out
    assert "champion" in resolve(ws, "kb-embedding@champion").aliases
    code, out = _cli(ws, "models", "show", "kb-embedding/1")
    assert code == 0 and "model/model.safetensors" in out, out


def test_an_embedding_no_better_than_stock_fails_its_gate_and_is_not_promoted(
    embedding_ws: Workspace,  # noqa: F811
) -> None:
    ws = embedding_ws
    run = _train(ws, max_steps=2, learning_rate=1e-12, hard_negatives=0)
    code, out = _cli(ws, "eval", "--model", run)
    assert code == 1 and "gate 'beats the stock model' failed" in out, out
    assert _cli(ws, "register", run)[0] == 0
    code, out = _cli(ws, "promote", "kb-embedding/1", "--alias", "champion")
    assert code == 1 and "did not pass its eval gates" in out, out


def test_an_altered_embedding_model_is_refused(embedding_ws: Workspace) -> None:  # noqa: F811
    ws = embedding_ws
    run = _train(ws, max_steps=2)
    (ws.runs_dir / run / "model" / "model.safetensors").write_bytes(b"not the trained model")
    with pytest.raises(RegistryError, match="altered model"):
        register(ws, run, "kb-embedding")
