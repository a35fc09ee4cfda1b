"""`tunesmith align`: an SFT run's adapter tuned further on preference pairs with TRL.

DPO keeps the SFT model as its reference: TRL copies the SFT adapter as a frozen "ref"
adapter, and the reference log-probabilities are computed once before training
(`precompute_ref_log_probs`), so training holds one model and runs one forward per answer.
ORPO needs no reference at all. The result is a run folder like `tunesmith train`'s, so eval,
register, serve and docs take it as they are; its lineage names the SFT parent and the
preference files by sha256.
"""

from __future__ import annotations

import json
import math
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch
import yaml
from transformers import (
    PrinterCallback,
    TrainerCallback,
    TrainerControl,
    TrainerState,
    TrainingArguments,
)

from tunesmith.config import ProjectConfig
from tunesmith.data.curate import pseudonym_key
from tunesmith.data.pii import PiiMasker
from tunesmith.data.version import sha256_file, write_jsonl
from tunesmith.governance import audit
from tunesmith.models.base import BaseModelError, weights_digest
from tunesmith.models.run_model import RunModelError, finished_run
from tunesmith.preference.records import (
    PreferenceInputError,
    mask_pairs,
    read_pairs,
    split_pairs,
)
from tunesmith.preference.settings import AlignConfig
from tunesmith.train.callbacks import CompleteMarker, latest_complete_checkpoint
from tunesmith.train.lineage import build_lineage, hardware
from tunesmith.train.logps import preference_margins
from tunesmith.train.run import build_model, new_run_id
from tunesmith.train.tracking import Tracker
from tunesmith.workspace import Workspace

ALIGN_FILE = "align.json"


@dataclass(frozen=True)
class AlignResult:
    run_id: str
    path: Path
    steps: int
    counts: dict[str, int]
    margins_before: dict[str, float]
    margins_after: dict[str, float]


class MetricsLog(TrainerCallback):
    """Every numeric value the trainer logs, one JSON line per event, passed on for progress."""

    def __init__(self, path: Path, report: Callable[[dict[str, float], int], None]) -> None:
        self.path, self.report = path, report

    def on_log(
        self,
        args: TrainingArguments,
        state: TrainerState,
        control: TrainerControl,
        logs: dict[str, Any] | None = None,
        **kwargs: Any,
    ) -> None:
        values = {k: float(v) for k, v in (logs or {}).items() if isinstance(v, int | float)}
        if not values:
            return
        with self.path.open("a", encoding="utf-8") as handle:
            handle.write(json.dumps({"step": state.global_step, **values}) + "\n")
        self.report(values, state.global_step)


