"""The reward model: trained on pairs, human decisions held out, scores as it trained."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import yaml
from safetensors.torch import load_file

from tunesmith.config import load_config
from tunesmith.config.workspace import Workspace
from tunesmith.data.curate import curate
from tunesmith.evaluate.run import evaluate
from tunesmith.governance.lineage import runs_carrying
from tunesmith.models.reward import load_reward_model, pairwise_accuracy
from tunesmith.models.run_model import RunModelError, finished_run
from tunesmith.preference.pairs import PreferenceInputError
from tunesmith.store.audit import entries
from tunesmith.train.reward import reward_train

REWARD = {
    "lora_r": 4,
    "lora_alpha": 8,
    "learning_rate": 5e-3,
    "max_steps": 12,
    "batch_size": 4,
    "save_steps": 12,
    "max_length": 384,
    "warmup_ratio": 0.0,
    "val_share": 0.2,
}


@pytest.fixture(scope="module")
def reward_workspace(tmp_path_factory: pytest.TempPathFactory, tiny_model_dir: Path) -> Workspace:
    from tunesmith.examples.scaffold import create_workspace

    root = create_workspace(tmp_path_factory.mktemp("reward") / "ws", "support-tickets", rows=200)
    raw = yaml.safe_load((root / "tunesmith.yaml").read_text())
    raw["base_model"] = {"name": "tiny-llama", "path": str(tiny_model_dir)}
    raw["reward"] = REWARD
    (root / "tunesmith.yaml").write_text(yaml.safe_dump(raw))
    ws = Workspace(root)
    curate(ws, ws.load_config().data, workers=1)
    return ws


def pairs_file(ws: Workspace, path: Path, rows: slice, reviewer: str | None = None) -> Path:
    """chosen = the record's own answer, rejected = a rambling reply on another queue."""
    records = [json.loads(x) for x in (ws.datasets_dir / "support-tickets/v1/train.jsonl").open()]
    lines = []
    for record in records[rows]:
        prompt, answer = record["messages"][:-1], record["messages"][-1]["content"]
        rejected = "Queue: shipping\n\nHello,\n\nThank you. " + "We will look into it. " * 6
        meta = {"source": "review-choice", "reviewed_by": reviewer} if reviewer else {}
        chosen = [{"role": "assistant", "content": answer}]
        worse = [{"role": "assistant", "content": rejected}]
        lines.append({"prompt": prompt, "chosen": chosen, "rejected": worse, "meta": meta})
    lines.append({"prompt": lines[0]["prompt"], "chosen": []})  # refused, not lost
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("".join(json.dumps(p) + "\n" for p in lines))
    return path


def test_a_reward_model_learns_the_choices_and_keeps_human_decisions_back(
    reward_workspace: Workspace,
) -> None:
    ws = reward_workspace
    config = load_config(ws.config_path)
    ai = pairs_file(ws, ws.root / "pairs.jsonl", slice(0, 40))
    human = pairs_file(ws, ws.root / "feedback" / "preferences.jsonl", slice(40, 80), "alice")
    result = reward_train(ws, config, [ai], review_files=[human])
    run = result.path
    counts = result.counts
    assert counts["read"] == 82 and counts["quarantined"] == 2
    assert counts["held_out_for_judges"] > 0
    # every pair read is trained on, validated on, held out, too long or quarantined
    assert counts["read"] == (
        counts["train"] + counts["val"] + counts["held_out_for_judges"] + counts["too_long"] + 2
    )
    held = [json.loads(x) for x in (run / "pairs" / "held_out.jsonl").open()]
    trained = (run / "pairs" / "train.jsonl").read_text() + (
        run / "pairs" / "val.jsonl"
    ).read_text()
    assert held and all(json.dumps(p["prompt"])[:200] not in trained for p in held)
    lineage = json.loads((run / "lineage.json").read_text())
    assert lineage["preferences"]["reviewers"] == ["alice"]
    assert set(lineage["preferences"]["sources"]) == {"pairs.jsonl", "feedback/preferences.jsonl"}
    weights = load_file(run / "adapter" / "adapter_model.safetensors")
    assert any("score" in k for k in weights) and any("lora_A" in k for k in weights)
    summary = json.loads((run / "summary.json").read_text())
    assert summary["steps"] == 12 and summary["method"] == "reward"
    assert summary["train_accuracy"] >= 0.9  # the rambling wrong-queue answer scores below
    model = load_reward_model(run)
    assert pairwise_accuracy(model.margins(held)) >= 0.9
    # a reward model is never served or tuned on as a chat model, and lineage lookups skip it
    with pytest.raises(RunModelError, match="is a reward model"):
        finished_run(ws, result.run_id)
    assert runs_carrying(ws, {"support-tickets/v1"}) == {}
    # a padded batch scores each answer as it scores alone
    prompts = [held[0]["prompt"], held[1]["prompt"]]
    answers = [held[0]["chosen"][0]["content"], "Queue: billing"]
    together = model.score(prompts, answers)
    alone = [model.score([p], [a])[0] for p, a in zip(prompts, answers, strict=True)]
    assert together == pytest.approx(alone, abs=1e-4)
    (entry,) = [e for e in entries(ws.state_dir / "audit.jsonl") if e.action == "reward-train"]
    assert entry.subject == result.run_id and "preferences/pairs.jsonl" in entry.inputs

    # `tunesmith eval` of the run: the held-out human decisions, the rubric on the same ones
    report = evaluate(ws, config, result.run_id).report
    assert report["kind"] == "reward" and report["data"]["human_decisions"]
    judges = report["judges"]
    assert judges["reward model"]["pairs"] == judges["rubric"]["pairs"] == len(held)
    assert report["metrics"]["pairwise_accuracy"] == judges["reward model"]["agree"] >= 0.9
    assert sum(b["pairs"] for b in report["calibration"]) == len(held)
    assert "| rubric |" in (run / "eval" / "report.md").read_text()
    assert [e.details.get("kind") for e in entries(ws.state_dir / "audit.jsonl")][-1] == "reward"


def test_no_usable_pair_is_a_clear_error(reward_workspace: Workspace) -> None:
    ws = reward_workspace
    bad = ws.root / "bad.jsonl"
    bad.write_text('{"prompt": [\n')
    with pytest.raises(PreferenceInputError, match="no usable preference pairs"):
        reward_train(ws, load_config(ws.config_path), [bad])


def test_reward_train_and_eval_through_the_cli(reward_workspace: Workspace) -> None:
    from typer.testing import CliRunner

    from tunesmith.cli import app

    ws = reward_workspace
    pairs_file(ws, ws.root / "cli-pairs.jsonl", slice(0, 24))
    pairs_file(ws, ws.root / "feedback" / "preferences.jsonl", slice(24, 64), "bob")
    runner = CliRunner()
    args = ["reward", "train", "--pairs", "cli-pairs.jsonl", "--with-review", "-w", str(ws.root)]
    trained = runner.invoke(app, args)
    assert trained.exit_code == 0, trained.output
    run_id = trained.output.split("run ", 1)[1].split(":", 1)[0]
    assert "human pairs held out" in trained.output
    shown = runner.invoke(app, ["eval", "--model", run_id, "-w", str(ws.root)])
    assert shown.exit_code == 0, shown.output
    assert "reward model" in shown.output and "rubric" in shown.output
    assert "calibration" in shown.output
    empty = runner.invoke(app, ["reward", "train", "-w", str(ws.root)])
    assert empty.exit_code != 0 and "no preference data" in empty.output
