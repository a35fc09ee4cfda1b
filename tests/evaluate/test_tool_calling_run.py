"""The support-tools example end to end on a tiny model: curate, train, eval with episodes."""

from __future__ import annotations

import json
from pathlib import Path

import yaml

from tunesmith.config.workspace import Workspace
from tunesmith.data.curate import curate
from tunesmith.evaluate.run import evaluate
from tunesmith.examples.scaffold import create_workspace
from tunesmith.models.tokenize import IGNORE
from tunesmith.train.run import train


def test_a_tool_caller_trains_and_is_scored_per_category_and_by_episode(
    tmp_path: Path, bpe_model_dir: Path
) -> None:
    root = create_workspace(tmp_path / "ws", "support-tools", rows=80)
    raw = yaml.safe_load((root / "tunesmith.yaml").read_text())
    raw["base_model"] = {"name": "tiny-bpe", "path": str(bpe_model_dir)}
    raw["train"] |= {"max_steps": 2, "batch_size": 2, "eval_steps": 2, "save_steps": 2}
    raw["eval"] |= {"max_new_tokens": 24, "max_episode_steps": 2}
    (root / "tunesmith.yaml").write_text(yaml.safe_dump(raw))
    (root / "raw" / "tool_episodes.jsonl").write_text(
        "".join((root / "raw" / "tool_episodes.jsonl").read_text().splitlines(True)[:4])
    )
    ws = Workspace(root)
    config = ws.load_config()
    data = curate(ws, config.data, workers=1)
    test = [json.loads(line) for line in (data.path / "test.jsonl").open()]
    assert test and all(r["tools"] and r["meta"]["category"] for r in test)

    run = train(ws, config)
    assert run.steps == 2
    report = evaluate(ws, config, run.run_id).report
    metrics = report["metrics"]
    for name in ("call_accuracy", "schema_valid_rate", "episode_success", "steps_per_task"):
        assert name in metrics
    # the grammar holds every call a random model starts to its tool's schema
    assert metrics["schema_valid_rate"] == 1.0
    assert 1 <= metrics["steps_per_task"] <= 2
    assert set(report["per_category"]) <= {
        "simple",
        "multiple",
        "parallel",
        "irrelevance",
        "multi_step",
    }
    assert sum(int(c["rows"]) for c in report["per_category"].values()) == len(test)
    assert (
        "## Per category (tool calls)"
        in (ws.runs_dir / run.run_id / "eval" / "report.md").read_text()
    )
    assert {g["metric"] for g in report["gates"]} >= {"call_accuracy", "schema_valid_rate"}


def test_tool_results_carry_no_loss(tmp_path: Path, bpe_model_dir: Path) -> None:
    from transformers import AutoTokenizer

    from tunesmith.examples.support_tools import generate_tool_records
    from tunesmith.models.tokenize import encode

    tokenizer = AutoTokenizer.from_pretrained(bpe_model_dir)
    record = next(r for r in generate_tool_records(40, 0) if r["category"] == "multi_step")
    encoded = encode(tokenizer, record["messages"], 4096, tools=record["tools"])
    assert encoded is not None
    learned = tokenizer.decode([t for t in encoded.labels if t != IGNORE])
    results = [m["content"] for m in record["messages"] if m["role"] == "tool"]
    assert results and all(r not in learned for r in results)
    assert "<tool_call>" in learned