def align(
    workspace: Workspace,
    config: ProjectConfig,
    sft_run: str | None,
    pair_files: list[Path],
    resume: str | None = None,
    on_progress: Callable[[int, int, dict[str, float]], None] | None = None,
) -> AlignResult:
    """Preference-tune `sft_run`'s adapter on the pairs of `pair_files` (or resume a run)."""
    if resume:
        run_dir = workspace.runs_dir / resume
        if not (run_dir / ALIGN_FILE).is_file():
            raise PreferenceInputError(
                f"run '{resume}' is not an align run in {workspace.runs_dir}"
            )
        if (run_dir / "summary.json").is_file():
            raise PreferenceInputError(f"run '{resume}' already finished; start a new run")
        record = json.loads((run_dir / ALIGN_FILE).read_text(encoding="utf-8"))
        sft_run = record["sft_run"]
        pair_files = [workspace.root / p for p in record["pair_files"]]
        settings = AlignConfig.model_validate(record["align"])
    else:
        settings = config.align
    if not sft_run:
        raise PreferenceInputError("name the SFT run to align (--sft RUN)")
    try:
        sft_dir, sft_lineage, sft_method = finished_run(workspace, sft_run)
    except RunModelError as err:
        raise PreferenceInputError(str(err)) from None
    if sft_method == "full":
        raise PreferenceInputError(f"run '{sft_run}' trained all weights; align tunes an adapter")
    sft_config = ProjectConfig.model_validate(yaml.safe_load((sft_dir / "config.yaml").read_text()))
    pairs = read_pairs(pair_files, workspace.root)
    if not pairs.kept:
        reasons = "; ".join(
            f"{q['source']}:{q['line']}: {q['reason']}" for q in pairs.quarantined[:3]
        )
        raise PreferenceInputError(f"no usable preference pairs ({reasons})")
    masked = {}
    if sft_config.data.pii.enabled:
        masked = mask_pairs(
            pairs.kept, PiiMasker(sft_config.data.pii, pseudonym_key(sft_config.data))
        )
    train_pairs, val_pairs = split_pairs(pairs.kept, settings.val_share, settings.seed)
    base = _sft_base(sft_config, sft_lineage, workspace)
    hw = hardware()
    dtype = torch.bfloat16 if hw["bf16"] else torch.float32
    model, tokenizer = build_model(base, sft_config.train, dtype, sft_dir / "adapter")
    dataset = sft_lineage["dataset"]
    run_id = resume or new_run_id(
        sft_config.model_copy(
            update={"train": sft_config.train.model_copy(update={"method": settings.method})}
        ),
        dataset["version"],
    )
    run_dir = workspace.runs_dir / run_id
    counts = {**pairs.counts, "train": len(train_pairs), "val": len(val_pairs)}
    lineage = build_lineage(
        run_id,
        dataset,
        sft_lineage["base_model"],
        settings.seed,
        {"pairs": counts},
        workspace.root,
        hw,
    )
    sft_weights = sft_dir / "adapter" / "adapter_model.safetensors"
    lineage["init_adapter"] = {"run_id": sft_run, "sha256": sha256_file(sft_weights)}
    lineage["preferences"] = {
        "method": settings.method,
        "sources": pairs.sources,
        "counts": counts,
        "pii_masked": masked,
    }
    if not resume:
        (run_dir / "pairs").mkdir(parents=True)
        run_config = sft_config.model_copy(update={"align": settings})
        (run_dir / "config.yaml").write_text(
            yaml.safe_dump(run_config.model_dump(mode="json"), sort_keys=False)
        )
        files = [str(p.relative_to(workspace.root)) for p in pair_files]
        (run_dir / ALIGN_FILE).write_text(
            json.dumps(
                {"sft_run": sft_run, "pair_files": files, "align": settings.model_dump()}, indent=2
            )
            + "\n"
        )
        for name, rows in (("train", train_pairs), ("val", val_pairs)):
            write_jsonl(run_dir / "pairs" / f"{name}.jsonl", rows)
        write_jsonl(run_dir / "pairs" / "quarantine.jsonl", pairs.quarantined)
    (run_dir / "lineage.json").write_text(json.dumps(lineage, indent=2) + "\n")
    tracker = Tracker(workspace.state_dir, sft_config.project, run_id)
    tracker.log_params(
        {
            **settings.model_dump(exclude={"judge", "rubric", "sampling"}),
            "sft_run": sft_run,
            "pairs_train": len(train_pairs),
        }
    )
    before = {
        "train": preference_margins(model, tokenizer, train_pairs),
        "val": preference_margins(model, tokenizer, val_pairs),
    }
    trainer = _trainer(model, tokenizer, settings, run_dir, train_pairs, val_pairs, hw)

    def report(values: dict[str, float], step: int) -> None:
        tracker.log_metrics({k.replace("/", "_"): v for k, v in values.items()}, step)
        if on_progress:
            on_progress(step, trainer.state.max_steps, values)

    trainer.remove_callback(PrinterCallback)  # metrics go to metrics.jsonl and the progress bar
    trainer.add_callback(MetricsLog(run_dir / "metrics.jsonl", report))
    trainer.add_callback(CompleteMarker())
    checkpoint = latest_complete_checkpoint(run_dir / "checkpoints") if resume else None
    try:
        started = time.perf_counter()
        trainer.train(resume_from_checkpoint=str(checkpoint) if checkpoint else None)
        seconds = time.perf_counter() - started
    except BaseException:
        tracker.end("FAILED")
        raise
    adapter_dir = run_dir / "adapter"
    trainer.model.save_pretrained(str(adapter_dir), selected_adapters=["default"])
    tokenizer.save_pretrained(str(adapter_dir))
    after = {
        "train": preference_margins(trainer.model, tokenizer, train_pairs),
        "val": preference_margins(trainer.model, tokenizer, val_pairs),
    }
    summary = {
        "method": settings.method,
        "steps": trainer.state.global_step,
        "train_seconds": round(seconds, 2),
        "pairs": counts,
        "margins_before": before,
        "margins_after": after,
        "final_loss": _last(trainer.state.log_history, "train_loss"),
    }
    audit.append(
        audit.audit_path(workspace.state_dir),
        "align",
        run_id,
        inputs={
            **{f"preferences/{n}": s["sha256"] for n, s in pairs.sources.items()},
            f"run/{sft_run}/adapter_model.safetensors": lineage["init_adapter"]["sha256"],
        },
        outputs={f.name: sha256_file(f) for f in sorted(adapter_dir.glob("*.safetensors"))},
        details={"method": settings.method, "steps": summary["steps"], "pairs": counts},
    )
    (run_dir / "summary.json").write_text(json.dumps(summary, indent=2) + "\n")
    tracker.log_artifacts(adapter_dir, "adapter")
    tracker.log_files([run_dir / n for n in ("metrics.jsonl", "lineage.json", "summary.json")])
    tracker.end()
    return AlignResult(run_id, run_dir, summary["steps"], counts, before["train"], after["train"])


