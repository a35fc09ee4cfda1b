from __future__ import annotations

import json
from pathlib import Path

import pytest
import torch
import yaml
from safetensors.torch import load_file

from tunesmith.config import load_config
from tunesmith.config.workspace import Workspace
from tunesmith.data.curate import curate
from tunesmith.governance.documents import render_documents
from tunesmith.governance.evidence import read_records
from tunesmith.models.run_model import merged_model
from tunesmith.preference.pairs import PreferenceInputError
from tunesmith.store.audit import entries
from tunesmith.train.align import align
from tunesmith.train.run import train

SFT = {
    "lora_r": 4,
    "lora_alpha": 8,
    "learning_rate": 5e-3,
    "max_steps": 6,
    "batch_size": 4,
    "eval_steps": 6,
    "save_steps": 6,
    "max_length": 384,
    "warmup_ratio": 0.0,
    "early_stopping_patience": None,
}
ALIGN = {"learning_rate": 5e-3, "max_steps": 6, "batch_size": 4, "beta": 0.1, "val_share": 0.2}


@pytest.fixture(scope="module")
def sft_workspace(tmp_path_factory: pytest.TempPathFactory, tiny_model_dir: Path) -> tuple:
    """A curated example workspace on the tiny model with one finished SFT run."""
    from tunesmith.examples.scaffold import create_workspace

    root = create_workspace(tmp_path_factory.mktemp("align") / "ws", "support-tickets", rows=200)
    raw = yaml.safe_load((root / "tunesmith.yaml").read_text())
    raw["base_model"] = {"name": "tiny-llama", "path": str(tiny_model_dir)}
    raw["train"] = SFT
    raw["align"] = ALIGN
    (root / "tunesmith.yaml").write_text(yaml.safe_dump(raw))
    ws = Workspace(root)
    curate(ws, ws.load_config().data, workers=1)
    return ws, train(ws, load_config(ws.config_path)).run_id


def write_pairs(ws: Workspace, n: int = 24) -> Path:
    """Pairs from train records: chosen = the reference answer, rejected = a wrong queue with a
    long reply; then four malformed lines."""
    records = [json.loads(x) for x in (ws.datasets_dir / "support-tickets/v1/train.jsonl").open()]
    lines = []
    for record in records[:n]:
        prompt, answer = record["messages"][:-1], record["messages"][-1]["content"]
        wrong = "Queue: shipping" if "billing" not in answer.split("\n")[0] else "Queue: returns"
        rejected = wrong + "\n\nHello,\n\nThank you. " + "We will look into it. " * 4
        lines.append({"prompt": prompt, "chosen": [{"role": "assistant", "content": answer}],
                      "rejected": [{"role": "assistant", "content": rejected}],
                      "meta": {"source": "test"}})  # fmt: skip
    # a reviewer's correction may carry what a served answer never had: a name and an e-mail
    lines[0]["chosen"][0]["content"] += "\n\nWrite to Ana Lopez at ana.lopez@example.com."
    prompt = lines[0]["prompt"]
    same = [{"role": "assistant", "content": "Queue: billing"}]
    bad = [
        json.dumps({"prompt": prompt, "rejected": same}),
        json.dumps({"prompt": prompt, "chosen": same, "rejected": same}),
        json.dumps(
            {"prompt": prompt, "chosen": [{"role": "user", "content": "x"}], "rejected": same}
        ),
        '{"prompt": [',
    ]
    path = ws.root / "pairs.jsonl"
    path.write_text("\n".join([json.dumps(p) for p in lines] + bad) + "\n")
    return path


