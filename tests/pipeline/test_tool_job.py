"""`tunesmith run --example support-tools` end to end on a tiny model."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import sqlalchemy as sa

from tunesmith.config.workspace import Workspace
from tunesmith.pipeline.tool_job import SERVED_REQUESTS, run_tool_job
from tunesmith.registry import resolve
from tunesmith.store.db import interactions, open_store


def test_the_tool_job_trains_evaluates_registers_and_serves_calls(
    bpe_model_dir: Path, tmp_path: Path
) -> None:
    overrides = {
        "base_model": {"name": "tiny-bpe", "path": str(bpe_model_dir)},
        "train": {
            "max_steps": 2,
            "eval_steps": 2,
            "save_steps": 2,
            "batch_size": 2,
            "grad_accum": 1,
        },
        "eval": {
            "max_new_tokens": 24,
            "max_episode_steps": 2,
            "gates": {"min": {"schema_valid_rate": 1.0}},
        },
    }
    said: list[str] = []
    rows = run_tool_job(
        tmp_path / "ws", said.append, lambda _d, _t: lambda _n: None, overrides, raw_rows=100
    )
    assert [r.stage for r in rows] == ["init", "curate", "train", "eval", "register", "serve"]
    by_stage = {r.stage: r for r in rows}
    assert "call accuracy base" in by_stage["eval"].did and "episodes" in by_stage["eval"].did
    assert "schema-valid 1.000" in by_stage["serve"].number  # the grammar holds served calls too
    ws = Workspace(tmp_path / "ws")
    assert resolve(ws, "support-tools@champion") is not None
    (run_dir,) = ws.runs_dir.iterdir()
    report = json.loads((run_dir / "eval" / "report.json").read_text())
    metrics = report["metrics"]
    for name in ("call_accuracy", "schema_valid_rate", "episode_success", "steps_per_task"):
        assert name in metrics
    assert metrics["schema_valid_rate"] == 1.0  # every call a random model starts is valid
    assert 1 <= metrics["steps_per_task"] <= 2
    test = (ws.root / "datasets/support-tools/v1/test.jsonl").read_text().splitlines()
    categories = {"simple", "multiple", "parallel", "irrelevance", "multi_step"}
    assert set(report["per_category"]) <= categories
    assert sum(int(c["rows"]) for c in report["per_category"].values()) == len(test)
    predictions = [
        json.loads(line) for line in (run_dir / "eval" / "predictions.jsonl").open(encoding="utf-8")
    ]
    assert len(predictions) == len(test) and {p["category"] for p in predictions} <= categories
    right = sum(p["correct"] for p in predictions)
    assert right / len(predictions) == pytest.approx(metrics["call_accuracy"])
    assert "## Per category (tool calls)" in (run_dir / "eval" / "report.md").read_text()
    assert [c["setting"] for c in report["compare"]] == [
        "base, tool-list prompt",
        "fine-tuned, production prompt",
    ]
    with open_store(ws.state_url()).connect() as conn:
        served = conn.execute(sa.select(sa.func.count()).select_from(interactions)).scalar()
    assert served == min(SERVED_REQUESTS, len(test))
