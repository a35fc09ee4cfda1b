"""`tunesmith eval`: a model on held-out rows, against its champion and against prompting.

Writes `runs/<run-id>/eval/` (the base model: `.tunesmith/eval/base/`), logs it to the run's
MLflow entry and appends an `eval` audit entry.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from tunesmith import __version__
from tunesmith.config import ProjectConfig
from tunesmith.data.version import sha256_file
from tunesmith.evaluate import metrics as m
from tunesmith.evaluate import prompts
from tunesmith.evaluate.gates import check_gates
from tunesmith.evaluate.predict import Predictions, perplexity, predict
from tunesmith.evaluate.report import write_report
from tunesmith.evaluate.rows import EvalInputError, EvalRow, read_rows
from tunesmith.evaluate.slices import audit_slices
from tunesmith.evaluate.target import Target, base_of, champion_target, load_model, resolve_target
from tunesmith.governance import audit
from tunesmith.train.dataset import TrainInputError, resolve_dataset
from tunesmith.workspace import Workspace

# description, total rows -> advance(n); the CLI passes a rich progress bar
ProgressFactory = Callable[[str, int], Callable[[int], None]]


@dataclass(frozen=True)
class EvalResult:
    report: dict[str, Any]
    out_dir: Path
    files: list[Path]

    @property
    def passed(self) -> bool | None:
        return self.report["passed"]


def _no_progress(description: str, total: int) -> Callable[[int], None]:
    return lambda n: None


def task_metrics(
    config: ProjectConfig, rows: list[EvalRow], preds: Predictions, index: list[int]
) -> dict[str, float]:
    """The task's metrics over the rows at `index` (all rows, or one slice)."""
    task = config.task
    if task.type == "classification":
        assert preds.labels is not None and task.labels is not None
        gold = [rows[i].label or "" for i in index]
        return m.classification(gold, [preds.labels[i] for i in index], task.labels)[0]
    refs = [rows[i].reference for i in index]
    outs = [preds.answers[i] for i in index]
    if task.type == "extraction":
        assert task.json_schema is not None
        return m.extraction(refs, outs, task.json_schema)
    return m.generation(refs, outs)


def _dataset(ws: Workspace, config: ProjectConfig, target: Target) -> tuple[Path, dict[str, Any]]:
    name, version = target.dataset or (config.data.name, config.train.dataset)
    try:
        return resolve_dataset(ws, name, version)
    except TrainInputError as err:
        raise EvalInputError(str(err)) from None


def _summary(preds: Predictions) -> dict[str, float]:
    n = len(preds.prompt_tokens)
    return {
        "prompt_tokens_per_request": sum(preds.prompt_tokens) / n,
        "latency_ms_per_request": 1000 * preds.seconds / n,
    }


def evaluate(
    ws: Workspace,
    config: ProjectConfig,
    model_ref: str,
    data_file: Path | None = None,
    compare: bool = False,
    progress: ProgressFactory = _no_progress,
) -> EvalResult:
    """Evaluate `model_ref` on the test split (or `data_file`); gates, report, MLflow, audit."""
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
    }
    everything = list(range(len(rows)))
    model, tokenizer = load_model(ws, target)
    production = [r.prompt for r in rows]
    method = settings.classify_by if task.type == "classification" else "generation"
    preds = predict(
        model,
        tokenizer,
        production,
        task,
        settings,
        method,
        progress(f"eval {model_ref}", len(rows)),
    )
    metrics = task_metrics(config, rows, preds, everything)
    per_class = confusion = None
    if task.type == "classification":
        assert preds.labels is not None and task.labels is not None
        gold = [r.label or "" for r in rows]
        _, per_class, confusion = m.classification(gold, preds.labels, task.labels)
    val = dataset_dir / "val.jsonl"
    if val.is_file():
        records = [
            json.loads(line) for line in val.read_text(encoding="utf-8").splitlines() if line
        ]
        ppl = perplexity(model, tokenizer, records, config.train.max_length)
        if ppl is not None:
            metrics["perplexity"] = ppl
    main = m.MAIN_METRIC[task.type]
    slices = audit_slices(
        [r.meta for r in rows],
        settings.slices,
        lambda index: task_metrics(config, rows, preds, index),
        main,
        settings.slice_floor,
        settings.min_slice_rows,
    )
    champion = None
    champ_target = champion_target(ws, config) if target.run_id else None
    if champ_target is not None:
        if champ_target.run_id == target.run_id:
            champ_metrics = metrics
        else:
            champ_model, champ_tok = load_model(ws, champ_target)
            champ_preds = predict(
                champ_model, champ_tok, production, task, settings, method,
                progress(f"eval {champ_target.ref}", len(rows)),
            )  # fmt: skip
            champ_metrics = task_metrics(config, rows, champ_preds, everything)
            del champ_model
        champion = {
            "ref": champ_target.ref,
            "run_id": champ_target.run_id,
            "metrics": champ_metrics,
        }
    comparison = None
    if compare:
        comparison = _compare(ws, config, target, dataset_dir, rows, preds, progress)
    gates = check_gates(settings.gates, metrics, slices, champion and champion["metrics"])
    report = {
        "schema": 1,
        "created_at": datetime.now(UTC).isoformat(timespec="seconds").replace("+00:00", "Z"),
        "tunesmith_version": __version__,
        "model": target.to_json(),
        "data": data,
        "task": {"type": task.type, "labels": task.labels},
        "method": method,
        "main_metric": main,
        "metrics": metrics,
        "cost": _summary(preds),
        "per_class": per_class,
        "slices": slices,
        "champion": champion,
        "gates": gates,
        "passed": all(g["passed"] for g in gates) if gates else None,
        "compare": comparison,
    }
    folder = "eval" if data_file is None else f"eval-{data_file.stem}"
    if target.run_id is None:
        out_dir = (
            ws.state_dir / "eval" / ("base" if data_file is None else f"base-{data_file.stem}")
        )
    else:
        out_dir = ws.runs_dir / target.run_id / folder
    files = write_report(report, out_dir, confusion)
    _record(ws, config, target, report, out_dir, path)
    return EvalResult(report, out_dir, files)


