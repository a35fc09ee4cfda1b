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
from transformers import PrinterCallback

from tunesmith.config import ProjectConfig
from tunesmith.config.align import AlignConfig
from tunesmith.config.workspace import Workspace
from tunesmith.data.curate import pseudonym_key
from tunesmith.data.pii import PiiMasker
from tunesmith.models.base import BaseModelError, weights_digest
from tunesmith.models.hardware import hardware
from tunesmith.models.run_model import RunModelError, finished_run
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
from tunesmith.store.tracking import Tracker
from tunesmith.train.align_trainer import MetricsLog, build_trainer, replay_rows
from tunesmith.train.callbacks import (
    CompleteMarker,
    forget_metrics_after,
    fsync_tree,
    latest_complete_checkpoint,
)
from tunesmith.train.lineage import build_lineage
from tunesmith.train.logps import preference_margins
from tunesmith.train.run import build_model, new_run_id

ALIGN_FILE = "align.json"


@dataclass(frozen=True)
class AlignResult:
    run_id: str
    path: Path
    steps: int
    counts: dict[str, int]
    margins_before: dict[str, float]
    margins_after: dict[str, float]


def align(
    workspace: Workspace,
    config: ProjectConfig,
    sft_run: str | None,
    pair_files: list[Path],
    resume: str | None = None,
    on_progress: Callable[[int, int, dict[str, float]], None] | None = None,
    review_files: list[Path] | None = None,
) -> AlignResult:
    """Preference-tune `sft_run`'s adapter on the pairs of `pair_files`; with `resume`,
    continue that run on the very pairs it started with (its `pairs/` folder). Pairs of
    `review_files` (human decisions) are trained on except the `judge_holdout` share."""
    settings, record = config.align, None
    if resume:
        record = _resumable(workspace, resume)
        sft_run, settings = record["sft_run"], AlignConfig.model_validate(record["align"])
    if not sft_run:
        raise PreferenceInputError("name the SFT run to align (--sft RUN)")
    if settings.replay_ratio and settings.method == "dpo" and not settings.sft_weight:
        raise PreferenceInputError("align.replay_ratio trains by the NLL term: set sft_weight > 0")
    try:
        sft_dir, sft_lineage, sft_method = finished_run(workspace, sft_run)
    except RunModelError as err:
        raise PreferenceInputError(str(err)) from None
    if sft_method == "full":
        raise PreferenceInputError(f"run '{sft_run}' trained all weights; align tunes an adapter")
    sft_config = ProjectConfig.model_validate(yaml.safe_load((sft_dir / "config.yaml").read_text()))
    base = _sft_base(sft_config, sft_lineage, workspace)
    if resume:
        run_id, run_dir = resume, workspace.runs_dir / resume
        train_pairs, val_pairs = (
            _read_jsonl(run_dir / "pairs" / f"{n}.jsonl") for n in ("train", "val")
        )
        lineage = json.loads((run_dir / "lineage.json").read_text())
    else:
        run_id = new_run_id(
            sft_config.model_copy(
                update={"train": sft_config.train.model_copy(update={"method": settings.method})}
            ),
            sft_lineage["dataset"]["version"],
        )
        run_dir = workspace.runs_dir / run_id
        train_pairs, val_pairs, lineage = _new_run(
            workspace,
            sft_config,
            settings,
            sft_run,
            sft_dir,
            sft_lineage,
            [*pair_files, *(review_files or [])],
            run_dir,
            review_files or [],
        )
    counts = lineage["preferences"]["counts"]
    replay, replay_record = _replay(workspace, settings, sft_lineage, len(train_pairs))
    hw = hardware()
    dtype = torch.bfloat16 if hw["bf16"] else torch.float32
    model, tokenizer = build_model(base, sft_config.train, dtype, sft_dir / "adapter")
    tracker = Tracker(workspace.state_dir, sft_config.project, run_id)
    tracker.log_params(
        {
            **settings.model_dump(exclude={"judge", "rubric", "sampling"}),
            "sft_run": sft_run,
            "pairs_train": len(train_pairs),
            "replay_rows": len(replay),
        }
    )
    trainer = build_trainer(model, tokenizer, settings, run_dir, train_pairs, val_pairs, hw, replay)
    # on the trainer's model: it is on the training device; before training, with the
    # reference a copy of the SFT adapter, these are the SFT model's margins
    before = {
        "train": preference_margins(trainer.model, tokenizer, train_pairs),
        "val": preference_margins(trainer.model, tokenizer, val_pairs),
    }

    def report(values: dict[str, float], step: int) -> None:
        tracker.log_metrics({k.replace("/", "_"): v for k, v in values.items()}, step)
        if on_progress:
            on_progress(step, trainer.state.max_steps, values)

    trainer.remove_callback(PrinterCallback)  # metrics go to metrics.jsonl and the progress bar
    trainer.add_callback(MetricsLog(run_dir / "metrics.jsonl", report))
    trainer.add_callback(CompleteMarker())
    checkpoint = latest_complete_checkpoint(run_dir / "checkpoints") if resume else None
    if resume:
        forget_metrics_after(
            run_dir / "metrics.jsonl", int(checkpoint.name[11:]) if checkpoint else 0
        )
    try:
        started = time.perf_counter()
        trainer.train(resume_from_checkpoint=str(checkpoint) if checkpoint else None)
        seconds = time.perf_counter() - started
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
            "replay": replay_record,
            "margins_before": before,
            "margins_after": after,
            "final_loss": _last(trainer.state.log_history, "train_loss"),
        }
        audit.append(
            audit.audit_path(workspace.state_dir),
            "align",
            run_id,
            inputs={
                **{
                    f"preferences/{n}": s["sha256"]
                    for n, s in lineage["preferences"]["sources"].items()
                },
                f"run/{sft_run}/adapter_model.safetensors": lineage["init_adapter"]["sha256"],
                **({replay_record["source"]: replay_record["sha256"]} if replay else {}),
            },
            outputs={f.name: sha256_file(f) for f in sorted(adapter_dir.glob("*.safetensors"))},
            details={"method": settings.method, "steps": summary["steps"], "pairs": counts},
        )
    except BaseException:
        tracker.end("FAILED")  # no summary.json yet: the run can be resumed
        raise
    # summary.json marks the run finished: the adapter is on disk first, the marker whole or absent
    fsync_tree(adapter_dir)
    write_atomic(run_dir / "summary.json", (json.dumps(summary, indent=2) + "\n").encode())
    tracker.log_artifacts(adapter_dir, "adapter")
    tracker.log_files([run_dir / n for n in ("metrics.jsonl", "lineage.json", "summary.json")])
    tracker.end()
    return AlignResult(run_id, run_dir, summary["steps"], counts, before["train"], after["train"])


