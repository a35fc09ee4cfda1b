"""`tunesmith review` in a terminal: one item at a time, the reviewer's keys decide.

The sessions ask and show through a `Terminal` the CLI fills (typer's prompt, rich panels),
so they hold no I/O of their own. Who decides is the authenticated actor; a reviewer key
claims only its models' items. A skipped item goes back to the queue and is not offered again
in the same session.
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Iterator
from dataclasses import dataclass
from functools import partial
from pathlib import Path
from types import ModuleType
from typing import Any

from sqlalchemy.engine import Engine

from tunesmith.config import TaskConfig
from tunesmith.review import choices, queue, tool_turns
from tunesmith.review.corrections import corrected_answer
from tunesmith.store.actor import Actor

QUEUE_KEYS = "[a]ccept [c]orrect [r]eject [s]kip [q]uit"
CHOICE_KEYS = "[1] A better [2] B better [t]ie [s]kip [q]uit"
DECISIONS = {"a": "accept", "c": "correct", "r": "reject"}
PICKS = {"1": "a", "2": "b", "t": "tie"}


@dataclass(frozen=True)
class Terminal:
    """The reviewer's side of a session."""

    ask: Callable[[str, str], str]  # (question, default) -> the reviewer's answer
    show: Callable[[Any], None]  # puts the item (ReviewItem or ChoiceItem) on screen
    recorded: Callable[[str, str], None]  # (verdict, "item 3"): the store took it
    refused: Callable[[Exception], None]  # the store refused a decision, and why


@dataclass(frozen=True)
class Session:
    decided: int  # decisions recorded in this session
    open: int  # items still open in the queue the key sees, when it ended


def item_panels(item: queue.ReviewItem) -> list[tuple[str, str]]:
    """(title, text) of what a reviewer reads about an item: the input, then the answer. A
    tool conversation shows every turn with its calls and results, and the tools offered."""
    if not tool_turns.uses_tools(item.tools, item.messages):
        user = "\n\n".join(m.get("content") or "" for m in item.messages if m["role"] == "user")
        return [("input", user), ("model answer", item.output)]
    names = ", ".join(tool_turns.tool_names(item.tools)) or "none stored"
    return [
        (f"conversation · tools: {names}", tool_turns.conversation_text(item.messages)),
        ("model answer (calls as <tool_call>{...}</tool_call>)", item.output),
    ]


def scope(actor: Actor) -> list[str] | None:
    """The models a reviewer key covers; None (every model) for `*` or the OS user."""
    if actor.key is None or "*" in actor.key.models:
        return None
    return actor.key.models


def ask_correction(
    terminal: Terminal, task: TaskConfig, output: str, calls: bool = False
) -> str | None:
    """The corrected answer the reviewer types: a label from the menu (the model's reply kept
    unless they type another) for a classification task, else (and for a tool conversation,
    `calls`) the whole answer."""
    if calls:  # typed as the answer shows them, one after another
        question = 'corrected answer (<tool_call>{"name": ..., "arguments": {...}}</tool_call>)'
        return terminal.ask(question, "") or None
    labels = task.labels if task.type == "classification" else None
    if not labels:
        return terminal.ask("corrected answer", "") or None
    menu = "  ".join(f"{n}={label}" for n, label in enumerate(labels, start=1))
    number = terminal.ask(f"label ({menu}; empty: none)", "")
    if not number.strip():
        return None
    label = labels[int(number) - 1]
    reply = terminal.ask("reply (empty: keep the model's)", "")
    return corrected_answer(task, reply or output, label)


def _claimed(
    source: ModuleType,
    store: Engine,
    reviewer: str,
    lease_seconds: int,
    models: list[str] | None,
    terminal: Terminal,
    question: str,
    keys: Collection[str] = (),
) -> Iterator[tuple[Any, str]]:
    """Each item of `source` (the queue or choices module) the reviewer claims, with the key
    they pressed (asked again until it is one of `keys`, if given); [s]kip gives the item back
    for the rest of the session, [q]uit gives it back and ends."""
    skipped = set[int]()
    while (
        item := source.claim_next(store, reviewer, lease_seconds, skip=skipped, models=models)
    ) is not None:
        terminal.show(item)
        key = terminal.ask(question, "s")[:1]
        while keys and key not in keys:
            key = terminal.ask(question, "s")[:1]
        if key in ("q", "s"):
            source.release(store, item.id, reviewer)
            skipped.add(item.id)  # passed over: the next item comes next
            if key == "q":
                return
            continue
        yield item, key


def _recorded(terminal: Terminal, decide: Callable[[], object], verdict: str, what: str) -> int:
    """1 when the store took the decision, 0 when it refused it (taken, decided meanwhile)."""
    try:
        decide()
    except (queue.ReviewError, choices.ChoiceError) as err:
        terminal.refused(err)
        return 0
    terminal.recorded(verdict, what)
    return 1


def review_queue(
    store: Engine,
    actor: Actor,
    task: TaskConfig,
    lease_seconds: int,
    terminal: Terminal,
    *,
    audit_log: Path,
    by: str | None = None,
) -> Session:
    """Accept, correct or reject the queue's items, most doubtful first, until it is empty or
    the reviewer quits."""
    reviewer, models, decided = actor.reviewer, scope(actor), 0
    claimed = _claimed(queue, store, reviewer, lease_seconds, models, terminal, QUEUE_KEYS)
    for item, key in claimed:
        calls = tool_turns.uses_tools(item.tools, item.messages)
        correction = (
            ask_correction(terminal, task, item.output, calls) if key in ("c", "r") else None
        )
        decision = DECISIONS.get(key)
        if decision is None:  # an unknown key: the item is offered again
            queue.release(store, item.id, reviewer)
            continue
        decided += _recorded(
            terminal,
            partial(
                queue.decide,
                store,
                item.id,
                reviewer,
                decision,
                task=task,
                correction=correction,
                audit_log=audit_log,
                by=by,
            ),
            decision,
            f"item {item.id}",
        )
    return Session(decided, queue.counts(store, models)["open"])


def review_choices(
    store: Engine,
    actor: Actor,
    lease_seconds: int,
    terminal: Terminal,
    *,
    audit_log: Path,
    by: str | None = None,
) -> Session:
    """Pick the better of each pair's two answers (or a tie), oldest first, until the choice
    queue is empty or the reviewer quits."""
    reviewer, models, decided = actor.reviewer, scope(actor), 0
    keys = (*PICKS, "s", "q")
    claimed = _claimed(choices, store, reviewer, lease_seconds, models, terminal, CHOICE_KEYS, keys)
    for item, key in claimed:
        picked = PICKS[key]
        note = terminal.ask("note (empty: none)", "")
        decided += _recorded(
            terminal,
            partial(
                choices.decide, store, item.id, reviewer, picked, note, audit_log=audit_log, by=by
            ),
            picked,
            f"choice {item.id}",
        )
    return Session(decided, choices.counts(store, models)["open"])