def _compare(
    ws: Workspace,
    config: ProjectConfig,
    target: Target,
    dataset_dir: Path,
    rows: list[EvalRow],
    tuned: Predictions,
    progress: ProgressFactory,
) -> list[dict[str, Any]]:
    """Base zero-shot, base few-shot, and the evaluated model with its production prompt."""
    task, settings = config.task, config.eval
    method = tuned.method
    system = next((msg["content"] for msg in rows[0].prompt if msg["role"] == "system"), None)
    instruction = prompts.instruction(task, system)
    train_path = dataset_dir / "train.jsonl"
    examples = prompts.pick_examples(read_rows(train_path, task), task, settings.few_shot, 0)
    model, tokenizer = load_model(ws, base_of(target))
    settings_rows = [
        ("base, zero-shot instruction", [prompts.zero_shot(r, instruction) for r in rows]),
        (
            f"base, few-shot (k={len(examples)})",
            [prompts.few_shot(r, instruction, examples, task) for r in rows],
        ),
    ]
    everything = list(range(len(rows)))
    table = []
    for name, prompt_list in settings_rows:
        preds = predict(
            model, tokenizer, prompt_list, task, settings, method, progress(name, len(rows))
        )
        table.append(
            {
                "setting": name,
                "method": method,
                "metrics": task_metrics(config, rows, preds, everything),
                **_summary(preds),
            }
        )
    name = "fine-tuned, production prompt" if target.run_id else "base, production prompt"
    table.append(
        {
            "setting": name,
            "method": method,
            "metrics": task_metrics(config, rows, tuned, everything),
            **_summary(tuned),
        }
    )
    return table


def _record(
    ws: Workspace,
    config: ProjectConfig,
    target: Target,
    report: dict[str, Any],
    out_dir: Path,
    data_path: Path,
) -> None:
    """The run's MLflow entry gets metrics and files; the audit log gets the verdict."""
    report_sha = sha256_file(out_dir / "report.json")
    if target.run_id is not None:
        from tunesmith.train.tracking import Tracker

        tracker = Tracker(ws.state_dir, config.project, target.run_id)
        tracker.log_metrics({f"eval.{k}": v for k, v in report["metrics"].items()}, step=0)
        tracker.log_artifacts(out_dir, out_dir.name)
        tracker.end()
    inputs = {data_path.name: report["data"]["sha256"]}
    if target.adapter_sha256:
        inputs["adapter"] = target.adapter_sha256
    main = report["main_metric"]
    audit.append(
        audit.audit_path(ws.state_dir),
        "eval",
        target.run_id or "base",
        inputs=inputs,
        outputs={"report.json": report_sha},
        details={
            "model": target.ref,
            main: report["metrics"].get(main),
            "passed": report["passed"],
            "failed_gates": [g["gate"] for g in report["gates"] if not g["passed"]],
        },
    )
