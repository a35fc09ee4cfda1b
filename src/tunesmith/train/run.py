"""`tunesmith train`: a dataset version and a base model in, a PEFT adapter run folder out.

`train` reads top to bottom: open the run (new or resumed), load the base model with its
adapter, encode the splits, start the run folder, build the Trainer, fit, write the results.
"""

from __future__ import annotations

import errno
import os
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch

from tunesmith.config import ProjectConfig, TrainConfig
from tunesmith.config.workspace import Workspace
from tunesmith.data.version import read_split
from tunesmith.models.base import BaseModel, resolve_base_model
from tunesmith.models.hardware import hardware
from tunesmith.models.quantize import quantize_linear_weights
from tunesmith.store.tracking import Tracker
from tunesmith.train.arguments import training_arguments
from tunesmith.train.callbacks import (
    CompleteMarker,
    DivergenceGuard,
    LossDivergedError,
    MetricsWriter,
    drop_incomplete_checkpoints,
    forget_metrics_after,
    latest_complete_checkpoint,
)
from tunesmith.train.dataset import TrainInputError, as_dataset, encode_split, upsample_reviewed
from tunesmith.train.plots import plot_loss
from tunesmith.train.run_dir import (
    RunInputs,
    finish_run,
    init_adapter_dir,
    new_run_id,
    open_run,
    run_lineage,
    run_summary,
    start_run_dir,
)

# what other modules import from here (new_run_id: the loop, align and torchrun workers)
__all__ = [
    "CheckpointWriteError",
    "TrainInputError",
    "TrainResult",
    "build_model",
    "new_run_id",
    "train",
]


class CheckpointWriteError(RuntimeError):
    """A checkpoint could not be written (disk full); the last complete one is kept."""


@dataclass(frozen=True)
class TrainResult:
    run_id: str
    path: Path
    steps: int
    best_val_loss: float | None
    stopped_early: bool
    counts: dict[str, int]
    val_loss_before: float | None = None


@dataclass(frozen=True)
class _Splits:
    train_rows: list[dict[str, list[int]]]
    val_rows: list[dict[str, list[int]]]
    counts: dict[str, dict[str, int]]  # per split: records read, kept, truncated...


def build_model(
    base: BaseModel, config: TrainConfig, dtype: torch.dtype, init_dir: Path | None = None
) -> tuple[Any, Any]:
    """The base model with a fresh adapter, or with `init_dir`'s adapter to train further."""
    from peft import LoraConfig, PeftModel, get_peft_model
    from transformers import AutoModelForCausalLM, AutoTokenizer

    tokenizer = AutoTokenizer.from_pretrained(base.path)
    if tokenizer.pad_token is None:
        tokenizer.pad_token = tokenizer.eos_token
    torch.manual_seed(config.seed)
    model = AutoModelForCausalLM.from_pretrained(base.path, dtype=dtype)
    if config.method == "full":
        return model, tokenizer
    if config.method == "qlora":
        quantize_linear_weights(model)
    if init_dir is not None:
        return PeftModel.from_pretrained(model, init_dir, is_trainable=True), tokenizer
    lora = LoraConfig(
        r=config.lora_r,
        lora_alpha=config.lora_alpha,
        lora_dropout=config.lora_dropout,
        target_modules=config.target_modules,
        use_dora=config.method == "dora",
        task_type="CAUSAL_LM",
    )
    return get_peft_model(model, lora), tokenizer


def train(
    workspace: Workspace,
    config: ProjectConfig,
    resume: str | None = None,
    on_progress: Callable[[int, int, dict[str, float]], None] | None = None,
    run_id: str | None = None,
) -> TrainResult:
    """Fine-tune; with `resume`, continue that run from its last complete checkpoint.

    Under torchrun every process calls this with the same `run_id`; only rank 0 writes the
    run folder, metrics and tracking, the Trainer shards batches and synchronises gradients.
    """
    is_main = int(os.environ.get("RANK", "0")) == 0
    run = open_run(workspace, config, resume, run_id)
    tc = run.config.train
    hw = hardware()
    base = resolve_base_model(run.config.base_model, workspace.state_dir / "models", workspace.root)
    init_dir = init_adapter_dir(workspace, tc)
    dtype = torch.bfloat16 if hw["bf16"] else torch.float32
    model, tokenizer = build_model(base, tc, dtype, init_dir)
    splits = _encode_splits(run, tokenizer)
    lineage = run_lineage(workspace, run, base, model, splits.counts, hw, init_dir)
    tracker = start_run_dir(workspace, run, lineage, base) if is_main else None
    trainer, guard = _make_trainer(run, model, tokenizer, splits, hw, tracker, on_progress)
    train_seconds = _fit(trainer, guard, run, bool(splits.val_rows), tracker)
    trainer.save_model(str(run.run_dir / "adapter"))
    state = trainer.state
    stopped_early = state.global_step < state.max_steps
    if tracker is None:  # another rank of a distributed run: rank 0 writes the results
        return TrainResult(
            run.run_id, run.run_dir, state.global_step, state.best_metric, stopped_early, {}
        )
    tokenizer.save_pretrained(str(run.run_dir / "adapter"))
    plot_loss(run.run_dir / "metrics.jsonl", run.run_dir / "loss.png")
    summary = run_summary(trainer, run.run_dir, train_seconds)
    finish_run(workspace, run, lineage, base, summary, tracker)
    return TrainResult(
        run.run_id,
        run.run_dir,
        state.global_step,
        state.best_metric,
        stopped_early,
        splits.counts["train"],
        summary["val_loss_before"],
    )


