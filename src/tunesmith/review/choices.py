"""Pairwise choices: a reviewer sees one prompt and two answers and picks the better one.

Pairs come from a preference file (`tunesmith feedback generate`'s
`preferences/<id>/pairs.jsonl`, or any prepared one) into the state store's `choice_items`
table. Which answer is shown as A is fixed by a seeded hash of the pair, not by the file's
order, so the reviewer cannot read the AI judge's pick off its place; the pick is kept
(`ai_pick`) to measure agreement and never leaves the store through the reviewer's views.
Claims, leases and decisions follow the review queue's rule (`lease.py`): a decision's audit
entry is written before it commits, and a reviewer key sees only its models' pairs.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Collection, Sequence
from dataclasses import asdict, dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Engine

from tunesmith.review import lease
from tunesmith.store import audit
from tunesmith.store.clock import utc_timestamp
from tunesmith.store.db import choice_items, reading
from tunesmith.store.files import sha256_file

CHOICES = ("a", "b", "tie")
# AI feedback's own files say `source: ai-feedback`; these sources are people, not a judge
HUMAN_SOURCES = ("review", "review-choice")


class ChoiceError(ValueError):
    """A choice that cannot be made (taken by another reviewer, decided, not one of CHOICES)."""


@dataclass(frozen=True)
class ChoiceItem:
    id: int
    pair_key: str
    prompt: list[dict[str, str]]
    answer_a: str
    answer_b: str
    source: str
    model: str | None
    run_id: str | None
    ai_pick: str | None
    enqueued_at: str
    status: str
    claimed_by: str | None
    claim_expires: str | None
    choice: str | None
    note: str | None
    decided_by: str | None
    decided_at: str | None

    def to_json(self) -> dict[str, Any]:
        """What a reviewer may see: knowing the AI judge's pick would bias the choice."""
        data = asdict(self)
        del data["ai_pick"]
        return data


@dataclass(frozen=True)
class Enqueued:
    """What became of the lines read: read = queued + already_queued + malformed."""

    counts: dict[str, int]
    problems: list[tuple[int, str]] = field(default_factory=list)  # (line, reason)


def pair_key(prompt: list[dict[str, str]], first: str, second: str) -> str:
    """The pair's identity: the same prompt and answers in either order are one pair."""
    text = json.dumps([prompt, sorted((first, second))], ensure_ascii=False, sort_keys=True)
    return hashlib.sha256(text.encode()).hexdigest()


def chosen_on_a(key: str, seed: int) -> bool:
    """Whether the file's chosen answer is shown as A: a coin fixed by the seed and the pair."""
    return hashlib.sha256(f"{seed}\x00{key}".encode()).digest()[0] < 128


def _text(meta: dict[str, Any], key: str) -> str | None:
    value = meta.get(key)
    return value if isinstance(value, str) else None


def _parse(line: str) -> tuple[dict[str, Any] | None, str | None]:
    """A pair as the row values it needs, or why it cannot be shown side by side."""
    # here, not at the top: records imports the PII masker (Presidio, seconds to load), and
    # the server and the feedback export use this module without queuing anything
    from tunesmith.preference.pairs import problem

    try:
        record = json.loads(line)
    except json.JSONDecodeError as err:
        return None, f"bad JSON: {err.msg}"
    found = problem(record)
    if found is not None:
        return None, found[0]
    if len(record["chosen"]) != 1 or len(record["rejected"]) != 1:
        return None, "an answer of several messages cannot be shown side by side"
    meta = record.get("meta", {})
    chosen, rejected = record["chosen"][0]["content"], record["rejected"][0]["content"]
    prompt = [{"role": m["role"], "content": m["content"]} for m in record["prompt"]]
    return {
        "prompt": prompt,
        "chosen": chosen,
        "rejected": rejected,
        "model": _text(meta, "model"),
        "run_id": _text(meta, "run_id"),
        "ai": _text(meta, "source") not in HUMAN_SOURCES,
    }, None


