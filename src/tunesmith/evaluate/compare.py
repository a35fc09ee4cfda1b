"""`--compare`: the same rows through the base model zero-shot, few-shot and the tuned model."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from tunesmith.config import ProjectConfig
from tunesmith.data.rows import EvalInputError, EvalRow, read_rows
from tunesmith.evaluate import prompts
from tunesmith.evaluate.predict import Predictions, predict
from tunesmith.evaluate.score_model import ProgressFactory, cost, task_metrics


def few_shot_examples(config: ProjectConfig, dataset_dir: Path) -> list[EvalRow]:
    """The k solved examples of the few-shot prompt; checked before any model runs."""
    if config.eval.few_shot == 0:
        return []
    train_path = dataset_dir / "train.jsonl"
    if not train_path.is_file():
        raise EvalInputError(f"{train_path}: not found; --compare takes few-shot examples from it")
    rows = read_rows(train_path, config.task)
    return prompts.pick_examples(rows, config.task, config.eval.few_shot, config.eval.seed)


def compare(
    config: ProjectConfig,
    base: tuple[Any, Any],
    rows: list[EvalRow],
    examples: list[EvalRow],
    tuned: Predictions,
    tuned_is_base: bool,
    progress: ProgressFactory,
) -> list[dict[str, Any]]:
    """One entry per setting: metrics, prompt tokens and milliseconds per request."""
    task, settings = config.task, config.eval
    system = next((msg["content"] for msg in rows[0].prompt if msg["role"] == "system"), None)
    instruction = prompts.instruction(task, system)
    prompt_settings = [
        ("base, zero-shot instruction", [prompts.zero_shot(r, instruction) for r in rows]),
    ]
    if task.type == "tool_calling":  # the conversation as it is, its tool list described
        prompt_settings = [("base, tool-list prompt", [r.prompt for r in rows])]
    elif examples:
        prompt_settings.append(
            (
                f"base, few-shot (k={len(examples)})",
                [prompts.few_shot(r, instruction, examples, task) for r in rows],
            )
        )
    everything = list(range(len(rows)))
    model, tokenizer = base
    table = []
    for name, prompt_list in prompt_settings:
        advance = progress(name, len(rows))
        tools = [r.tools for r in rows]
        preds = predict(model, tokenizer, prompt_list, task, settings, tuned.method, advance, tools)
        metrics = task_metrics(config, rows, preds, everything)
        table.append({"setting": name, "method": tuned.method, "metrics": metrics, **cost(preds)})
    name = "base, production prompt" if tuned_is_base else "fine-tuned, production prompt"
    metrics = task_metrics(config, rows, tuned, everything)
    table.append({"setting": name, "method": tuned.method, "metrics": metrics, **cost(tuned)})
    return table
