"""A training run's folder: which run it is (new or resumed), and the files that go into it.

`config.yaml` and `lineage.json` at the start, `summary.json` (the run is finished) last, after
the adapter is on disk and the run is in the audit log.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from secrets import token_hex
from typing import Any

import yaml

from tunesmith.config import ProjectConfig, TrainConfig
from tunesmith.config.workspace import Workspace
from tunesmith.data.version import resolve_dataset
from tunesmith.models.base import BaseModel
from tunesmith.models.quantize import weight_bytes
from tunesmith.store import audit
from tunesmith.store.files import sha256_file, write_atomic
from tunesmith.store.tracking import Tracker
from tunesmith.train.callbacks import fsync_tree, val_loss_at_step_0
from tunesmith.train.dataset import TrainInputError
from tunesmith.train.lineage import build_lineage


@dataclass(frozen=True)
class RunInputs:
    """Which run this is and the dataset version it trains on."""

    config: ProjectConfig  # a resumed run's own config.yaml, not the workspace's
    run_id: str
    run_dir: Path
    dataset_path: Path
    manifest: dict[str, Any]
    resumed: bool

    @property
    def version(self) -> str:
        return self.manifest["version"]


def new_run_id(config: ProjectConfig, dataset_version: str) -> str:
    stamp = datetime.now(UTC).strftime("%Y%m%d-%H%M%S")
    # the suffix keeps two runs started in the same second apart
    return f"{config.data.name}-{dataset_version}-{config.train.method}-{stamp}-{token_hex(2)}"


def open_run(
    workspace: Workspace, config: ProjectConfig, resume: str | None, run_id: str | None
) -> RunInputs:
    """A new run of `config`, or the unfinished run `resume` with its own config and data."""
    if resume:
        run_dir = workspace.runs_dir / resume
        if not (run_dir / "config.yaml").is_file():
            raise TrainInputError(f"run '{resume}' not found in {workspace.runs_dir}")
        if (run_dir / "summary.json").is_file():
            raise TrainInputError(f"run '{resume}' already finished; start a new run instead")
        config = ProjectConfig.model_validate(yaml.safe_load((run_dir / "config.yaml").read_text()))
        version = json.loads((run_dir / "lineage.json").read_text())["dataset"]["version"]
    else:
        version = config.train.dataset
    dataset_path, manifest = resolve_dataset(workspace, config.data.name, version)
    run_id = resume or run_id or new_run_id(config, manifest["version"])
    run_dir = workspace.runs_dir / run_id
    return RunInputs(config, run_id, run_dir, dataset_path, manifest, bool(resume))


def init_adapter_dir(workspace: Workspace, tc: TrainConfig) -> Path | None:
    """The adapter of `train.init_adapter`'s run, to train further; None for a fresh one."""
    if tc.init_adapter is None:
        return None
    if tc.method == "full":
        raise TrainInputError("train.init_adapter continues an adapter; method 'full' has none")
    init_dir = workspace.runs_dir / tc.init_adapter / "adapter"
    if not (init_dir / "adapter_config.json").is_file():
        raise TrainInputError(f"train.init_adapter: no adapter in {init_dir}")
    return init_dir


def run_lineage(
    workspace: Workspace,
    run: RunInputs,
    base: BaseModel,
    model: Any,
    counts: dict[str, dict[str, int]],
    hw: dict[str, Any],
    init_dir: Path | None,
) -> dict[str, Any]:
    """lineage.json: the data version and digests, the base weights, seed, counts, hardware."""
    config, tc = run.config, run.config.train
    lineage = build_lineage(
        run.run_id,
        {
            "name": config.data.name,
            "version": run.version,
            "path": str(run.dataset_path.relative_to(workspace.root)),
            "files": {n: f["sha256"] for n, f in run.manifest["files"].items()},
        },
        {
            **base.to_json(),
            "quantization": "nf4-double-quant" if tc.method == "qlora" else None,
            "weight_bytes_in_memory": weight_bytes(model),
        },
        tc.seed,
        counts,
        workspace.root,
        hw,
    )
    if init_dir is not None:  # this run's weights descend from another run's
        weights = init_dir / "adapter_model.safetensors"
        lineage["init_adapter"] = {"run_id": tc.init_adapter, "sha256": sha256_file(weights)}
    return lineage


def start_run_dir(
    workspace: Workspace, run: RunInputs, lineage: dict[str, Any], base: BaseModel
) -> Tracker:
    """config.yaml (a new run), lineage.json and the run's tracking, with its params and data."""
    config, run_dir, version = run.config, run.run_dir, run.version
    if not run.resumed:  # only now: a run refused for its inputs leaves no folder
        run_dir.mkdir(parents=True)
        dumped = yaml.safe_dump(config.model_dump(mode="json"), sort_keys=False)
        write_atomic(run_dir / "config.yaml", dumped.encode("utf-8"))
    write_atomic(run_dir / "lineage.json", (json.dumps(lineage, indent=2) + "\n").encode())
    tracker = Tracker(workspace.state_dir, config.project, run.run_id)
    tracker.log_params(
        {
            **config.train.model_dump(),
            "base_model": base.name,
            "dataset": f"{config.data.name}/{version}",
        }
    )
    tracker.log_dataset(
        f"{config.data.name}/{version}",
        run.manifest["fingerprint"],
        run.dataset_path.resolve().as_uri(),
    )
    return tracker


def finish_run(
    workspace: Workspace,
    run: RunInputs,
    lineage: dict[str, Any],
    base: BaseModel,
    summary: dict[str, Any],
    tracker: Tracker,
) -> None:
    """The audit entry, then summary.json (the run is finished), then the files to tracking."""
    run_dir = run.run_dir
    adapter_dir = run_dir / "adapter"
    try:
        _record_in_audit_log(workspace, run, lineage, base, adapter_dir, summary)
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


def run_summary(trainer: Any, run_dir: Path, train_seconds: float) -> dict[str, Any]:
    """summary.json: steps, val loss before and best, throughput and padding share."""
    state = trainer.state
    return {
        "steps": state.global_step,
        "val_loss_before": val_loss_at_step_0(run_dir / "metrics.jsonl"),
        "best_val_loss": state.best_metric,
        "stopped_early": state.global_step < state.max_steps,
        # this process's share when resumed: tokens and seconds since the resume
        "train_seconds": round(train_seconds, 2),
        "real_tokens": trainer.real_tokens,
        "real_tokens_per_s": round(trainer.real_tokens / max(train_seconds, 1e-9), 1),
        "padding_share": round(1 - trainer.real_tokens / max(trainer.batch_positions, 1), 4),
    }


def _record_in_audit_log(
    workspace: Workspace,
    run: RunInputs,
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
        run.run_id,
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
            "method": run.config.train.method,
            "steps": summary["steps"],
            "best_val_loss": best if best is not None and math.isfinite(best) else None,
        },
    )