def _sft_base(sft_config: ProjectConfig, sft_lineage: dict[str, Any], workspace: Workspace) -> Any:
    """The SFT run's base model, refused when its weights changed since that run."""
    from tunesmith.models.base import resolve_base_model

    try:
        base = resolve_base_model(
            sft_config.base_model, workspace.state_dir / "models", workspace.root
        )
    except BaseModelError as err:
        raise PreferenceInputError(str(err)) from None
    recorded = sft_lineage["base_model"]["weights_sha256"]
    if weights_digest(base.path) != recorded:
        raise PreferenceInputError(
            f"base model at {base.path} differs from the SFT run's (sha256 {recorded[:12]}…)"
        )
    return base


def _trainer(
    model: Any,
    tokenizer: Any,
    settings: AlignConfig,
    run_dir: Path,
    train_pairs: list[dict[str, Any]],
    val_pairs: list[dict[str, Any]],
    hw: dict[str, Any],
) -> Any:
    """TRL's DPO or ORPO trainer over the pairs, in the precision the hardware supports."""
    from datasets import Dataset

    common = {
        "output_dir": str(run_dir / "checkpoints"),
        "per_device_train_batch_size": settings.batch_size,
        "per_device_eval_batch_size": settings.batch_size,
        "gradient_accumulation_steps": settings.grad_accum,
        "learning_rate": settings.learning_rate,
        "num_train_epochs": settings.epochs,
        "max_steps": settings.max_steps or -1,
        "warmup_steps": settings.warmup_ratio,
        "lr_scheduler_type": "cosine",
        "seed": settings.seed,
        "data_seed": settings.seed,
        "logging_steps": settings.logging_steps,
        "save_strategy": "steps",
        "save_steps": settings.save_steps,
        "save_total_limit": 1,
        "eval_strategy": "epoch" if val_pairs else "no",
        "beta": settings.beta,
        "max_length": settings.max_length,
        # bf16 only where the hardware has it; checkpointing costs compute a small model lacks
        "bf16": hw["bf16"],
        "use_cpu": hw["device"] == "cpu",
        "gradient_checkpointing": False,
        "report_to": "none",
        "disable_tqdm": True,
        "dataloader_num_workers": 0,
    }
    fields = ("prompt", "chosen", "rejected")
    train = Dataset.from_list([{f: p[f] for f in fields} for p in train_pairs])
    val = Dataset.from_list([{f: p[f] for f in fields} for p in val_pairs]) if val_pairs else None
    if settings.method == "orpo":
        from trl.experimental.orpo import ORPOConfig, ORPOTrainer

        args = ORPOConfig(**common)
        return ORPOTrainer(
            model=model,
            args=args,
            train_dataset=train,
            eval_dataset=val,
            processing_class=tokenizer,
        )
    from trl import DPOConfig, DPOTrainer

    losses = [settings.loss_type] + (["sft"] if settings.sft_weight else [])
    args = DPOConfig(
        **common,
        loss_type=losses,
        loss_weights=[1.0, settings.sft_weight] if settings.sft_weight else None,
        precompute_ref_log_probs=True,
    )
    return DPOTrainer(
        model=model, args=args, train_dataset=train, eval_dataset=val, processing_class=tokenizer
    )


def _last(history: list[dict[str, Any]], key: str) -> float | None:
    values = [h[key] for h in history if key in h and math.isfinite(h[key])]
    return values[-1] if values else None
