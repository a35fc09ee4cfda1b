"""Trainer callbacks: metrics.jsonl with real tokens/s, NaN guard, complete-checkpoint markers."""

from __future__ import annotations

import json
import math
import os
import shutil
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from transformers import TrainerCallback, TrainerControl, TrainerState, TrainingArguments

from tunesmith.store.files import fsync_dir, write_atomic

COMPLETE_MARKER = "COMPLETE"


class LossDivergedError(RuntimeError):
    """Training produced a non-finite or exploding loss; the last good checkpoint stays."""


class MetricsWriter(TrainerCallback):
    """Appends one JSON line per log event: step, train/val loss, lr, real tokens/s."""

    def __init__(
        self,
        path: Path,
        real_tokens: Callable[[], int],
        on_metrics: Callable[[dict[str, float], int], None] | None = None,
    ) -> None:
        self.path = path
        self.real_tokens = real_tokens
        self.on_metrics = on_metrics
        self._last_time = time.perf_counter()
        self._last_tokens = 0

    def on_train_begin(
        self,
        args: TrainingArguments,
        state: TrainerState,
        control: TrainerControl,
        **kwargs: Any,
    ) -> None:
        # tokens/s counts training only, not the base model's evaluation or checkpoint loading
        self._last_time, self._last_tokens = time.perf_counter(), self.real_tokens()

    def on_log(
        self,
        args: TrainingArguments,
        state: TrainerState,
        control: TrainerControl,
        logs: dict[str, Any] | None = None,
        **kwargs: Any,
    ) -> None:
        if not logs:
            return
        record: dict[str, float] = {"step": state.global_step}
        now, tokens = time.perf_counter(), self.real_tokens()
        if "loss" in logs:
            record["train_loss"] = float(logs["loss"])
            elapsed = max(now - self._last_time, 1e-9)
            record["tokens_per_s"] = round((tokens - self._last_tokens) / elapsed, 1)
            self._last_time, self._last_tokens = now, tokens
        if "eval_loss" in logs:
            record["val_loss"] = float(logs["eval_loss"])
        if "learning_rate" in logs:
            record["lr"] = float(logs["learning_rate"])
        if len(record) == 1:
            return
        with self.path.open("a", encoding="utf-8") as handle:
            handle.write(json.dumps(record) + "\n")
        if self.on_metrics:
            self.on_metrics({k: v for k, v in record.items() if k != "step"}, state.global_step)


class DivergenceGuard(TrainerCallback):
    """Stops on NaN/inf loss or a loss far above the best seen, before saving anything."""

    def __init__(self, explode_factor: float = 20.0) -> None:
        self.explode_factor = explode_factor
        self.best = math.inf
        self.reason: str | None = None

    def on_log(
        self,
        args: TrainingArguments,
        state: TrainerState,
        control: TrainerControl,
        logs: dict[str, Any] | None = None,
        **kwargs: Any,
    ) -> None:
        loss = (logs or {}).get("loss")
        if loss is None:
            return
        if not math.isfinite(loss):
            self.reason = f"loss is {loss} at step {state.global_step}"
        elif loss > self.explode_factor * self.best and self.best < math.inf:
            self.reason = (
                f"loss exploded to {loss:.3g} at step {state.global_step} (best {self.best:.3g})"
            )
        else:
            self.best = min(self.best, loss)
            return
        control.should_training_stop = True
        control.should_save = False


def fsync_tree(folder: Path) -> None:
    """Flush every file under `folder`, then the folders themselves, to disk: a marker written
    after this cannot reach the disk before the data it vouches for (a power cut otherwise can
    leave the marker beside empty or torn files)."""
    for path in sorted(folder.rglob("*")):
        if path.is_file():
            fd = os.open(path, os.O_RDONLY)
            try:
                os.fsync(fd)
            finally:
                os.close(fd)
    for path in sorted((p for p in folder.rglob("*") if p.is_dir()), reverse=True):
        fsync_dir(path)
    fsync_dir(folder)
    fsync_dir(folder.parent)


class CompleteMarker(TrainerCallback):
    """Marks a checkpoint folder complete only after the Trainer has written all of it.

    The Trainer writes checkpoints in place; resume only trusts folders carrying the marker,
    so a run killed mid-save resumes from the previous complete checkpoint. The checkpoint's
    files are on disk before the marker is, and the marker is whole or absent.
    """

    def on_save(
        self,
        args: TrainingArguments,
        state: TrainerState,
        control: TrainerControl,
        **kwargs: Any,
    ) -> None:
        folder = Path(args.output_dir) / f"checkpoint-{state.global_step}"
        if folder.is_dir():
            fsync_tree(folder)
            write_atomic(folder / COMPLETE_MARKER, str(state.global_step).encode())


def latest_complete_checkpoint(folder: Path) -> Path | None:
    """The newest checkpoint with its marker; incomplete ones are ignored."""
    candidates = [
        p
        for p in folder.glob("checkpoint-*")
        if (p / COMPLETE_MARKER).is_file() and p.name[11:].isdigit()
    ]
    return max(candidates, key=lambda p: int(p.name[11:]), default=None)


def drop_incomplete_checkpoints(folder: Path) -> list[str]:
    """Remove checkpoint folders without the marker (a save that failed); returns their names."""
    removed = []
    for path in sorted(folder.glob("checkpoint-*")):
        if path.is_dir() and not (path / COMPLETE_MARKER).is_file():
            shutil.rmtree(path, ignore_errors=True)
            removed.append(path.name)
    return removed


def forget_metrics_after(path: Path, step: int) -> None:
    """Drop lines logged after the checkpoint a resume starts from; they will be logged again."""
    if not path.is_file():
        return
    kept = [json.dumps(r) for r in read_metrics(path) if r["step"] <= step]
    write_atomic(path, "".join(line + "\n" for line in kept).encode("utf-8"))


def val_loss_at_step_0(path: Path) -> float | None:
    for record in read_metrics(path):
        if record["step"] == 0 and "val_loss" in record:
            return float(record["val_loss"])
    return None


def read_metrics(path: Path) -> list[dict[str, Any]]:
    """metrics.jsonl's records; a line torn by a crash mid-append is skipped, not fatal."""
    records = []
    for line in path.read_text(encoding="utf-8").splitlines() if path.is_file() else []:
        try:
            records.append(json.loads(line))
        except json.JSONDecodeError:
            continue
    return records
