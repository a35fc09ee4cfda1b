"""`tunesmith train`: a dataset version and a base model in, a PEFT adapter run folder out."""

from __future__ import annotations

import errno
import json
import platform
import subprocess
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import torch
import yaml

from tunesmith import __version__
from tunesmith.config import ProjectConfig, TrainConfig
from tunesmith.data.version import latest_version
from tunesmith.models.base import BaseModel, resolve_base_model
from tunesmith.models.quantize import quantize_linear_weights, weight_bytes
from tunesmith.train.callbacks import (
    CompleteMarker,
    DivergenceGuard,
    LossDivergedError,
    MetricsWriter,
    drop_incomplete_checkpoints,
    latest_complete_checkpoint,
)
from tunesmith.train.plots import plot_loss
from tunesmith.train.tokenize import encode
from tunesmith.train.tracking import Tracker
from tunesmith.workspace import Workspace


class TrainInputError(ValueError):
    """A dataset, split or run that cannot be trained on; the message names it."""


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


def hardware() -> dict[str, Any]:
    """Device and precision chosen from the hardware, never from a library default."""
    if torch.cuda.is_available():
        bf16 = torch.cuda.is_bf16_supported()
        return {"device": "cuda", "name": torch.cuda.get_device_name(0), "bf16": bf16}
    # CPUs here lack native bf16 matmuls: bf16 ran ~17x slower than fp32 on the dev machine.
    return {"device": "cpu", "name": platform.processor() or platform.machine(), "bf16": False}


def resolve_dataset(workspace: Workspace, name: str, version: str) -> tuple[Path, dict[str, Any]]:
    folder = workspace.dataset_dir(name)
    if version == "latest":
        latest = latest_version(folder)
        if latest is None:
            raise TrainInputError(
                f"no versions of dataset '{name}' in {folder}; run `tunesmith curate`"
            )
        version = f"v{latest[0]}"
    path = folder / version
    if not (path / "manifest.json").is_file():
        raise TrainInputError(f"dataset version {path} does not exist")
    return path, json.loads((path / "manifest.json").read_text(encoding="utf-8"))


def _read_split(path: Path, split: str) -> list[dict[str, Any]]:
    file = path / f"{split}.jsonl"
    if not file.is_file():
        raise TrainInputError(f"{file}: split missing")
    return [json.loads(line) for line in file.read_text(encoding="utf-8").splitlines() if line]


def _encode_split(
    tokenizer: Any, records: list[dict[str, Any]], config: TrainConfig
) -> tuple[list[dict[str, list[int]]], dict[str, int]]:
    rows, counts = [], {"records": len(records), "truncated": 0, "dropped_too_long": 0}
    for record in records:
        encoded = encode(
            tokenizer,
            record["messages"],
            config.max_length,
            config.loss_on,
            truncate=config.truncation == "truncate",
        )
        if encoded is None:
            counts["dropped_too_long"] += 1
            continue
        counts["truncated"] += encoded.truncated
        rows.append({"input_ids": encoded.input_ids, "labels": encoded.labels})
    return rows, counts


def _git_commit(root: Path) -> str | None:
    try:
        out = subprocess.run(
            ["git", "rev-parse", "HEAD"], cwd=root, capture_output=True, text=True, check=True
        )
    except (OSError, subprocess.CalledProcessError):
        return None
    return out.stdout.strip() or None


def build_model(base: BaseModel, config: TrainConfig, dtype: torch.dtype) -> tuple[Any, Any]:
    from peft import LoraConfig, get_peft_model
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
    lora = LoraConfig(
        r=config.lora_r,
        lora_alpha=config.lora_alpha,
        lora_dropout=config.lora_dropout,
        target_modules=config.target_modules,
        use_dora=config.method == "dora",
        task_type="CAUSAL_LM",
    )
    return get_peft_model(model, lora), tokenizer


def new_run_id(config: ProjectConfig, dataset_version: str) -> str:
    stamp = datetime.now(UTC).strftime("%Y%m%d-%H%M%S")
    return f"{config.data.name}-{dataset_version}-{config.train.method}-{stamp}"


