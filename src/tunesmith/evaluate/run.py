"""`tunesmith eval`: a model on held-out rows, against its champion and against prompting.

Writes `runs/<run-id>/eval/` (a `--data` file: `eval-<stem>-<sha8>/`; the base model: under
`.tunesmith/eval/`), appends an `eval` audit entry, then logs to the run's MLflow entry.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path
from typing import Any

from tunesmith import __version__
from tunesmith.config import ProjectConfig
from tunesmith.config.eval import MAIN_METRIC
from tunesmith.config.workspace import Workspace
from tunesmith.data.rows import EvalInputError, EvalRow, read_rows
from tunesmith.data.version import DatasetError, resolve_dataset
from tunesmith.evaluate import metrics as task_scores
from tunesmith.evaluate import tool_metrics
from tunesmith.evaluate.compare import compare, few_shot_examples
from tunesmith.evaluate.episodes import load_backend, read_episodes
from tunesmith.evaluate.eval_report import write_report
from tunesmith.evaluate.gates import check_gates
from tunesmith.evaluate.predict import Predictions
from tunesmith.evaluate.reward_eval import evaluate_reward
from tunesmith.evaluate.score_model import (
    ProgressFactory,
    cost,
    no_progress,
    read_val,
    score_model,
    task_metrics,
)
from tunesmith.evaluate.slices import audit_slices
from tunesmith.models.load import Target, base_of, load_model
from tunesmith.registry.references import champion_target, resolve_target
from tunesmith.store import audit
from tunesmith.store.clock import utc_timestamp
from tunesmith.store.files import sha256_file
from tunesmith.store.runs import is_reward_run


@dataclass(frozen=True)
class EvalResult:
    report: dict[str, Any]
    out_dir: Path
    files: list[Path]
    warnings: list[str] = field(default_factory=list)

    @property
    def passed(self) -> bool | None:
        return self.report["passed"]


def _dataset(ws: Workspace, config: ProjectConfig, target: Target) -> tuple[Path, dict[str, Any]]:
    name, version = target.dataset or (config.data.name, config.train.dataset)
    try:
        return resolve_dataset(ws, name, version)
    except DatasetError as err:
        raise EvalInputError(str(err)) from None


def _out_dir(ws: Workspace, target: Target, data: dict[str, Any], data_file: Path | None) -> Path:
    # two data files of the same name must not share a report
    stem = None if data_file is None else f"{data_file.stem}-{data['sha256'][:8]}"
    folder = "eval" if stem is None else f"eval-{stem}"
    if target.run_id is not None:
        return ws.runs_dir / target.run_id / folder
    name = target.base_record.get("name", "base")
    suffix = f"{data['dataset']}-{data['version']}" if data_file is None else folder
    return ws.state_dir / "eval" / f"{name}-{suffix}"


def _predictions(rows: list[EvalRow], preds: Predictions) -> list[dict[str, Any]]:
    """Per row: id, gold and predicted label, margin, a tool turn's called names and whether
    it was right; never the text (it may hold PII)."""
    out = []
    for i, row in enumerate(rows):
        entry: dict[str, Any] = {"id": row.id}
        if row.tools is not None:
            entry |= {"category": row.meta.get("category")}
            entry |= tool_metrics.row_outcome(row.tools, row.reference, preds.answers[i])
        if preds.labels is not None:
            entry |= {"gold": row.label, "predicted": preds.labels[i]}
        if preds.margins is not None:
            entry["margin"] = round(preds.margins[i], 6)
        out.append(entry)
    return out


def evaluate(
    ws: Workspace,
    config: ProjectConfig,
    model_ref: str,
    data_file: Path | None = None,
    with_compare: bool = False,
    progress: ProgressFactory = no_progress,
) -> EvalResult:
    """Evaluate `model_ref` on the test split (or `data_file`); gates, report, audit, MLflow."""
    from tunesmith.registry import default_name

    if is_reward_run(ws.runs_dir / model_ref):  # --compare adds the LLM judge's agreement
        judge = _llm_agreement(config) if with_compare else None
        return EvalResult(*evaluate_reward(ws, config, model_ref, judge))
    task, settings = config.task, config.eval
    target = resolve_target(ws, config, model_ref)
    dataset_dir, manifest = _dataset(ws, config, target)
    path = data_file if data_file is not None else dataset_dir / f"{settings.split}.jsonl"
    rows = read_rows(path, task)
    data = {
        "dataset": None if data_file else manifest["name"],
        "version": None if data_file else str(manifest["version"]),
        "split": "file" if data_file else settings.split,
        "file": str(path),
        "sha256": sha256_file(path),
        "rows": len(rows),
        "val_file": str(dataset_dir / "val.jsonl"),
    }
    # everything that can refuse is checked before minutes of inference
    registry_name = default_name(config)
    champ = champion_target(ws, registry_name) if target.run_id else None
    examples = few_shot_examples(config, dataset_dir) if with_compare else []
    val = read_val(dataset_dir / "val.jsonl")
    episodes = None
    if task.type == "tool_calling" and settings.episodes and settings.tool_backend:
        tasks = read_episodes(ws.resolve(settings.episodes))
        episodes = (tasks, load_backend(settings.tool_backend))

    # loaded when first needed: a score made earlier in this process needs no model
    loaded = cache(lambda: load_model(ws, target))
    preds, metrics = score_model(
        config, loaded, rows, val, f"eval {model_ref}", progress, target.weights_identity, episodes
    )
    per_class = confusion = None
    if task.type == "classification":
        assert preds.labels is not None and task.labels is not None
        gold = [r.label or "" for r in rows]
        _, per_class, confusion = task_scores.classification(gold, preds.labels, task.labels)
    main = MAIN_METRIC[task.type]
    slices = audit_slices(
        [r.meta for r in rows],
        settings.slices,
        lambda index: task_metrics(config, rows, preds, index),
        main,
        settings.slice_floor,
        settings.min_slice_rows,
    )
    champion = None
    if champ is not None:
        assert champ.registry is not None
        if champ.run_id == target.run_id:
            champ_metrics = metrics
        else:
            _, champ_metrics = score_model(
                config,
                lambda: load_model(ws, champ),
                rows,
                val,
                f"eval {champ.ref}",
                progress,
                champ.weights_identity,
                episodes,
            )
        champion = {"ref": champ.ref, **champ.registry, "run_id": champ.run_id}
        champion["metrics"] = champ_metrics
    comparison = None
    if with_compare:
        base = loaded() if target.run_id is None else load_model(ws, base_of(target))
        is_base = target.run_id is None
        comparison = compare(config, base, rows, examples, preds, is_base, progress)
    gates = check_gates(settings.gates, metrics, slices, champion and champion["metrics"])
    report = {
        "schema": 1,
        "created_at": utc_timestamp(),
        "tunesmith_version": __version__,
        "model": target.to_json(),
        "data": data,
        "task": {"type": task.type, "labels": task.labels},
        "method": preds.method,
        "main_metric": main,
        "metrics": metrics,
        "cost": cost(preds),
        "per_class": per_class,
        "per_category": _per_category(rows, preds) if task.type == "tool_calling" else None,
        "slices": slices,
        "registry_name": registry_name,
        "champion": champion,
        "gates": gates,
        "passed": all(g["passed"] for g in gates) if gates else None,
        "compare": comparison,
    }
    out_dir = _out_dir(ws, target, data, data_file)
    files = write_report(report, out_dir, confusion, _predictions(rows, preds))
    _audit(ws, target, report, out_dir, path)
    warnings = _track(ws, config, target, report, out_dir)
    return EvalResult(report, out_dir, files, warnings)


def _llm_agreement(config: ProjectConfig) -> Callable[[list[dict[str, Any]]], dict[str, Any]]:
    from tunesmith.preference.llm_judge import agreement, judge_client

    client = judge_client(config.align.judge, config.serve)
    return lambda pairs: agreement(client, config.align.judge, pairs)


def _per_category(rows: list[EvalRow], preds: Predictions) -> dict[str, dict[str, float]]:
    """The tool metrics per `meta.category` (simple, multiple, parallel, irrelevance, ...)."""
    categories = [str(r.meta.get("category", "all")) for r in rows]
    refs, tools = [r.reference for r in rows], [r.tools for r in rows]
    return tool_metrics.per_category(categories, tools, refs, preds.answers)


def _audit(
    ws: Workspace, target: Target, report: dict[str, Any], out_dir: Path, data_path: Path
) -> None:
    """The audit log names the data, the exact weights and the report by sha256."""
    inputs = {data_path.name: report["data"]["sha256"]}
    if target.adapter_sha256:
        inputs["adapter"] = target.adapter_sha256
    if target.base_record.get("weights_sha256"):
        inputs["base_weights"] = target.base_record["weights_sha256"]
    main = report["main_metric"]
    audit.append(
        audit.audit_path(ws.state_dir),
        "eval",
        target.run_id or "base",
        inputs=inputs,
        outputs={"report.json": sha256_file(out_dir / "report.json")},
        details={
            "model": target.ref,
            main: report["metrics"].get(main),
            "passed": report["passed"],
            "failed_gates": [g["gate"] for g in report["gates"] if not g["passed"]],
        },
    )


def _track(
    ws: Workspace, config: ProjectConfig, target: Target, report: dict[str, Any], out_dir: Path
) -> list[str]:
    """The run's MLflow entry gets `eval.*` metrics and the report; failing that, a warning."""
    if target.run_id is None:
        return []
    from mlflow.exceptions import MlflowException

    from tunesmith.store.tracking import Tracker

    try:
        tracker = Tracker(ws.state_dir, config.project, target.run_id)
        try:
            metrics = {f"eval.{k}": v for k, v in report["metrics"].items()}
            tracker.log_metrics(metrics, step=0)
            tracker.log_artifacts(out_dir, out_dir.name)
        finally:
            tracker.end()
    except (MlflowException, OSError) as err:
        # the report and its audit entry are written; tracking is a mirror of them
        return [f"not logged to MLflow: {err}"]
    return []