def _resumable(workspace: Workspace, run_id: str) -> dict[str, Any]:
    run_dir = workspace.runs_dir / run_id
    if not (run_dir / ALIGN_FILE).is_file():
        raise PreferenceInputError(f"run '{run_id}' is not an align run in {workspace.runs_dir}")
    if (run_dir / "summary.json").is_file():
        raise PreferenceInputError(f"run '{run_id}' already finished; start a new run")
    return json.loads((run_dir / ALIGN_FILE).read_text(encoding="utf-8"))


def _new_run(
    workspace: Workspace,
    sft_config: ProjectConfig,
    settings: AlignConfig,
    sft_run: str,
    sft_dir: Path,
    sft_lineage: dict[str, Any],
    pair_files: list[Path],
    run_dir: Path,
    review_files: list[Path],
) -> tuple[list[dict[str, Any]], list[dict[str, Any]], dict[str, Any]]:
    """Check, mask and split the pairs and write the run folder's inputs; refused inputs
    leave no folder."""
    pairs = read_pairs(pair_files, workspace.root)
    kept_back = take_held_out(pairs, review_files, workspace.root, settings.judge_holdout)
    masked = {}
    if sft_config.data.pii.enabled:
        masked = mask_pairs(pairs, PiiMasker(sft_config.data.pii, pseudonym_key(sft_config.data)))
    require_pairs(pairs)
    train_pairs, val_pairs = split_pairs(pairs.kept, settings.val_share, settings.seed)
    # held-out human pairs are neither trained on nor lost: counted apart
    counts = {
        **pairs.counts,
        "kept": len(pairs.kept),
        "held_out_for_judges": len(kept_back),
        "train": len(train_pairs),
        "val": len(val_pairs),
    }
    lineage = build_lineage(
        run_dir.name,
        sft_lineage["dataset"],
        sft_lineage["base_model"],
        settings.seed,
        {"pairs": counts},
        workspace.root,
        hardware(),
    )
    sft_weights = sft_dir / "adapter" / "adapter_model.safetensors"
    lineage["init_adapter"] = {"run_id": sft_run, "sha256": sha256_file(sft_weights)}
    lineage["preferences"] = {
        "method": settings.method,
        "sources": pairs.sources,
        "counts": counts,
        "pii_masked": masked,
    }
    (run_dir / "pairs").mkdir(parents=True)
    run_config = sft_config.model_copy(update={"align": settings})
    dumped = yaml.safe_dump(run_config.model_dump(mode="json"), sort_keys=False)
    write_atomic(run_dir / "config.yaml", dumped.encode("utf-8"))
    for name, rows in (("train", train_pairs), ("val", val_pairs)):
        write_jsonl(run_dir / "pairs" / f"{name}.jsonl", rows)
    write_jsonl(run_dir / "pairs" / "quarantine.jsonl", pairs.quarantined)
    write_atomic(run_dir / "lineage.json", (json.dumps(lineage, indent=2) + "\n").encode())
    # written last: a folder with align.json has all its inputs, so --resume can trust it
    fsync_tree(run_dir / "pairs")
    marker = {"sft_run": sft_run, "sources": list(pairs.sources), "align": settings.model_dump()}
    write_atomic(run_dir / ALIGN_FILE, (json.dumps(marker, indent=2) + "\n").encode())
    return train_pairs, val_pairs, lineage


def _replay(
    workspace: Workspace, settings: AlignConfig, sft_lineage: dict[str, Any], pairs: int
) -> tuple[list[dict[str, Any]], dict[str, Any] | None]:
    """The SFT training records replayed beside the pairs, and what names them; the split
    must be the one the SFT run trained on."""
    count = round(settings.replay_ratio * pairs)
    if count == 0:
        return [], None
    dataset = sft_lineage["dataset"]
    source = f"{dataset['path']}/train.jsonl"
    path = workspace.root / source
    recorded = dataset["files"]["train.jsonl"]
    if not path.is_file() or sha256_file(path) != recorded:
        raise PreferenceInputError(f"{path}: not the train split the SFT run trained on")
    rows = replay_rows(path, count, settings.seed)
    return rows, {"rows": len(rows), "source": source, "sha256": recorded}


def _read_jsonl(path: Path) -> list[dict[str, Any]]:
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line]


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


def _last(history: list[dict[str, Any]], key: str) -> float | None:
    values = [h[key] for h in history if key in h and math.isfinite(h[key])]
    return values[-1] if values else None