def enqueue_pairs(
    engine: Engine,
    pairs_file: Path,
    source: str,
    limit: int | None = None,
    seed: int = 0,
    *,
    audit_log: Path | None = None,
    now: datetime | None = None,
) -> Enqueued:
    """Queue the pairs of `pairs_file` (named `source`, workspace-relative) not queued before,
    each answer on side A or B by a seeded hash of the pair; reading stops once `limit` are
    queued. Malformed lines are counted and named by line, never queued."""
    rows: list[tuple[int, dict[str, Any] | None, str | None]] = []
    with pairs_file.open(encoding="utf-8") as handle:
        for number, line in enumerate(handle, start=1):
            if line.strip():
                rows.append((number, *_parse(line)))
    keys = {
        number: pair_key(row["prompt"], row["chosen"], row["rejected"])
        for number, row, _ in rows
        if row is not None
    }
    counts = {"read": 0, "queued": 0, "already_queued": 0, "malformed": 0}
    problems: list[tuple[int, str]] = []
    stamp = utc_timestamp(lease.now_or(now))
    with engine.begin() as conn:
        known: set[str] = set()
        wanted = sorted(set(keys.values()))
        for start in range(0, len(wanted), 500):  # under every database's bound-parameter cap
            chunk = wanted[start : start + 500]
            found = sa.select(choice_items.c.pair_key).where(choice_items.c.pair_key.in_(chunk))
            known.update(conn.execute(found).scalars())
        for number, row, reason in rows:
            if limit is not None and counts["queued"] >= limit:
                break
            counts["read"] += 1
            if row is None:
                counts["malformed"] += 1
                problems.append((number, reason or "malformed"))
                continue
            key = keys[number]
            if key in known:
                counts["already_queued"] += 1
                continue
            known.add(key)
            on_a = chosen_on_a(key, seed)
            a, b = (row["chosen"], row["rejected"]) if on_a else (row["rejected"], row["chosen"])
            conn.execute(
                choice_items.insert().values(
                    pair_key=key,
                    prompt=row["prompt"],
                    answer_a=a,
                    answer_b=b,
                    source=f"{source}:{number}",
                    model=row["model"],
                    run_id=row["run_id"],
                    ai_pick=("a" if on_a else "b") if row["ai"] else None,
                    enqueued_at=stamp,
                    status="open",
                )
            )
            counts["queued"] += 1
    if audit_log is not None and counts["queued"]:
        audit.append(
            audit_log,
            "review.queue",
            source,
            inputs={source: sha256_file(pairs_file)},
            details={"kind": "choices", **counts},
        )
    return Enqueued(counts, problems)


def get_choice(engine: Engine, item_id: int) -> ChoiceItem:
    with reading(engine) as conn:
        row = conn.execute(sa.select(choice_items).where(choice_items.c.id == item_id)).first()
    if row is None:
        raise ChoiceError(f"choice item {item_id} does not exist")
    return ChoiceItem(**row._mapping)


def claim_next(
    engine: Engine,
    reviewer: str,
    lease_seconds: int,
    now: datetime | None = None,
    skip: Collection[int] = (),
    models: Sequence[str] | None = None,
) -> ChoiceItem | None:
    """The reviewer's current item, else the oldest free one not in `skip` (items this
    reviewer passed over), claimed for the lease; of `models` only (a key's scope), if given:
    a pair without a model is then only for a `*` key."""
    order = (choice_items.c.id,)
    scope = lease.in_scope(choice_items, models)
    item_id = lease.claim(engine, choice_items, reviewer, lease_seconds, order, now, skip, scope)
    return None if item_id is None else get_choice(engine, item_id)


def release(engine: Engine, item_id: int, reviewer: str) -> None:
    """Give a claimed item back to the queue."""
    lease.release(engine, choice_items, item_id, reviewer)


def decide(
    engine: Engine,
    item_id: int,
    reviewer: str,
    choice: str,
    note: str | None = None,
    *,
    audit_log: Path | None = None,
    now: datetime | None = None,
    by: str | None = None,
) -> ChoiceItem:
    """Record the better answer ("a", "b") or a tie on an item this reviewer holds (or that
    nobody holds); the audit entry goes on the log before the decision commits."""
    if choice not in CHOICES:
        raise ChoiceError(f"choice must be one of {list(CHOICES)}, not {choice!r}")
    stamp = utc_timestamp(lease.now_or(now))
    note = (note or "").strip() or None
    source = get_choice(engine, item_id).source
    shown = {"by": by} if by else {}

    def record() -> None:
        if audit_log is not None:
            details = {"item": item_id, "choice": choice, "source": source, **shown}
            audit.append(
                audit_log, "review.choice", f"choice/{item_id}", details=details, actor=reviewer
            )

    settled = lease.settle(
        engine, choice_items, item_id, reviewer, stamp, record, choice=choice, note=note
    )
    item = get_choice(engine, item_id)
    if not settled:
        if item.status == "done":
            raise ChoiceError(
                f"choice {item_id} was already decided by {item.decided_by} at {item.decided_at}"
            )
        raise ChoiceError(
            f"choice {item_id} is held by {item.claimed_by} until {item.claim_expires}"
        )
    return item


def counts(engine: Engine, models: Sequence[str] | None = None) -> dict[str, int]:
    """Open, claimed and decided items, and decided items by choice; of `models` only, if
    given."""
    scope = lease.in_scope(choice_items, models)
    return lease.tally(engine, choice_items, choice_items.c.choice, CHOICES, scope)


def decided_choices(engine: Engine) -> list[ChoiceItem]:
    """Every decided item, oldest decision first."""
    with reading(engine) as conn:
        rows = conn.execute(
            sa.select(choice_items)
            .where(choice_items.c.status == "done")
            .order_by(choice_items.c.decided_at, choice_items.c.id)
        ).all()
    return [ChoiceItem(**r._mapping) for r in rows]
