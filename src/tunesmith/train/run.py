"""`tunesmith train`: a dataset version and a base model in, a PEFT adapter run folder out."""

from __future__ import annotations

import errno
import json
import math
import os
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from secrets import token_hex
from typing import Any

import torch
import yaml

from tunesmith.config import ProjectConfig, TrainConfig
from tunesmith.config.workspace import Workspace
from tunesmith.data.version import read_split, resolve_dataset
from tunesmith.models.base import BaseModel, resolve_base_model
from tunesmith.models.hardware import hardware
from tunesmith.models.quantize import quantize_linear_weights, weight_bytes
from tunesmith.store import audit
from tunesmith.store.files import sha256_file, write_atomic
from tunesmith.store.tracking import Tracker
from tunesmith.train.callbacks import (
    CompleteMarker,
    DivergenceGuard,
    LossDivergedError,
    MetricsWriter,
    drop_incomplete_checkpoints,
    forget_metrics_after,
    fsync_tree,
    latest_complete_checkpoint,
    val_loss_at_step_0,
)
from tunesmith.train.dataset import TrainInputError, as_dataset, encode_split, upsample_reviewed
from tunesmith.train.lineage import build_lineage
from tunesmith.train.plots import plot_loss


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


def new_run_id(config: ProjectConfig, dataset_version: str) -> str:
    stamp = datetime.now(UTC).strftime("%Y%m%d-%H%M%S")
    # the suffix keeps two runs started in the same second apart
    return f"{config.data.name}-{dataset_version}-{config.train.method}-{stamp}-{token_hex(2)}"


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
    from transformers import (
        DataCollatorForSeq2Seq,
        EarlyStoppingCallback,
        PrinterCallback,
        TrainingArguments,
    )

    from tunesmith.train.trainer import CheckpointSaveError, SelectiveHeadTrainer

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
        run_id = run_id or new_run_id(config, version)
        run_dir = workspace.runs_dir / run_id
    hw = hardware()
    dtype = torch.bfloat16 if hw["bf16"] else torch.float32
    base = resolve_base_model(config.base_model, workspace.state_dir / "models", workspace.root)
    init_dir = None
    if tc.init_adapter is not None:
        if tc.method == "full":
            raise TrainInputError("train.init_adapter continues an adapter; method 'full' has none")
        init_dir = workspace.runs_dir / tc.init_adapter / "adapter"
        if not (init_dir / "adapter_config.json").is_file():
            raise TrainInputError(f"train.init_adapter: no adapter in {init_dir}")
    model, tokenizer = build_model(base, tc, dtype, init_dir)
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
    lineage = build_lineage(
        run_id,
        {
            "name": config.data.name,
            "version": version,
            "path": str(dataset_path.relative_to(workspace.root)),
            "files": {n: f["sha256"] for n, f in manifest["files"].items()},
        },
        {
            **base.to_json(),
            "quantization": "nf4-double-quant" if tc.method == "qlora" else None,
            "weight_bytes_in_memory": weight_bytes(model),
        },
        tc.seed,
        {"train": train_counts, "val": val_counts},
        workspace.root,
        hw,
    )
    if init_dir is not None:  # this run's weights descend from another run's
        weights = init_dir / "adapter_model.safetensors"
        lineage["init_adapter"] = {"run_id": tc.init_adapter, "sha256": sha256_file(weights)}
    if not resume and is_main:  # only now: a run refused for its inputs leaves no folder
        run_dir.mkdir(parents=True)
        dumped = yaml.safe_dump(config.model_dump(mode="json"), sort_keys=False)
        write_atomic(run_dir / "config.yaml", dumped.encode("utf-8"))
    tracker = None
    if is_main:
        write_atomic(run_dir / "lineage.json", (json.dumps(lineage, indent=2) + "\n").encode())
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
        logging_nan_inf_filter=False,  # the divergence guard must see a NaN, not a stand-in
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
        ddp_backend="gloo" if hw["device"] == "cpu" and _world_size() > 1 else None,
        report_to="none",
        disable_tqdm=True,
        remove_unused_columns=False,
        dataloader_num_workers=0,
    )
    if _world_size() == 1 and args.n_gpu > 1:
        # one process over several GPUs would be nn.DataParallel, which splits every tensor
        # argument (logits_to_keep too) across replicas; several GPUs are used via --nproc
        args._n_gpu = 1
    guard = DivergenceGuard()
    trainer = SelectiveHeadTrainer(
        model=model,
        args=args,
        train_dataset=as_dataset(train_rows),
        eval_dataset=as_dataset(val_rows) if has_val else None,
        data_collator=DataCollatorForSeq2Seq(tokenizer, padding=True, label_pad_token_id=-100),
        callbacks=[guard, CompleteMarker()] if is_main else [guard],
    )

    trainer.remove_callback(PrinterCallback)  # metrics go to metrics.jsonl and the progress bar

    def report(metrics: dict[str, float], step: int) -> None:
        if tracker:
            tracker.log_metrics(metrics, step)
        if on_progress:
            on_progress(step, trainer.state.max_steps, metrics)

    if is_main:
        writer = MetricsWriter(run_dir / "metrics.jsonl", lambda: trainer.real_tokens, report)
        trainer.add_callback(writer)
    if has_val and tc.early_stopping_patience:
        trainer.add_callback(EarlyStoppingCallback(tc.early_stopping_patience))
    checkpoint = latest_complete_checkpoint(checkpoints) if resume else None
    if resume and is_main:
        forget_metrics_after(
            run_dir / "metrics.jsonl", int(checkpoint.name[11:]) if checkpoint else 0
        )
    try:
        if has_val and not resume:
            # the base model's val loss, logged as step 0: the "before" number; without
            # touching the RNG, so a resumed run draws the data order of an unbroken one
            with torch.random.fork_rng(devices=[]):
                trainer.evaluate()
        started = time.perf_counter()
        trainer.train(resume_from_checkpoint=str(checkpoint) if checkpoint else None)
        train_seconds = time.perf_counter() - started
    except CheckpointSaveError as err:
        if tracker:
            tracker.end("FAILED")
        if not is_main:
            raise
        removed = drop_incomplete_checkpoints(checkpoints)
        good = latest_complete_checkpoint(checkpoints)
        kept = f"{good.name} kept" if good else "no complete checkpoint yet"
        cause = "disk full" if _disk_full(err) else f"could not write a checkpoint ({err})"
        raise CheckpointWriteError(
            f"{cause} while writing {', '.join(removed) or 'a checkpoint'} in {checkpoints} "
            f"(removed); {kept}. Free space, then: tunesmith train --resume {run_id}"
        ) from err
    except BaseException:
        if tracker:
            tracker.end("FAILED")
        raise
    if guard.reason:
        if tracker:
            tracker.end("FAILED")
        raise LossDivergedError(f"{guard.reason}; last good checkpoint kept in {checkpoints}")
    adapter_dir = run_dir / "adapter"
    trainer.save_model(str(adapter_dir))
    best = trainer.state.best_metric
    stopped_early = trainer.state.global_step < trainer.state.max_steps
    if tracker is None:  # another rank of a distributed run: rank 0 writes the results
        return TrainResult(run_id, run_dir, trainer.state.global_step, best, stopped_early, {})
    tokenizer.save_pretrained(str(adapter_dir))
    plot_loss(run_dir / "metrics.jsonl", run_dir / "loss.png")
    summary = {
        "steps": trainer.state.global_step,
        "val_loss_before": val_loss_at_step_0(run_dir / "metrics.jsonl"),
        "best_val_loss": best,
        "stopped_early": stopped_early,
        # this process's share when resumed: tokens and seconds since the resume
        "train_seconds": round(train_seconds, 2),
        "real_tokens": trainer.real_tokens,
        "real_tokens_per_s": round(trainer.real_tokens / max(train_seconds, 1e-9), 1),
        "padding_share": round(1 - trainer.real_tokens / max(trainer.batch_positions, 1), 4),
    }
    try:
        _record_in_audit_log(workspace, config, run_id, lineage, base, adapter_dir, summary)
    except BaseException:
        tracker.end("FAILED")  # no summary.json yet, so the run can be resumed
        raise
    # summary.json marks the run finished: the adapter is on disk first, the marker whole or absent
    fsync_tree(adapter_dir)
    write_atomic(run_dir / "summary.json", (json.dumps(summary, indent=2) + "\n").encode())
    tracker.log_artifacts(adapter_dir, "adapter")
    tracker.log_files(
        [
            run_dir / n
            for n in ("metrics.jsonl", "loss.png", "lineage.json", "config.yaml", "summary.json")
        ]
    )
    tracker.end()
    return TrainResult(
        run_id,
        run_dir,
        trainer.state.global_step,
        best,
        stopped_early,
        train_counts,
        summary["val_loss_before"],
    )


def _world_size() -> int:
    return int(os.environ.get("WORLD_SIZE", "1"))


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


def _record_in_audit_log(
    workspace: Workspace,
    config: ProjectConfig,
    run_id: str,
    lineage: dict[str, Any],
    base: BaseModel,
    adapter_dir: Path,
    summary: dict[str, Any],
) -> None:
    """The finished run in the audit log: the data and base weights in, the adapter out."""
    dataset = lineage["dataset"]
    best = summary["best_val_loss"]
    audit.append(
        audit.audit_path(workspace.state_dir),
        "train",
        run_id,
        inputs={
            **{
                f"{dataset['name']}/{dataset['version']}/{name}": digest
                for name, digest in dataset["files"].items()
                if name in ("train.jsonl", "val.jsonl")
            },
            f"base_model/{base.name}": base.weights_sha256,
        },
        outputs={f.name: sha256_file(f) for f in sorted(adapter_dir.glob("*.safetensors"))},
        details={
            "method": config.train.method,
            "steps": summary["steps"],
            "best_val_loss": best if best is not None and math.isfinite(best) else None,
        },
    )
