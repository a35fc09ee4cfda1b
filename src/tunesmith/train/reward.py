"""`tunesmith reward train`: a reward model learned from pairwise choices with TRL.

The base model gets a one-output head and a LoRA adapter, trained by TRL's RewardTrainer on
the Bradley-Terry loss (the chosen answer's reward above the rejected one's). Pairs are
tokenized here with `models.reward.pair_ids`, the function every use of the model scores
with. The human pairs `align.judge_holdout` keeps back are the decisions the LLM judge and
the rubric are checked on: the reward model never trains on them either, and its evaluation
reads them from the run folder. The run folder is like any other's: adapter, config, lineage
(pair files by sha256, their reviewers), metrics, MLflow, audit entry.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from secrets import token_hex
from typing import Any

import torch
import yaml
from transformers import PrinterCallback

from tunesmith.config import ProjectConfig
from tunesmith.config.reward import RewardConfig
from tunesmith.config.workspace import Workspace
from tunesmith.data.curate import pseudonym_key
from tunesmith.data.pii import PiiMasker
from tunesmith.models.base import BaseModelError, resolve_base_model
from tunesmith.models.hardware import hardware
from tunesmith.models.reward import RewardModel, pair_ids, pairwise_accuracy, scalar_head_model
from tunesmith.preference.pairs import (
    PreferenceInputError,
    mask_pairs,
    read_pairs,
    require_pairs,
    split_pairs,
    take_held_out,
)
from tunesmith.store import audit
from tunesmith.store.files import sha256_file, write_atomic, write_jsonl
from tunesmith.store.runs import REWARD_FILE
from tunesmith.store.tracking import Tracker
from tunesmith.train.align_trainer import MetricsLog, preference_arguments
from tunesmith.train.callbacks import CompleteMarker, fsync_tree
from tunesmith.train.lineage import build_lineage


@dataclass(frozen=True)
class RewardResult:
    run_id: str
    path: Path
    steps: int
    counts: dict[str, int]
    val_accuracy: float | None


def _encoded(
    pairs: list[dict[str, Any]], tokenizer: Any, max_length: int
) -> tuple[list[dict[str, list[int]]], int]:
    """(chosen_ids, rejected_ids) rows, and how many pairs ran past `max_length`."""
    rows, too_long = [], 0
    for pair in pairs:
        chosen = pair_ids(tokenizer, pair["prompt"], pair["chosen"][-1]["content"])
        rejected = pair_ids(tokenizer, pair["prompt"], pair["rejected"][-1]["content"])
        if max(len(chosen), len(rejected)) > max_length:
            too_long += 1
            continue
        rows.append({"chosen_ids": chosen, "rejected_ids": rejected})
    return rows, too_long


def _trainer(
    model: Any, tokenizer: Any, settings: RewardConfig, run_dir: Path, train: list, val: list
) -> Any:
    from datasets import Dataset
    from trl import RewardConfig as TrlRewardConfig
    from trl import RewardTrainer

    args = TrlRewardConfig(
        **preference_arguments(settings, run_dir, bool(val), hardware()),
        max_length=None,  # counted out above, not dropped silently by the trainer
        center_rewards_coefficient=settings.center_rewards,
    )
    return RewardTrainer(
        model=model,
        args=args,
        train_dataset=Dataset.from_list(train),
        eval_dataset=Dataset.from_list(val) if val else None,
        processing_class=tokenizer,
    )


def _peft_model(base_path: Path, settings: RewardConfig) -> tuple[Any, Any]:
    from peft import LoraConfig, get_peft_model

    torch.manual_seed(settings.seed)  # the new head's initial weights
    dtype = torch.bfloat16 if hardware()["bf16"] else torch.float32
    model, tokenizer = scalar_head_model(base_path, dtype)
    lora = LoraConfig(
        r=settings.lora_r,
        lora_alpha=settings.lora_alpha,
        target_modules=settings.target_modules,
        modules_to_save=["score"],
        task_type="SEQ_CLS",
    )
    return get_peft_model(model, lora), tokenizer


def _split(
    workspace: Workspace,
    config: ProjectConfig,
    pair_files: list[Path],
    review_files: list[Path],
) -> tuple[Any, list[dict[str, Any]], dict[str, int]]:
    """The pairs read, masked and with the held-out human decisions taken out."""
    pairs = read_pairs([*pair_files, *review_files], workspace.root)
    masked = {}
    if config.data.pii.enabled:  # before the split: held-out decisions are scored masked too
        masked = mask_pairs(pairs, PiiMasker(config.data.pii, pseudonym_key(config.data)))
    kept_back = take_held_out(pairs, review_files, workspace.root, config.align.judge_holdout)
    require_pairs(pairs)
    return pairs, kept_back, masked


def reward_train(
    workspace: Workspace,
    config: ProjectConfig,
    pair_files: list[Path],
    review_files: list[Path] | None = None,
    on_progress: Callable[[int, int, dict[str, float]], None] | None = None,
) -> RewardResult:
    """Train a reward model on the pairs of `pair_files` and `review_files` (human decisions,
    the `judge_holdout` share of which is kept back for evaluation)."""
    settings, review_files = config.reward, review_files or []
    try:
        base = resolve_base_model(config.base_model, workspace.state_dir / "models", workspace.root)
    except BaseModelError as err:
        raise PreferenceInputError(str(err)) from None
    pairs, kept_back, masked = _split(workspace, config, pair_files, review_files)
    train_pairs, val_pairs = split_pairs(pairs.kept, settings.val_share, settings.seed)
    model, tokenizer = _peft_model(base.path, settings)
    train_rows, long_train = _encoded(train_pairs, tokenizer, settings.max_length)
    val_rows, long_val = _encoded(val_pairs, tokenizer, settings.max_length)
    if not train_rows:
        raise PreferenceInputError("every training pair is over reward.max_length")
    reviewers = sorted(
        {str(p["meta"].get("reviewed_by")) for p in pairs.kept if p["meta"].get("reviewed_by")}
    )
    counts = {
        **pairs.counts,
        "kept": len(pairs.kept),
        "held_out_for_judges": len(kept_back),
        "train": len(train_rows),
        "val": len(val_rows),
        "too_long": long_train + long_val,
    }
    stamp = datetime.now(UTC).strftime("%Y%m%d-%H%M%S")
    run_id = f"{config.data.name}-reward-{stamp}-{token_hex(2)}"
    run_dir = workspace.runs_dir / run_id
    hw = hardware()
    lineage = build_lineage(
        run_id, None, base.to_json(), settings.seed, {"pairs": counts}, workspace.root, hw
    )
    lineage["preferences"] = {
        "method": "reward",
        "sources": pairs.sources,
        "counts": counts,
        "pii_masked": masked,
        "reviewers": reviewers,
    }
    (run_dir / "pairs").mkdir(parents=True)
    for name, rows in (("train", train_pairs), ("val", val_pairs), ("held_out", kept_back)):
        write_jsonl(run_dir / "pairs" / f"{name}.jsonl", rows)
    write_jsonl(run_dir / "pairs" / "quarantine.jsonl", pairs.quarantined)
    dumped = yaml.safe_dump(config.model_dump(mode="json"), sort_keys=False)
    write_atomic(run_dir / "config.yaml", dumped.encode("utf-8"))
    write_atomic(run_dir / "lineage.json", (json.dumps(lineage, indent=2) + "\n").encode())
    marker = {"reward": settings.model_dump(), "sources": list(pairs.sources)}
    write_atomic(run_dir / REWARD_FILE, (json.dumps(marker, indent=2) + "\n").encode())

    tracker = Tracker(workspace.state_dir, config.project, run_id)
    tracker.log_params({**settings.model_dump(), "pairs_train": len(train_rows)})
    trainer = _trainer(model, tokenizer, settings, run_dir, train_rows, val_rows)

    def report(values: dict[str, float], step: int) -> None:
        tracker.log_metrics({k.replace("/", "_"): v for k, v in values.items()}, step)
        if on_progress:
            on_progress(step, trainer.state.max_steps, values)

    trainer.remove_callback(PrinterCallback)
    trainer.add_callback(MetricsLog(run_dir / "metrics.jsonl", report))
    trainer.add_callback(CompleteMarker())
    try:
        started = time.perf_counter()
        trainer.train()
        seconds = time.perf_counter() - started
        adapter_dir = run_dir / "adapter"
        trainer.model.save_pretrained(str(adapter_dir))
        tokenizer.save_pretrained(str(adapter_dir))
        scorer = RewardModel(run_id, trainer.model.eval(), tokenizer, settings)
        val_accuracy = pairwise_accuracy(scorer.margins(val_pairs))
        summary = {
            "method": "reward",
            "steps": trainer.state.global_step,
            "train_seconds": round(seconds, 2),
            "pairs": counts,
            "train_accuracy": pairwise_accuracy(scorer.margins(train_pairs)),
            "val_accuracy": val_accuracy,
        }
        audit.append(
            audit.audit_path(workspace.state_dir),
            "reward-train",
            run_id,
            inputs={f"preferences/{n}": s["sha256"] for n, s in pairs.sources.items()},
            outputs={f.name: sha256_file(f) for f in sorted(adapter_dir.glob("*.safetensors"))},
            details={"steps": summary["steps"], "pairs": counts, "reviewers": len(reviewers)},
        )
    except BaseException:
        tracker.end("FAILED")
        raise
    fsync_tree(adapter_dir)
    write_atomic(run_dir / "summary.json", (json.dumps(summary, indent=2) + "\n").encode())
    tracker.log_metrics({"val_accuracy": val_accuracy or 0.0}, summary["steps"])
    tracker.log_artifacts(adapter_dir, "adapter")
    tracker.log_files([run_dir / n for n in ("metrics.jsonl", "lineage.json", "summary.json")])
    tracker.end()
    return RewardResult(run_id, run_dir, summary["steps"], counts, val_accuracy)
