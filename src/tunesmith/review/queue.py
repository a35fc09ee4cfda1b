"""The review queue: doubtful answers wait here for a person to accept, correct or reject.

Items live in the state store's `review_items` table, one per interaction. A reviewer claims
the next open item for a lease (`lease.py`); the claim is an UPDATE guarded by the item's
state, so two reviewers (two processes, two browsers) never hold the same item, and a lease
that runs out frees the item for someone else. A decision records who and when, and goes on
the audit log first: the entry is written before the decision commits (`lease.settle`).
The reviewer is who the caller authenticated (the server: the key's name; the terminal: the
key given, else `user:LOGIN`); a reviewer key claims and counts only its models' items.
"""

from __future__ import annotations

from collections.abc import Collection, Sequence
from dataclasses import asdict, dataclass, field, replace
from datetime import datetime
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Engine

from tunesmith.config import TaskConfig
from tunesmith.memory.manage import memories_used
from tunesmith.models.labels import parse_label
from tunesmith.review import lease, tool_turns
from tunesmith.store import audit
from tunesmith.store.clock import utc_timestamp
from tunesmith.store.db import interactions, reading, review_items

DECISIONS = ("accept", "correct", "reject")
AUDIT = "audit_sample"  # the reason of an item drawn at random (watch.py), not for doubt


class ReviewError(ValueError):
    """A review action that cannot be carried out (taken by another reviewer, bad decision)."""


@dataclass(frozen=True)
class Candidate:
    """An interaction that should be reviewed, and why."""

    interaction_id: str
    model: str
    reasons: list[str]
    priority: float


@dataclass(frozen=True)
class ReviewItem:
    id: int
    interaction_id: str
    model: str
    reasons: list[str]
    priority: float
    enqueued_at: str
    status: str
    claimed_by: str | None
    claim_expires: str | None
    decision: str | None
    correction: str | None
    note: str | None
    decided_by: str | None
    decided_at: str | None
    created_at: str
    messages: list[dict[str, Any]]
    output: str
    label: str | None
    label_margin: float | None
    run_id: str | None
    # the knowledge chunks the answer was given from (ids, index version): None without
    retrieval: dict[str, Any] | None = None
    # the tools the request offered (None: none, or stored before they were kept)
    tools: list[dict[str, Any]] | None = None
    # the answer's calls in the OpenAI shape; `output` holds them as text after the content
    calls: list[dict[str, Any]] = field(default_factory=list)
    # the user's memories the answer was given (ids, scores) and, read now, their text
    memory: dict[str, Any] | None = None
    memories: list[dict[str, Any]] = field(default_factory=list)

    def to_json(self) -> dict[str, Any]:
        """The item, its turns with their calls and results written out for a reviewer."""
        out = asdict(self)
        out["messages"] = tool_turns.shown_messages(self.messages)
        out["tool_names"] = tool_turns.tool_names(self.tools)
        out["uses_tools"] = tool_turns.uses_tools(self.tools, self.messages)
        return out


def enqueue(engine: Engine, candidates: list[Candidate], now: datetime | None = None) -> int:
    """Add the candidates not queued before; returns how many were added."""
    if not candidates:
        return 0
    stamp = utc_timestamp(lease.now_or(now))
    with engine.begin() as conn:
        known: set[str] = set()
        wanted = [c.interaction_id for c in candidates]
        for at in range(0, len(wanted), 500):  # under every database's bound-parameter cap
            found = review_items.c.interaction_id.in_(wanted[at : at + 500])
            known.update(
                conn.execute(sa.select(review_items.c.interaction_id).where(found)).scalars()
            )
        fresh = [c for c in candidates if c.interaction_id not in known]
        if fresh:  # one executemany: a large window queues thousands at once
            conn.execute(
                review_items.insert(),
                [
                    {
                        "interaction_id": c.interaction_id,
                        "model": c.model,
                        "reasons": c.reasons,
                        "priority": c.priority,
                        "enqueued_at": stamp,
                        "status": "open",
                    }
                    for c in fresh
                ],
            )
    return len(fresh)


def _query() -> sa.Select[Any]:
    return sa.select(
        review_items,
        interactions.c.created_at,
        interactions.c.messages,
        interactions.c.choices,
        interactions.c.label,
        interactions.c.label_margin,
        interactions.c.run_id,
        interactions.c.retrieval,
        interactions.c.tools,
        interactions.c.memory,
    ).join(interactions, interactions.c.id == review_items.c.interaction_id)


def _item(row: Any) -> ReviewItem:
    data = dict(row._mapping)
    first = (data.pop("choices") or [{}])[0]
    output = tool_turns.stored_output(first)
    return ReviewItem(**data, output=output, calls=list(first.get("tool_calls") or []))