def test_dpo_moves_the_adapter_raises_the_margin_and_quarantines_bad_records(
    sft_workspace: tuple,
) -> None:
    ws, sft_run = sft_workspace
    pairs = write_pairs(ws)
    result = align(ws, load_config(ws.config_path), sft_run, [pairs])
    run = result.path
    sft_weights = load_file(ws.runs_dir / sft_run / "adapter" / "adapter_model.safetensors")
    aligned = load_file(run / "adapter" / "adapter_model.safetensors")
    assert aligned.keys() == sft_weights.keys()
    moved = [k for k in aligned if not torch.equal(aligned[k], sft_weights[k])]
    assert len(moved) > len(aligned) // 2
    # the chosen answers became more likely than the rejected ones, as DPO should make them
    assert result.margins_after["mean_margin"] > result.margins_before["mean_margin"] + 1.0
    assert result.margins_after["chosen_preferred"] >= result.margins_before["chosen_preferred"]
    counts = result.counts
    assert counts == {
        "read": 28, "kept": 24, "quarantined": 4, "held_out_for_judges": 0,
        "train": counts["train"], "val": 24 - counts["train"],
    }  # fmt: skip
    assert counts["val"] > 0
    quarantine = [json.loads(x) for x in (run / "pairs" / "quarantine.jsonl").open()]
    reasons = [q["reason"] for q in quarantine]
    assert [q["line"] for q in quarantine] == [25, 26, 27, 28]
    assert reasons[0] == "missing 'chosen'"
    assert reasons[1] == "chosen and rejected are identical"
    assert "role 'user'" in reasons[2] and quarantine[2]["field"] == "chosen[0].role"
    assert reasons[3].startswith("bad JSON")
    assert all(len(q["sha256"]) == 64 and "record" not in q for q in quarantine)
    trained = (run / "pairs" / "train.jsonl").read_text() + (
        run / "pairs" / "val.jsonl"
    ).read_text()
    assert '"role":"user","content":"x"' not in trained
    assert "ana.lopez@example.com" not in trained and "Ana Lopez" not in trained
    assert "<EMAIL_ADDRESS_1>" in trained
    lineage = json.loads((run / "lineage.json").read_text())
    assert lineage["init_adapter"]["run_id"] == sft_run
    assert lineage["preferences"]["sources"]["pairs.jsonl"]["lines"] == 28
    assert lineage["dataset"]["version"] == "v1"
    assert lineage["preferences"]["pii_masked"]["EMAIL_ADDRESS"] >= 1
    summary = json.loads((run / "summary.json").read_text())
    assert summary["steps"] == 6 and summary["method"] == "dpo"
    entry = [e for e in entries(ws.state_dir / "audit.jsonl") if e.action == "align"][-1]
    assert entry.subject == result.run_id
    merged, _, _ = merged_model(ws, result.run_id)  # eval, register and serve load it like this
    assert merged is not None
    card = render_documents(read_records(ws, result.run_id))["MODEL_CARD.md"]
    digest = lineage["preferences"]["sources"]["pairs.jsonl"]["sha256"]
    assert "#### Preference tuning" in card and digest in card
    assert f"adapter sha256 `{lineage['init_adapter']['sha256']}`" in card
    assert "feedback winrate" in card  # no win-rate report yet: said, not invented
    sft_card = render_documents(read_records(ws, sft_run))["MODEL_CARD.md"]
    assert "Preference tuning" not in sft_card


def test_orpo_trains_without_a_reference(sft_workspace: tuple) -> None:
    ws, sft_run = sft_workspace
    config = load_config(ws.config_path)
    config = config.model_copy(
        update={"align": config.align.model_copy(update={"method": "orpo", "max_steps": 3})}
    )
    result = align(ws, config, sft_run, [write_pairs(ws, 12)])
    sft_weights = load_file(ws.runs_dir / sft_run / "adapter" / "adapter_model.safetensors")
    aligned = load_file(result.path / "adapter" / "adapter_model.safetensors")
    assert any(not torch.equal(aligned[k], sft_weights[k]) for k in aligned)
    assert "-orpo-" in result.run_id and result.steps == 3


