"""One model scored on the eval rows: task metrics, validation perplexity, cost."""

from __future__ import annotations

import hashlib
import json
from collections import OrderedDict
from collections.abc import Callable
from pathlib import Path
from typing import Any

from tunesmith.config import ProjectConfig
from tunesmith.data.rows import EvalRow
from tunesmith.evaluate import metrics as task_scores
from tunesmith.evaluate import tool_metrics
from tunesmith.evaluate.episodes import Backend, run_episodes
from tunesmith.evaluate.predict import Predictions, perplexity, predict

# description, total rows -> advance(n); the CLI passes a rich progress bar
ProgressFactory = Callable[[str, int], Callable[[int], None]]


# val perplexity per (model, val split, max_length), within one process: the loop scores the
# same challenger and champion on the test split, the feedback split and the audit sample,
# and their perplexity on the unchanged validation split is the same number each time
_PERPLEXITIES: OrderedDict[tuple[str, str, int], float | None] = OrderedDict()
_KEPT = 32


def _records_digest(records: list[dict[str, Any]]) -> str:
    text = json.dumps(records, sort_keys=True, ensure_ascii=False)
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def _val_perplexity(
    model_and_tokenizer: tuple[Any, Any],
    val_records: list[dict[str, Any]],
    max_length: int,
    key: tuple[str, str, int] | None,
) -> float | None:
    """`perplexity` on the validation split, remembered by `key` (weights identity, split
    digest, max_length) when there is one."""
    model, tokenizer = model_and_tokenizer
    if key is None:
        return perplexity(model, tokenizer, val_records, max_length)
    if key not in _PERPLEXITIES:
        _PERPLEXITIES[key] = perplexity(model, tokenizer, val_records, max_length)
        while len(_PERPLEXITIES) > _KEPT:
            _PERPLEXITIES.popitem(last=False)
    return _PERPLEXITIES[key]


def no_progress(description: str, total: int) -> Callable[[int], None]:
    return lambda n: None


def task_metrics(
    config: ProjectConfig, rows: list[EvalRow], preds: Predictions, index: list[int]
) -> dict[str, float]:
    """The task's metrics over the rows at `index` (all rows, or one slice)."""
    task = config.task
    if task.type == "classification":
        assert preds.labels is not None and task.labels is not None
        gold = [rows[i].label or "" for i in index]
        return task_scores.classification(gold, [preds.labels[i] for i in index], task.labels)[0]
    refs = [rows[i].reference for i in index]
    outs = [preds.answers[i] for i in index]
    if task.type == "tool_calling":
        return tool_metrics.tool_calling([rows[i].tools for i in index], refs, outs)
    if task.type == "extraction":
        assert task.json_schema is not None
        return task_scores.extraction(refs, outs, task.json_schema)
    return task_scores.generation(refs, outs)


def cost(preds: Predictions) -> dict[str, float]:
    n = len(preds.prompt_tokens)
    return {
        "prompt_tokens_per_request": sum(preds.prompt_tokens) / n,
        "latency_ms_per_request": 1000 * preds.seconds / n,
    }


def _scoring_key(
    config: ProjectConfig,
    rows: list[EvalRow],
    val_digest: str,
    identity: str,
    episodes: list[dict[str, Any]] | None,
) -> str:
    """Everything a score depends on: the weights, the rows as prompted and judged, the
    validation split, the task and eval settings (a changed setting scores afresh)."""
    made_of = {
        "model": identity,
        "rows": [[r.prompt, r.reference, r.label, r.tools] for r in rows],
        "episodes": episodes,
        "val": val_digest,
        "task": config.task.model_dump(mode="json"),
        "eval": config.eval.model_dump(mode="json"),
        "max_length": config.train.max_length,
    }
    text = json.dumps(made_of, sort_keys=True, ensure_ascii=False, default=str)
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


# whole scores, within one process, by _scoring_key: the loop's evaluate scores the champion on
# the test split the main job's eval scored it on minutes before (the split is unchanged when
# only feedback records were added), and then needs neither the model nor the pass again
_SCORES: OrderedDict[str, tuple[Predictions, dict[str, float]]] = OrderedDict()


def score_model(
    config: ProjectConfig,
    load: Callable[[], tuple[Any, Any]],
    rows: list[EvalRow],
    val_records: list[dict[str, Any]],
    description: str,
    progress: ProgressFactory,
    identity: str | None = None,
    episodes: tuple[list[dict[str, Any]], Backend] | None = None,
) -> tuple[Predictions, dict[str, float]]:
    """Predictions with the production prompt, the task metrics and `val_perplexity` of the
    model `load()` returns. With `identity` (what the weights are made of) a score this
    process made before on the same rows and settings is returned without loading the model,
    and the validation perplexity is computed once per model and split. With `episodes`
    (tasks and their back end) a tool-calling model also runs the multi-step tasks."""
    max_length = config.train.max_length
    key: str | None = None
    perplexity_key: tuple[str, str, int] | None = None
    if identity is not None:
        val_digest = _records_digest(val_records)
        key = _scoring_key(config, rows, val_digest, identity, episodes and episodes[0])
        perplexity_key = (identity, val_digest, max_length)
    if key is not None and key in _SCORES:
        _SCORES.move_to_end(key)
        preds, metrics = _SCORES[key]
        return preds, dict(metrics)
    model_and_tokenizer = load()
    model, tokenizer = model_and_tokenizer
    task = config.task
    method = config.eval.classify_by if task.type == "classification" else "generation"
    advance = progress(description, len(rows))
    prompts, tools = [r.prompt for r in rows], [r.tools for r in rows]
    preds = predict(model, tokenizer, prompts, task, config.eval, method, advance, tools)
    metrics = task_metrics(config, rows, preds, list(range(len(rows))))
    if episodes is not None and task.type == "tool_calling":
        tasks, backend = episodes
        step = progress(f"{description}: episodes", len(tasks) * config.eval.max_episode_steps)
        metrics |= run_episodes(model, tokenizer, tasks, backend, config.eval, step)[0]
    value = _val_perplexity(model_and_tokenizer, val_records, max_length, perplexity_key)
    if value is not None:
        metrics["val_perplexity"] = value
    if key is not None:
        _SCORES[key] = (preds, dict(metrics))
        while len(_SCORES) > _KEPT:
            _SCORES.popitem(last=False)
    return preds, metrics


def read_val(path: Path) -> list[dict[str, Any]]:
    """The validation split, the held-out text the run's loss was measured on; [] if absent."""
    if not path.is_file():
        return []
    lines = path.read_text(encoding="utf-8").splitlines()
    return [json.loads(line) for line in lines if line.strip()]