def _encode_splits(run: RunInputs, tokenizer: Any) -> _Splits:
    """Train (reviewed rows repeated) and val tokenised; refused when no train row is left."""
    tc, dataset_path = run.config.train, run.dataset_path
    train_records = upsample_reviewed(read_split(dataset_path, "train"), tc.reviewed_repeat)
    train_rows, train_counts = encode_split(tokenizer, train_records, tc)
    val_rows, val_counts = encode_split(tokenizer, read_split(dataset_path, "val"), tc)
    if not train_rows:
        file, total = dataset_path / "train.jsonl", train_counts["records"]
        if not total:
            raise TrainInputError(f"{file}: the train split is empty")
        raise TrainInputError(
            f"{file}: all {total} sequences are longer than train.max_length "
            f"({tc.max_length}) and train.truncation is '{tc.truncation}'"
        )
    return _Splits(train_rows, val_rows, {"train": train_counts, "val": val_counts})


def _make_trainer(
    run: RunInputs,
    model: Any,
    tokenizer: Any,
    splits: _Splits,
    hw: dict[str, Any],
    tracker: Tracker | None,
    on_progress: Callable[[int, int, dict[str, float]], None] | None,
) -> tuple[Any, DivergenceGuard]:
    """The Trainer with its callbacks; rank 0 (the one with a tracker) writes the run folder."""
    from transformers import DataCollatorForSeq2Seq, EarlyStoppingCallback, PrinterCallback

    from tunesmith.train.trainer import SelectiveHeadTrainer

    tc, has_val = run.config.train, bool(splits.val_rows)
    guard = DivergenceGuard()
    trainer = SelectiveHeadTrainer(
        model=model,
        args=training_arguments(tc, run.run_dir / "checkpoints", has_val, hw),
        train_dataset=as_dataset(splits.train_rows),
        eval_dataset=as_dataset(splits.val_rows) if has_val else None,
        data_collator=DataCollatorForSeq2Seq(tokenizer, padding=True, label_pad_token_id=-100),
        callbacks=[guard] if tracker is None else [guard, CompleteMarker()],
    )
    trainer.remove_callback(PrinterCallback)  # metrics go to metrics.jsonl and the progress bar

    def report(metrics: dict[str, float], step: int) -> None:
        if tracker:
            tracker.log_metrics(metrics, step)
        if on_progress:
            on_progress(step, trainer.state.max_steps, metrics)

    if tracker is not None:
        writer = MetricsWriter(run.run_dir / "metrics.jsonl", lambda: trainer.real_tokens, report)
        trainer.add_callback(writer)
    if has_val and tc.early_stopping_patience:
        trainer.add_callback(EarlyStoppingCallback(tc.early_stopping_patience))
    return trainer, guard


def _fit(
    trainer: Any, guard: DivergenceGuard, run: RunInputs, has_val: bool, tracker: Tracker | None
) -> float:
    """Train (a resumed run from its last complete checkpoint); the seconds it took."""
    from tunesmith.train.trainer import CheckpointSaveError

    checkpoints = run.run_dir / "checkpoints"
    checkpoint = latest_complete_checkpoint(checkpoints) if run.resumed else None
    if run.resumed and tracker is not None:
        forget_metrics_after(
            run.run_dir / "metrics.jsonl", int(checkpoint.name[11:]) if checkpoint else 0
        )
    try:
        if has_val and not run.resumed:
            # the base model's val loss, logged as step 0: the "before" number; without
            # touching the RNG, so a resumed run draws the data order of an unbroken one
            with torch.random.fork_rng(devices=[]):
                trainer.evaluate()
        started = time.perf_counter()
        trainer.train(resume_from_checkpoint=str(checkpoint) if checkpoint else None)
        train_seconds = time.perf_counter() - started
    except CheckpointSaveError as err:
        if tracker is None:  # another rank: rank 0 cleans up and explains
            raise
        tracker.end("FAILED")
        removed = drop_incomplete_checkpoints(checkpoints)
        good = latest_complete_checkpoint(checkpoints)
        kept = f"{good.name} kept" if good else "no complete checkpoint yet"
        cause = "disk full" if _disk_full(err) else f"could not write a checkpoint ({err})"
        raise CheckpointWriteError(
            f"{cause} while writing {', '.join(removed) or 'a checkpoint'} in {checkpoints} "
            f"(removed); {kept}. Free space, then: tunesmith train --resume {run.run_id}"
        ) from err
    except BaseException:
        if tracker:
            tracker.end("FAILED")
        raise
    if guard.reason:
        if tracker:
            tracker.end("FAILED")
        raise LossDivergedError(f"{guard.reason}; last good checkpoint kept in {checkpoints}")
    return train_seconds


def _disk_full(err: BaseException) -> bool:
    cause: BaseException | None = err
    while cause is not None:
        if isinstance(cause, OSError) and cause.errno == errno.ENOSPC:
            return True
        text = str(cause)
        if "No space left" in text or "os error 28" in text or "file write failed" in text:
            return True
        cause = cause.__cause__ or cause.__context__
    return False
