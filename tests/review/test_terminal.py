"""The corrected-answer rule and the terminal review sessions, driven by scripted answers."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.store_rows import add_interaction
from tunesmith.config import TaskConfig
from tunesmith.review import choices
from tunesmith.review import queue as review
from tunesmith.review.corrections import corrected_answer
from tunesmith.review.terminal import Session, Terminal, review_choices, review_queue
from tunesmith.store.actor import Actor
from tunesmith.store.db import open_store

TASK = TaskConfig(
    type="classification",
    labels=["billing", "technical", "returns"],
    label_field="queue",
    answer_prefix="Queue: ",
)
BARE = TASK.model_copy(update={"answer_prefix": ""})
ANA = Actor("user:ana", "os-user", "ana")


@pytest.mark.parametrize(
    ("task", "text", "label", "expected"),
    [
        # the label line is replaced where it is, the rest kept as typed
        (TASK, "Queue: technical\n\nHi", "returns", "Queue: returns\n\nHi"),
        (TASK, "\n  queue: billing \nHi", "returns", "\nQueue: returns\nHi"),
        # no label line: one goes on top
        (TASK, "Hi there", "billing", "Queue: billing\n\nHi there"),
        # a label picked alone is the whole answer
        (TASK, "", "billing", "Queue: billing"),
        (TASK, "  \n ", "billing", "Queue: billing"),
        # no prefix: a line starting with a label carries one
        (BARE, "Technical\nHi", "returns", "returns\nHi"),
        (BARE, "Hi", "returns", "returns\n\nHi"),
        # no label picked: the text as typed
        (TASK, "Queue: technical", None, "Queue: technical"),
    ],
)
def test_corrected_answer(task: TaskConfig, text: str, label: str | None, expected: str) -> None:
    assert corrected_answer(task, text, label) == expected


def test_a_label_the_task_lacks_is_refused() -> None:
    with pytest.raises(review.ReviewError, match="label must be one of"):
        corrected_answer(TASK, "Hi", "nonsense")
    with pytest.raises(review.ReviewError):
        corrected_answer(TaskConfig(type="generation"), "Hi", "billing")


def scripted(answers: list[str], seen: list[Any], said: list[str]) -> Terminal:
    """A terminal that types `answers` in turn (then quits) and records what it was shown."""
    typed: Iterator[str] = iter(answers)
    return Terminal(
        ask=lambda question, default: next(typed, "q"),
        show=seen.append,
        recorded=lambda verdict, what: said.append(f"{verdict} {what}"),
        refused=lambda err: said.append(f"refused: {err}"),
    )


@pytest.fixture
def store(tmp_path: Path) -> Any:
    engine = open_store(f"sqlite:///{tmp_path / 'state.db'}")
    for i in range(3):
        add_interaction(engine, f"chatcmpl-{i}", f"ticket {i}", "Queue: technical\n\nHi")
    candidates = [review.Candidate(f"chatcmpl-{i}", "m", ["low_confidence"], i) for i in range(3)]
    review.enqueue(engine, candidates)
    return engine


def test_review_queue_corrects_skips_and_accepts(store: Any, tmp_path: Path) -> None:
    seen: list[Any] = []
    said: list[str] = []
    # correct the first (label 3, keep the reply), skip the second, accept the third
    terminal = scripted(["c", "3", "", "s", "a"], seen, said)
    log = tmp_path / "audit.jsonl"
    session = review_queue(store, ANA, TASK, 60, terminal, audit_log=log, by="ana")
    assert session == Session(decided=2, open=1)
    assert said == [f"correct item {seen[0].id}", f"accept item {seen[2].id}"]
    first = review.get_item(store, seen[0].id)
    assert (first.decision, first.correction, first.decided_by) == (
        "correct",
        "Queue: returns\n\nHi",
        "user:ana",
    )
    assert review.get_item(store, seen[1].id).claimed_by is None  # skipped: given back


def test_review_choices_picks_and_calls_ties(store: Any, tmp_path: Path) -> None:
    pairs = tmp_path / "pairs.jsonl"
    pairs.write_text(
        "".join(
            json.dumps(
                {
                    "prompt": [{"role": "user", "content": f"q{i}"}],
                    "chosen": [{"role": "assistant", "content": f"good {i}"}],
                    "rejected": [{"role": "assistant", "content": f"bad {i}"}],
                }
            )
            + "\n"
            for i in range(2)
        )
    )
    assert choices.enqueue_pairs(store, pairs, "pairs.jsonl").counts["queued"] == 2
    seen: list[Any] = []
    said: list[str] = []
    # an unknown key is asked again; then A, with a note; then a tie
    terminal = scripted(["x", "1", "clear", "t", ""], seen, said)
    log = tmp_path / "audit.jsonl"
    session = review_choices(store, ANA, 60, terminal, audit_log=log)
    assert session == Session(decided=2, open=0)
    assert said == [f"a choice {seen[0].id}", f"tie choice {seen[1].id}"]
    assert choices.get_choice(store, seen[0].id).note == "clear"