def train(
    workspace: Workspace,
    config: ProjectConfig,
    resume: str | None = None,
    on_progress: Callable[[int, int, dict[str, float]], None] | None = None,
) -> TrainResult:
    """Fine-tune; with `resume`, continue that run from its last complete checkpoint."""
    from transformers import DataCollatorForSeq2Seq, EarlyStoppingCallback, TrainingArguments

    from tunesmith.train.trainer import SelectiveHeadTrainer

    if resume:
        run_dir = workspace.runs_dir / resume
        if not (run_dir / "config.yaml").is_file():
            raise TrainInputError(f"run '{resume}' not found in {workspace.runs_dir}")
        if (run_dir / "summary.json").is_file():
            raise TrainInputError(f"run '{resume}' already finished; start a new run instead")
        config = ProjectConfig.model_validate(yaml.safe_load((run_dir / "config.yaml").read_text()))
        version = json.loads((run_dir / "lineage.json").read_text())["dataset"]["version"]
        run_id = resume
    else:
        version = config.train.dataset
    tc = config.train
    dataset_path, manifest = resolve_dataset(workspace, config.data.name, version)
    version = manifest["version"]
    if not resume:
        run_id = new_run_id(config, version)
        run_dir = workspace.runs_dir / run_id
        run_dir.mkdir(parents=True)
        (run_dir / "config.yaml").write_text(
            yaml.safe_dump(config.model_dump(mode="json"), sort_keys=False)
        )
    hw = hardware()
    dtype = torch.bfloat16 if hw["bf16"] else torch.float32
    base = resolve_base_model(config.base_model, workspace.state_dir / "models", workspace.root)
    model, tokenizer = build_model(base, tc, dtype)
    train_rows, train_counts = _encode_split(tokenizer, _read_split(dataset_path, "train"), tc)
    val_rows, val_counts = _encode_split(tokenizer, _read_split(dataset_path, "val"), tc)
    if not train_rows:
        raise TrainInputError(f"{dataset_path}/train.jsonl: no usable training sequences")
    lineage = {
        "run_id": run_id,
        "dataset": {
            "name": config.data.name,
            "version": version,
            "path": str(dataset_path.relative_to(workspace.root)),
            "files": {n: f["sha256"] for n, f in manifest["files"].items()},
        },
        "base_model": {
            **base.to_json(),
            "quantization": "nf4-double-quant" if tc.method == "qlora" else None,
            "weight_bytes_in_memory": weight_bytes(model),
        },
        "tunesmith_version": __version__,
        "git_commit": _git_commit(workspace.root),
        "seed": tc.seed,
        "hardware": {**hw, "torch": torch.__version__, "threads": torch.get_num_threads()},
        "counts": {"train": train_counts, "val": val_counts},
    }
    (run_dir / "lineage.json").write_text(json.dumps(lineage, indent=2) + "\n")

    tracker = Tracker(workspace.state_dir, config.project, run_id)
    tracker.log_params(
        {**tc.model_dump(), "base_model": base.name, "dataset": f"{config.data.name}/{version}"}
    )
    tracker.log_dataset(
        f"{config.data.name}/{version}",
        manifest["fingerprint"],
        dataset_path.resolve().as_uri(),
    )
    checkpoints = run_dir / "checkpoints"
    has_val = bool(val_rows)
    args = TrainingArguments(
        output_dir=str(checkpoints),
        per_device_train_batch_size=tc.batch_size,
        per_device_eval_batch_size=tc.batch_size,
        gradient_accumulation_steps=tc.grad_accum,
        learning_rate=tc.learning_rate,
        num_train_epochs=tc.epochs,
        max_steps=tc.max_steps or -1,
        warmup_steps=tc.warmup_ratio,  # a float below 1 is a ratio of all steps
        lr_scheduler_type=tc.scheduler,
        weight_decay=tc.weight_decay,
        seed=tc.seed,
        data_seed=tc.seed,
        logging_steps=tc.logging_steps,
        eval_strategy="steps" if has_val else "no",
        eval_steps=tc.eval_steps,
        save_strategy="steps",
        save_steps=tc.save_steps,
        save_total_limit=2,  # the best and the latest; with fewer, a crash could leave none
        load_best_model_at_end=has_val,
        metric_for_best_model="eval_loss",
        greater_is_better=False,
        train_sampling_strategy="group_by_length",
        bf16=hw["bf16"],
        use_cpu=hw["device"] == "cpu",
        report_to="none",
        disable_tqdm=True,
        remove_unused_columns=False,
        dataloader_num_workers=0,
    )
    guard = DivergenceGuard()
    trainer = SelectiveHeadTrainer(
        model=model,
        args=args,
        train_dataset=_as_dataset(train_rows),
        eval_dataset=_as_dataset(val_rows) if has_val else None,
        data_collator=DataCollatorForSeq2Seq(tokenizer, padding=True, label_pad_token_id=-100),
        callbacks=[guard, CompleteMarker()],
    )

    def report(metrics: dict[str, float], step: int) -> None:
        tracker.log_metrics(metrics, step)
        if on_progress:
            on_progress(step, trainer.state.max_steps, metrics)

    writer = MetricsWriter(run_dir / "metrics.jsonl", lambda: trainer.real_tokens, report)
    trainer.add_callback(writer)
    if has_val and tc.early_stopping_patience:
        trainer.add_callback(EarlyStoppingCallback(tc.early_stopping_patience))
    checkpoint = latest_complete_checkpoint(checkpoints) if resume else None
    if resume:
        _forget_metrics_after(
            run_dir / "metrics.jsonl", int(checkpoint.name[11:]) if checkpoint else 0
        )
    try:
        started = time.perf_counter()
        trainer.train(resume_from_checkpoint=str(checkpoint) if checkpoint else None)
        train_seconds = time.perf_counter() - started
    except OSError as err:
        tracker.end("FAILED")
        if err.errno != errno.ENOSPC:
            raise
        removed = drop_incomplete_checkpoints(checkpoints)
        good = latest_complete_checkpoint(checkpoints)
        kept = f"{good.name} kept" if good else "no complete checkpoint yet"
        raise CheckpointWriteError(
            f"disk full while writing {', '.join(removed) or 'a checkpoint'} in {checkpoints} "
            f"(removed); {kept}. Free space, then: tunesmith train --resume {run_id}"
        ) from err
    except BaseException:
        tracker.end("FAILED")
        raise
    if guard.reason:
        tracker.end("FAILED")
        raise LossDivergedError(f"{guard.reason}; last good checkpoint kept in {checkpoints}")
    adapter_dir = run_dir / "adapter"
    trainer.save_model(str(adapter_dir))
    tokenizer.save_pretrained(str(adapter_dir))
    plot_loss(run_dir / "metrics.jsonl", run_dir / "loss.png")
    best = trainer.state.best_metric
    stopped_early = trainer.state.global_step < trainer.state.max_steps
    summary = {
        "steps": trainer.state.global_step,
        "best_val_loss": best,
        "stopped_early": stopped_early,
        # this process's share when resumed: tokens and seconds since the resume
        "train_seconds": round(train_seconds, 2),
        "real_tokens": trainer.real_tokens,
        "real_tokens_per_s": round(trainer.real_tokens / max(train_seconds, 1e-9), 1),
        "padding_share": round(1 - trainer.real_tokens / max(trainer.batch_positions, 1), 4),
    }
    (run_dir / "summary.json").write_text(json.dumps(summary, indent=2) + "\n")
    tracker.log_artifacts(adapter_dir, "adapter")
    tracker.log_files(
        [
            run_dir / n
            for n in ("metrics.jsonl", "loss.png", "lineage.json", "config.yaml", "summary.json")
        ]
    )
    tracker.end()
    return TrainResult(
        run_id, run_dir, trainer.state.global_step, best, stopped_early, train_counts
    )


def _as_dataset(rows: list[dict[str, list[int]]]) -> Any:
    from datasets import Dataset

    return Dataset.from_list([{**r, "length": len(r["input_ids"])} for r in rows])


def _forget_metrics_after(path: Path, step: int) -> None:
    """Drop lines logged after the checkpoint a resume starts from; they will be logged again."""
    if not path.is_file():
        return
    lines = path.read_text(encoding="utf-8").splitlines()
    kept = [line for line in lines if line and json.loads(line)["step"] <= step]
    staging = path.with_suffix(".jsonl.tmp")
    staging.write_text("".join(line + "\n" for line in kept), encoding="utf-8")
    staging.replace(path)