def get_item(engine: Engine, item_id: int) -> ReviewItem:
    with reading(engine) as conn:
        row = conn.execute(_query().where(review_items.c.id == item_id)).first()
    if row is None:
        raise ReviewError(f"review item {item_id} does not exist")
    item = _item(row)
    if item.memory:
        item = replace(item, memories=memories_used(engine, item.memory))
    return item


def claim_next(
    engine: Engine,
    reviewer: str,
    lease_seconds: int,
    now: datetime | None = None,
    skip: Collection[int] = (),
    models: Sequence[str] | None = None,
) -> ReviewItem | None:
    """The reviewer's current item, else the most doubtful free one not in `skip` (items this
    reviewer passed over), claimed for the lease; of `models` only (a key's scope), if given."""
    order = (review_items.c.priority, review_items.c.id)
    scope = lease.in_scope(review_items, models)
    item_id = lease.claim(engine, review_items, reviewer, lease_seconds, order, now, skip, scope)
    return None if item_id is None else get_item(engine, item_id)


def release(engine: Engine, item_id: int, reviewer: str) -> None:
    """Give a claimed item back to the queue."""
    lease.release(engine, review_items, item_id, reviewer)


def check_correction(task: TaskConfig, correction: str) -> None:
    """A classification correction must start with one of the task's labels."""
    labels = task.labels if task.type == "classification" else None
    if labels and parse_label(correction, labels, task.answer_prefix) is None:
        raise ReviewError(
            f"correction must start with '{task.answer_prefix}<label>', label one of {labels}"
        )


def check_item_correction(task: TaskConfig, item: ReviewItem, correction: str) -> None:
    """A tool conversation's correction must be valid calls of its tools (checked now, while
    the reviewer can fix it; the export checks again); any other answer, the task's rule."""
    if not tool_turns.uses_tools(item.tools, item.messages):
        check_correction(task, correction)
        return
    _, problem = tool_turns.tool_record(item.messages, item.tools, correction, [])
    if problem is not None:
        raise ReviewError(f"correction refused: {problem}")


def decide(
    engine: Engine,
    item_id: int,
    reviewer: str,
    decision: str,
    *,
    task: TaskConfig,
    correction: str | None = None,
    note: str | None = None,
    audit_log: Path | None = None,
    now: datetime | None = None,
    by: str | None = None,
) -> ReviewItem:
    """Record a decision on an item this reviewer holds (or that nobody holds); its audit
    entry (actor: the reviewer; `by`, a name the reviewer typed, beside it) goes on the log
    before the decision commits, and a failure to write it leaves the item undecided."""
    if decision not in DECISIONS:
        raise ReviewError(f"decision must be one of {list(DECISIONS)}, not {decision!r}")
    correction = (correction or "").strip() or None
    if decision == "correct" and correction is None:
        raise ReviewError("a correction needs the corrected answer")
    if decision == "accept" and correction is not None:
        raise ReviewError("an accepted answer takes no correction (use 'correct')")
    held = get_item(engine, item_id)
    if correction is not None:
        check_item_correction(task, held, correction)
    stamp = utc_timestamp(lease.now_or(now))
    subject = f"interaction/{held.interaction_id}"
    shown = {"by": by} if by else {}

    def record() -> None:
        if audit_log is not None:
            details = {"item": item_id, "decision": decision, **shown}
            audit.append(audit_log, "review", subject, details=details, actor=reviewer)

    settled = lease.settle(
        engine,
        review_items,
        item_id,
        reviewer,
        stamp,
        record,
        decision=decision,
        correction=correction,
        note=note,
    )
    item = get_item(engine, item_id)
    if not settled:
        if item.status == "done":
            raise ReviewError(
                f"item {item_id} was already decided by {item.decided_by} at {item.decided_at}"
            )
        raise ReviewError(f"item {item_id} is held by {item.claimed_by} until {item.claim_expires}")
    return item


def counts(engine: Engine, models: Sequence[str] | None = None) -> dict[str, int]:
    """Open, claimed and decided items, and decided items by decision; of `models` only, if
    given (a reviewer key sees the queue of its models)."""
    scope = lease.in_scope(review_items, models)
    return lease.tally(engine, review_items, review_items.c.decision, DECISIONS, scope)


def decided_items(engine: Engine) -> list[ReviewItem]:
    """Every decided item, oldest decision first."""
    with reading(engine) as conn:
        rows = conn.execute(
            _query()
            .where(review_items.c.status == "done")
            .order_by(review_items.c.decided_at, review_items.c.id)
        ).all()
    return [_item(r) for r in rows]