def test_replayed_sft_records_join_the_training_rows_and_are_named(sft_workspace: tuple) -> None:
    ws, sft_run = sft_workspace
    config = load_config(ws.config_path)
    settings = {"max_steps": 2, "sft_weight": 1.0, "replay_ratio": 0.5}
    config = config.model_copy(update={"align": config.align.model_copy(update=settings)})
    result = align(ws, config, sft_run, [write_pairs(ws, 12)])
    summary = json.loads((result.path / "summary.json").read_text())
    sft_lineage = json.loads((ws.runs_dir / sft_run / "lineage.json").read_text())
    assert summary["replay"] == {
        "rows": round(0.5 * result.counts["train"]),
        "source": "datasets/support-tickets/v1/train.jsonl",
        "sha256": sft_lineage["dataset"]["files"]["train.jsonl"],
    }
    entry = [e for e in entries(ws.state_dir / "audit.jsonl") if e.action == "align"][-1]
    assert summary["replay"]["source"] in entry.inputs
    # without the NLL term a replayed row would teach nothing: refused before any run folder
    runs = set(ws.runs_dir.iterdir())
    config = config.model_copy(update={"align": config.align.model_copy(update={"sft_weight": 0})})
    with pytest.raises(PreferenceInputError, match="sft_weight"):
        align(ws, config, sft_run, [write_pairs(ws, 12)])
    assert set(ws.runs_dir.iterdir()) == runs


def test_no_usable_pair_is_a_clear_error_and_leaves_no_run(sft_workspace: tuple) -> None:
    ws, sft_run = sft_workspace
    path = ws.root / "bad.jsonl"
    path.write_text('{"prompt": [{"role": "user", "content": "hi"}], "chosen": []}\n')
    runs_before = set(ws.runs_dir.iterdir())
    with pytest.raises(PreferenceInputError, match=r"bad.jsonl:1: 'chosen' must be a non-empty"):
        align(ws, load_config(ws.config_path), sft_run, [path])
    with pytest.raises(PreferenceInputError, match="not found"):
        align(ws, load_config(ws.config_path), "no-such-run", [path])
    assert set(ws.runs_dir.iterdir()) == runs_before


def test_resume_trains_on_the_pairs_it_started_with_and_review_pairs_are_held_out(
    sft_workspace: tuple,
) -> None:
    ws, sft_run = sft_workspace
    review = ws.root / "feedback" / "preferences.jsonl"
    review.parent.mkdir(exist_ok=True)
    review.write_text(write_pairs(ws, 20).read_text())
    config = load_config(ws.config_path)

    def crash(step: int, total: int, metrics: dict[str, float]) -> None:
        if step >= 4:
            raise KeyboardInterrupt

    config = config.model_copy(
        update={"align": config.align.model_copy(update={"save_steps": 2, "logging_steps": 1})}
    )
    with pytest.raises(KeyboardInterrupt):
        align(ws, config, sft_run, [], on_progress=crash, review_files=[review])
    run_dir = max(ws.runs_dir.glob("*-dpo-*"), key=lambda p: p.stat().st_mtime)
    trained = (run_dir / "pairs" / "train.jsonl").read_text()
    lineage = json.loads((run_dir / "lineage.json").read_text())
    counts = lineage["preferences"]["counts"]
    assert counts["held_out_for_judges"] > 0
    assert counts["read"] == counts["kept"] + counts["quarantined"] + counts["held_out_for_judges"]
    review.write_text("")  # the review export rewrites its file; a resumed run must not care
    result = align(ws, config, None, [], resume=run_dir.name)
    assert result.steps == 6 and result.run_id == run_dir.name
    assert (run_dir / "pairs" / "train.jsonl").read_text() == trained
    assert json.loads((run_dir / "lineage.json").read_text()) == lineage
    steps = [json.loads(x)["step"] for x in (run_dir / "metrics.jsonl").open()]
    assert steps == sorted(steps)  # metrics past the checkpoint were dropped, not repeated
