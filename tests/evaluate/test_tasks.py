"""`evaluate()` end to end for the generation and extraction task types on a tiny tuned model."""

from __future__ import annotations

import json
import math
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tunesmith.config import ConfigError
from tunesmith.config.workspace import Workspace
from tunesmith.evaluate.run import evaluate
from tunesmith.store import audit
from tunesmith.store.files import sha256_file

from .conftest import set_config

SCHEMA: dict[str, Any] = {
    "type": "object",
    "properties": {"queue": {"type": "string"}, "priority": {"type": "string"}},
    "required": ["queue", "priority"],
}
SLICES = ["region", "customer_tier"]


@pytest.fixture
def workspace(trained: tuple[Path, str]) -> Iterator[tuple[Path, str]]:
    """The trained workspace; its tunesmith.yaml is put back after each test."""
    root, run_id = trained
    original = (root / "tunesmith.yaml").read_text()
    try:
        yield root, run_id
    finally:
        (root / "tunesmith.yaml").write_text(original)


def _in_unit_interval(value: object) -> bool:
    return isinstance(value, float) and 0.0 <= value <= 1.0


def test_generation_task_scores_chrf_rouge_and_perplexity(
    workspace: tuple[Path, str],
) -> None:
    root, run_id = workspace
    set_config(
        root,
        task={"type": "generation"},
        eval={
            "max_new_tokens": 8,
            "slices": SLICES,
            "min_slice_rows": 5,
            "gates": {"min": {"chrf": 0.0}, "max": {"val_perplexity": 1e9}},
        },
    )
    ws = Workspace(root)
    result = evaluate(ws, ws.load_config(), run_id)
    report = json.loads((result.out_dir / "report.json").read_text())
    assert result.out_dir == root / "runs" / run_id / "eval"
    assert report["main_metric"] == "chrf" and report["method"] == "generation"
    assert report["task"]["type"] == "generation"
    metrics = report["metrics"]
    assert {"chrf", "rouge_l", "exact_match", "val_perplexity"} <= set(metrics)
    assert 0.0 <= metrics["chrf"] <= 100.0
    assert _in_unit_interval(metrics["rouge_l"]) and _in_unit_interval(metrics["exact_match"])
    assert metrics["val_perplexity"] > 1 and math.isfinite(metrics["val_perplexity"])
    assert "accuracy" not in metrics and report["per_class"] is None
    assert not (result.out_dir / "confusion.png").exists()
    test_rows = (root / "datasets/support-tickets/v1/test.jsonl").read_text().splitlines()
    for field in SLICES:
        values = report["slices"][field]["values"]
        assert sum(v["rows"] for v in values.values()) == len(test_rows)
        assert all("chrf" in v["metrics"] for v in values.values())
    gates = {g["gate"]: g for g in report["gates"]}
    assert gates["min chrf"]["passed"] is True and gates["max val_perplexity"]["passed"] is True
    assert report["passed"] is True
    # a classification metric on a generation task is refused when the config loads
    original = (root / "tunesmith.yaml").read_text()
    set_config(root, eval={"gates": {"min": {"accuracy": 0.5}}})
    with pytest.raises(
        ConfigError, match=r"\['accuracy'\] not reported for task.type 'generation'"
    ):
        ws.load_config()
    (root / "tunesmith.yaml").write_text(original)
    assert report["champion"] is None
    md = (result.out_dir / "report.md").read_text()
    assert "| chrf |" in md and "| rouge_l |" in md


def _extraction_rows(root: Path) -> list[dict[str, Any]]:
    """Test rows of the dataset with the answer replaced by a JSON object of their meta."""
    rows = []
    lines = (root / "datasets/support-tickets/v1/test.jsonl").read_text().splitlines()
    for line in lines[:6]:
        record = json.loads(line)
        meta = record["meta"]
        answer = json.dumps({"queue": meta["queue"], "priority": meta["priority"]})
        messages = [m for m in record["messages"] if m["role"] != "assistant"]
        rows.append(
            {"messages": [*messages, {"role": "assistant", "content": answer}], "meta": meta}
        )
    return rows


def test_extraction_task_on_a_data_file(workspace: tuple[Path, str], tmp_path: Path) -> None:
    root, run_id = workspace
    set_config(
        root,
        task={"type": "extraction", "json_schema": SCHEMA},
        eval={
            "max_new_tokens": 8,
            "slices": SLICES,
            "min_slice_rows": 2,
            "gates": {"min": {"field_f1": 0.0}},
        },
    )
    data = tmp_path / "routing-json.jsonl"
    rows = _extraction_rows(root)
    data.write_text("".join(json.dumps(r) + "\n" for r in rows))
    ws = Workspace(root)
    result = evaluate(ws, ws.load_config(), run_id, data_file=data)
    digest = sha256_file(data)[:8]
    assert result.out_dir == root / "runs" / run_id / f"eval-routing-json-{digest}"
    report = json.loads((result.out_dir / "report.json").read_text())
    assert report["main_metric"] == "field_f1"
    assert report["data"]["split"] == "file" and report["data"]["rows"] == len(rows)
    assert report["data"]["dataset"] is None and report["data"]["file"] == str(data)
    metrics = report["metrics"]
    assert _in_unit_interval(metrics["parse_rate"])
    assert _in_unit_interval(metrics["schema_valid_rate"])
    assert metrics["schema_valid_rate"] <= metrics["parse_rate"]
    for field in ("queue", "priority"):
        assert _in_unit_interval(metrics[f"exact.{field}"])
        assert _in_unit_interval(metrics[f"f1.{field}"])
    assert _in_unit_interval(metrics["field_f1"]) and _in_unit_interval(metrics["field_exact"])
    (gate,) = report["gates"]
    assert gate["gate"] == "min field_f1" and gate["passed"] is True and report["passed"] is True
    assert sum(v["rows"] for v in report["slices"]["region"]["values"].values()) == len(rows)
    assert (result.out_dir / "report.md").is_file()
    evals = [e for e in audit.entries(audit.audit_path(ws.state_dir)) if e.action == "eval"]
    assert evals[-1].subject == run_id
    assert evals[-1].inputs[data.name] == report["data"]["sha256"]
    assert evals[-1].details["field_f1"] == metrics["field_f1"]


def test_a_base_model_data_file_report_keeps_the_split_report(
    workspace: tuple[Path, str], tmp_path: Path
) -> None:
    root, _ = workspace
    ws = Workspace(root)
    lines = (root / "datasets/support-tickets/v1/test.jsonl").read_text().splitlines()
    data = tmp_path / "few.jsonl"
    data.write_text("\n".join(lines[:3]) + "\n")
    result = evaluate(ws, ws.load_config(), "base", data_file=data)
    assert result.report["data"]["split"] == "file"
    split_report = evaluate(ws, ws.load_config(), "base").out_dir
    assert result.out_dir != split_report and (result.out_dir / "report.json").is_file()
