"""Prompts of the prompt-versus-fine-tune comparison: instruction, examples, few-shot turns."""

from __future__ import annotations

from collections import Counter

import pytest

from tunesmith.config import TaskConfig
from tunesmith.data.rows import EvalRow
from tunesmith.evaluate import prompts

LABELS = ["billing", "technical", "account"]
TASK = TaskConfig(type="classification", labels=LABELS, answer_prefix="Queue: ")


def row(i: int, label: str | None, reference: str | None = None) -> EvalRow:
    prompt = [
        {"role": "system", "content": "You route tickets."},
        {"role": "user", "content": f"ticket {i}"},
    ]
    return EvalRow(
        id=f"r{i}",
        prompt=prompt,
        reference=reference or f"Queue: {label}\n\nreply {i}",
        label=label,
        meta={"id": f"r{i}"},
    )


# 8 billing, 3 technical, 1 account: shuffled picks would mostly be billing
TRAIN = [row(i, "billing") for i in range(8)]
TRAIN += [row(8 + i, "technical") for i in range(3)] + [row(11, "account")]


def test_default_instruction_lists_every_label_and_the_answer_prefix() -> None:
    text = prompts.instruction(TASK, "production system prompt")
    for label in LABELS:
        assert label in text
    assert "Queue: <label>" in text
    assert "production system prompt" not in text


def test_task_instruction_overrides() -> None:
    task = TASK.model_copy(update={"instruction": "Pick a queue."})
    assert prompts.instruction(task, "production") == "Pick a queue."
    generation = TaskConfig(type="generation")
    assert prompts.instruction(generation, "Be brief.") == "Be brief."
    assert prompts.instruction(generation, None) == "You are a helpful assistant."


def test_pick_examples_covers_every_label_before_repeating_one() -> None:
    for seed in range(5):
        picked = prompts.pick_examples(TRAIN, TASK, 5, seed)
        assert len(picked) == 5
        assert {r.label for r in picked[:3]} == set(LABELS)
        assert len({r.id for r in picked}) == 5  # no row twice


def test_pick_examples_with_k_below_the_label_count_repeats_no_label() -> None:
    picked = prompts.pick_examples(TRAIN, TASK, 2, 0)
    assert len(picked) == 2 and len({r.label for r in picked}) == 2


def test_pick_examples_keeps_going_when_a_label_runs_out() -> None:
    picked = prompts.pick_examples(TRAIN, TASK, 7, 1)
    counts = Counter(r.label for r in picked)
    assert counts["account"] == 1 and counts["technical"] == 3 and counts["billing"] == 3


def test_pick_examples_asking_for_more_than_there_are_returns_all() -> None:
    picked = prompts.pick_examples(TRAIN, TASK, 50, 0)
    assert sorted(r.id for r in picked) == sorted(r.id for r in TRAIN)


def test_pick_examples_is_deterministic_for_a_seed() -> None:
    ids = [[r.id for r in prompts.pick_examples(TRAIN, TASK, 6, seed)] for seed in (3, 3, 4)]
    assert ids[0] == ids[1]
    others = {tuple(r.id for r in prompts.pick_examples(TRAIN, TASK, 6, s)) for s in range(10)}
    assert len(others) > 1  # the seed does choose


def test_pick_examples_of_other_tasks_are_the_first_k_shuffled() -> None:
    task = TaskConfig(type="generation")
    rows = [row(i, None, reference=f"answer {i}") for i in range(10)]
    picked = prompts.pick_examples(rows, task, 4, 0)
    assert len(picked) == 4
    assert picked == prompts.pick_examples(rows, task, 4, 0)


def test_few_shot_puts_k_solved_turns_before_the_row() -> None:
    examples = prompts.pick_examples(TRAIN, TASK, 4, 0)
    target = row(99, "billing")
    turns = prompts.few_shot(target, "Route it.", examples, TASK)
    assert turns[0] == {"role": "system", "content": "Route it."}
    assert len(turns) == 1 + 2 * len(examples) + 1
    for n, example in enumerate(examples):
        user, assistant = turns[1 + 2 * n], turns[2 + 2 * n]
        assert user == {"role": "user", "content": example.user_text}
        assert assistant == {"role": "assistant", "content": f"Queue: {example.label}"}
    assert turns[-1] == {"role": "user", "content": "ticket 99"}


def test_few_shot_of_a_generation_task_shows_the_whole_reference() -> None:
    task = TaskConfig(type="generation")
    example = row(1, None, reference="the full answer")
    turns = prompts.few_shot(row(2, None, reference="x"), "sys", [example], task)
    assert turns[2] == {"role": "assistant", "content": "the full answer"}


def test_zero_shot_is_the_instruction_then_the_row() -> None:
    turns = prompts.zero_shot(row(5, "account"), "Route it.")
    assert turns == [
        {"role": "system", "content": "Route it."},
        {"role": "user", "content": "ticket 5"},
    ]


@pytest.mark.parametrize("k", [0, 1])
def test_few_shot_with_few_examples(k: int) -> None:
    examples = prompts.pick_examples(TRAIN, TASK, k, 0)
    turns = prompts.few_shot(row(7, "billing"), "s", examples, TASK)
    assert len(turns) == 2 + 2 * k
