"""Claims with a lease on a queue table: the one rule both review queues follow.

A table here has `id`, `status` ("open" | "done"), `claimed_by` and `claim_expires`. A claim
is an UPDATE whose WHERE repeats the free condition, so two reviewers (two processes, two
browsers) never hold the same row, and a lease that runs out frees the row for someone else.
A decision is an UPDATE guarded the same way: only the holder, or anyone on a free row; its
audit entry is written inside that UPDATE's transaction, before the commit, so a decision
never stands without its entry (a crash between leaves an entry and an item still open).
A reviewer key sees only the rows of its models (`in_scope`).
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Sequence
from datetime import UTC, datetime, timedelta
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Engine

from tunesmith.store.clock import utc_timestamp
from tunesmith.store.db import reading


def now_or(now: datetime | None) -> datetime:
    return now or datetime.now(UTC)


def free(table: sa.Table, stamp: str) -> sa.ColumnElement[bool]:
    return sa.or_(table.c.claimed_by.is_(None), table.c.claim_expires < stamp)


def in_scope(table: sa.Table, models: Sequence[str] | None) -> sa.ColumnElement[bool]:
    """Rows whose `model` a key scoped to `models` may see, by `ApiKey.allows`'s rule: `*` is
    every model, a name covers itself, its versions and its aliases; None is no scope (the
    terminal's OS user). A row without a model is only for `*`."""
    if models is None or "*" in models:
        return sa.true()
    column = table.c.model
    covered = [
        sa.or_(
            column == scope,
            column.startswith(f"{scope}/", autoescape=True),
            column.startswith(f"{scope}@", autoescape=True),
        )
        for scope in models
    ]
    return sa.or_(*covered) if covered else sa.false()


def claim(
    engine: Engine,
    table: sa.Table,
    reviewer: str,
    lease_seconds: int,
    order_by: Sequence[sa.ColumnElement[Any]],
    now: datetime | None = None,
    skip: Collection[int] = (),
    scope: sa.ColumnElement[bool] | None = None,
) -> int | None:
    """The id of the row the reviewer holds (its lease renewed), else of the first free open
    row in `order_by` not in `skip`, claimed for the lease; None when there is none. Only rows
    matching `scope` (`in_scope`) are held or claimed."""
    seen = sa.true() if scope is None else scope
    moment = now_or(now)
    stamp, until = utc_timestamp(moment), utc_timestamp(moment + timedelta(seconds=lease_seconds))
    with engine.begin() as conn:
        mine = conn.execute(
            sa.select(table.c.id).where(
                table.c.status == "open",
                table.c.claimed_by == reviewer,
                table.c.claim_expires >= stamp,
                seen,
            )
        ).first()
        if mine is not None:
            conn.execute(table.update().where(table.c.id == mine.id).values(claim_expires=until))
            return int(mine.id)
        candidates = (
            conn.execute(
                sa.select(table.c.id)
                .where(
                    table.c.status == "open",
                    free(table, stamp),
                    table.c.id.not_in(list(skip)),
                    seen,
                )
                .order_by(*order_by)
                .limit(20)
            )
            .scalars()
            .all()
        )  # read whole: an open cursor would hold the snapshot
        for candidate in candidates:
            # the guard repeats the condition, so a concurrent claim makes this one miss
            taken = conn.execute(
                table.update()
                .where(table.c.id == candidate, table.c.status == "open", free(table, stamp))
                .values(claimed_by=reviewer, claim_expires=until)
            )
            if taken.rowcount == 1:
                return int(candidate)
    return None


def release(engine: Engine, table: sa.Table, item_id: int, reviewer: str) -> None:
    """Give a claimed row back to the queue (nothing happens unless `reviewer` holds it)."""
    with engine.begin() as conn:
        conn.execute(
            table.update()
            .where(table.c.id == item_id, table.c.claimed_by == reviewer)
            .values(claimed_by=None, claim_expires=None)
        )


def settle(
    engine: Engine,
    table: sa.Table,
    item_id: int,
    reviewer: str,
    stamp: str,
    record: Callable[[], object] | None = None,
    **values: Any,
) -> bool:
    """Mark an open row done with `values`, if the reviewer holds it or nobody does; whether
    it was this call that settled it. `record` (the audit entry) runs once the UPDATE took
    the row and before it commits: if it fails, the decision is rolled back."""
    with engine.begin() as conn:
        done = conn.execute(
            table.update()
            .where(
                table.c.id == item_id,
                table.c.status == "open",
                sa.or_(table.c.claimed_by == reviewer, free(table, stamp)),
            )
            .values(
                status="done",
                decided_by=reviewer,
                decided_at=stamp,
                claimed_by=None,
                claim_expires=None,
                **values,
            )
        )
        if done.rowcount == 1 and record is not None:
            record()
    return done.rowcount == 1


def tally(
    engine: Engine,
    table: sa.Table,
    verdict: sa.Column[Any],
    names: Sequence[str],
    scope: sa.ColumnElement[bool] | None = None,
) -> dict[str, int]:
    """Open, claimed (a live lease) and done rows, and done rows by each verdict name; of the
    rows matching `scope` only, when given."""
    seen = sa.true() if scope is None else scope
    stamp = utc_timestamp()
    out = {"open": 0, "claimed": 0, "done": 0, **dict.fromkeys(names, 0)}
    with reading(engine) as conn:
        grouped = conn.execute(
            sa.select(table.c.status, verdict, sa.func.count())
            .where(seen)
            .group_by(table.c.status, verdict)
        ).all()
        out["claimed"] = conn.execute(
            sa.select(sa.func.count()).where(
                table.c.status == "open", table.c.claim_expires >= stamp, seen
            )
        ).scalar_one()
    for status, value, n in grouped:
        out[status] += n
        if value is not None:
            out[value] += n
    return out
