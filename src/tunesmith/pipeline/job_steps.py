"""The steps every bundled example's job shares: a workspace from the example, curate, the
base model, train, register (approved by simulated approvers, promoted), an app's API key."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import yaml

from tunesmith.config import ProjectConfig
from tunesmith.config.workspace import Workspace
from tunesmith.pipeline.stage_rows import StageRow, TimedRows

if TYPE_CHECKING:
    from tunesmith.data.curate import CurateResult
    from tunesmith.train.run import TrainResult

Say = Callable[[str], None]
Bar = Callable[[str, int], Callable[[int], None]]  # (description, total) -> advance


@dataclass(frozen=True)
class JobSettings:
    normal_requests: int = 60  # fresh tickets like the training data
    drifted_requests: int = 50  # tickets about a product line training never saw
    fresh_requests: int = 16  # new-product tickets sent to the new champion at the end
    max_tokens: int = 16  # the queue line and the reply's opening: what routing needs
    # while the loop retrains, one short request this often (it shares the 2 cores with
    # training: every 10 s with 16 tokens made the whole job 3 minutes longer)
    trickle_seconds: float = 30.0
    trickle_tokens: int = 4
    seed: int = 11


def override_config(config_path: Path, sections: dict[str, dict[str, Any]]) -> None:
    """Merge `sections` into the example's tunesmith.yaml (another base model, smaller runs)."""
    raw = yaml.safe_load(config_path.read_text(encoding="utf-8"))
    for name, values in sections.items():
        raw[name] = {**raw.get(name, {}), **values}
    config_path.write_text(yaml.safe_dump(raw, sort_keys=False), encoding="utf-8")


@dataclass(frozen=True)
class Job:
    """What every stage step needs: the workspace, its config, the settings and the output."""

    ws: Workspace
    config: ProjectConfig
    settings: JobSettings
    say: Say
    bar: Bar
    rows: TimedRows
    name: str  # the registry model name the job registers, serves and retrains


def init_job(
    root: Path,
    example: str,
    say: Say,
    bar: Bar,
    settings: JobSettings,
    overrides: dict[str, dict[str, Any]] | None,
    raw_rows: int = 600,
) -> Job:
    """A new workspace from the bundled example (`raw_rows` generated records), its
    tunesmith.yaml merged with `overrides`."""
    from tunesmith.examples.scaffold import create_workspace
    from tunesmith.registry import default_name

    rows = TimedRows()
    ws = Workspace(create_workspace(root, example, rows=raw_rows).resolve())
    if overrides:
        override_config(ws.config_path, overrides)
    config = ws.load_config()
    job = Job(ws, config, settings, say, bar, rows, default_name(config))
    rows.append(StageRow("init", f"workspace from example '{example}'", "", str(ws.root)))
    return job


def curate_step(job: Job) -> CurateResult:
    """The example's raw tickets curated into the first dataset version."""
    from tunesmith.data.curate import curate

    job.say("curate")
    data = curate(job.ws, job.config.data)
    counts = data.manifest["counts"]
    pii = sum(data.manifest["pii_found"].values())  # type: ignore[attr-defined]
    job.rows.append(
        StageRow(
            "curate",
            f"{counts['read']} rows read, {counts['kept']} kept, {pii} PII values masked",
            f"reconciles: {counts['reconciles']}",
            str(data.path / "report.md"),
        )
    )
    return data


def import_base_model(job: Job) -> None:
    """The base model into the workspace's model store (no row: train's time includes it)."""
    from tunesmith.models.base import resolve_base_model

    job.say("import the base model")
    resolve_base_model(job.config.base_model, job.ws.state_dir / "models", job.ws.root)


def train_step(job: Job, dataset_version: str) -> TrainResult:
    """The first adapter, with a progress bar of its steps."""
    from tunesmith.train.run import train

    config = job.config
    advance = job.bar("train", config.train.max_steps or 0)
    run = train(job.ws, config, on_progress=lambda step, _total, _m: advance(1))
    job.rows.append(
        StageRow(
            "train",
            f"{config.train.method} on {dataset_version}, {run.steps} steps",
            f"val loss {run.val_loss_before:.3f} → {run.best_val_loss:.3f}",
            f"runs/{run.run_id}/loss.png",
        )
    )
    return run


def register_step(job: Job, run_id: str) -> None:
    """Registered, approved by simulated approvers, promoted to champion, documents written."""
    from tunesmith.governance.documents import resolve_ref, write_documents
    from tunesmith.pipeline.approvers import simulated_approvals
    from tunesmith.registry import promote, register

    ws, config = job.ws, job.config
    version = register(ws, run_id, job.name).version
    # four eyes counts authenticated actors: the job's are approver keys made for it, audited
    simulated_approvals(ws, version.ref, config.registry, "simulated approver of the main job")
    promote(ws, version.ref, "champion", config.registry)
    champion_run, model_version = resolve_ref(ws, f"{job.name}@champion")
    documents = write_documents(ws, champion_run, model_version)
    job.rows.append(
        StageRow(
            "register",
            f"{version.ref} approved (simulated approver), promoted; model card + Annex IV",
            "champion",
            str(documents.out_dir.relative_to(ws.root)),
        )
    )


def app_key(job: Job) -> str:
    """An API key of the simulated app, allowed the job's model."""
    from tunesmith.store.db import open_store
    from tunesmith.store.keys import create_key

    store = open_store(job.ws.state_url())
    _, app_key = create_key(store, "simulated-app", [job.name], "tunesmith run")
    return app_key
