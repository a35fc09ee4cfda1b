"""The prompts of the prompt-versus-fine-tune comparison.

- production: the record's own messages, the short prompt the fine-tuned model was trained on;
- zero-shot: an instruction that spells out the task (the labels and the answer format);
- few-shot: the same instruction, then k solved train examples as earlier turns.
"""

from __future__ import annotations

import random
from collections import defaultdict

from tunesmith.config import TaskConfig
from tunesmith.data.rows import EvalRow

Messages = list[dict[str, str]]


def instruction(task: TaskConfig, production_system: str | None) -> str:
    """`task.instruction`, else one written from the labels; else the production system prompt."""
    if task.instruction:
        return task.instruction
    if task.type == "classification":
        assert task.labels is not None
        return (
            "Read the message and decide which one of these labels it belongs to: "
            + ", ".join(task.labels)
            + f". Answer with one line: {task.answer_prefix}<label>."
        )
    return production_system or "You are a helpful assistant."


def short_answer(row: EvalRow, task: TaskConfig) -> str:
    """What a few-shot example shows as its answer: the label line, or the whole reference."""
    if task.type == "classification" and row.label is not None:
        return f"{task.answer_prefix}{row.label}"
    return row.reference


def pick_examples(train: list[EvalRow], task: TaskConfig, k: int, seed: int) -> list[EvalRow]:
    """k train rows, seeded; for classification one label after another so all are shown."""
    rows = list(train)
    random.Random(seed).shuffle(rows)
    if task.type != "classification":
        return rows[:k]
    by_label: dict[str | None, list[EvalRow]] = defaultdict(list)
    for row in rows:
        by_label[row.label].append(row)
    picked: list[EvalRow] = []
    while len(picked) < k and any(by_label.values()):
        for label in task.labels or []:
            if by_label[label] and len(picked) < k:
                picked.append(by_label[label].pop())
    return picked


def zero_shot(row: EvalRow, system: str) -> Messages:
    return [{"role": "system", "content": system}, {"role": "user", "content": row.user_text}]


def few_shot(row: EvalRow, system: str, examples: list[EvalRow], task: TaskConfig) -> Messages:
    turns: Messages = [{"role": "system", "content": system}]
    for example in examples:
        turns.append({"role": "user", "content": example.user_text})
        turns.append({"role": "assistant", "content": short_answer(example, task)})
    turns.append({"role": "user", "content": row.user_text})
    return turns
