"""What a user's memory holds, forgetting it on request, and expiring it by retention; every
deletion is an audit entry."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Engine

from tunesmith.memory.records import Scope
from tunesmith.store import audit
from tunesmith.store.clock import utc_timestamp
from tunesmith.store.db import memory_episodes, memory_facts, reading

_EPISODE_FIELDS = ("id", "created_at", "model", "interaction_id", "text")
_FACT_FIELDS = ("id", "created_at", "slot", "value", "confidence", "method",
                "source_interaction", "superseded_at", "superseded_by")  # fmt: skip


def show(engine: Engine, scope: Scope, history: bool = False) -> dict[str, list[dict[str, Any]]]:
    """The scope's episodes and live facts, oldest first; with `history`, superseded facts too."""
    facts = sa.select(memory_facts).where(
        memory_facts.c.tenant == scope.tenant, memory_facts.c.end_user == scope.user
    )
    if not history:
        facts = facts.where(memory_facts.c.superseded_at.is_(None))
    episodes = sa.select(memory_episodes).where(
        memory_episodes.c.tenant == scope.tenant, memory_episodes.c.end_user == scope.user
    )
    with reading(engine) as conn:
        fact_rows = conn.execute(facts.order_by(memory_facts.c.id)).all()
        episode_rows = conn.execute(episodes.order_by(memory_episodes.c.id)).all()
    return {
        "facts": [{f: getattr(r, f) for f in _FACT_FIELDS} for r in fact_rows],
        "episodes": [{f: getattr(r, f) for f in _EPISODE_FIELDS} for r in episode_rows],
    }


def count(engine: Engine, scope: Scope) -> int:
    """Rows of every kind the store holds for `scope` (superseded facts included)."""
    with reading(engine) as conn:
        return sum(
            conn.execute(
                sa.select(sa.func.count()).where(
                    t.c.tenant == scope.tenant, t.c.end_user == scope.user
                )
            ).scalar_one()
            for t in (memory_episodes, memory_facts)
        )


def forget(
    engine: Engine, audit_log: Path, scope: Scope, actor: str | None = None
) -> dict[str, int]:
    """Delete every episode and fact of `scope` (history included) in one transaction, then
    append a `memory.forget` entry with the counts."""
    with engine.begin() as conn:
        counts = {
            name: conn.execute(
                table.delete().where(table.c.tenant == scope.tenant, table.c.end_user == scope.user)
            ).rowcount
            for name, table in (("episodes", memory_episodes), ("facts", memory_facts))
        }
    audit.append(audit_log, "memory.forget", scope.subject, details=counts, actor=actor)
    return counts


def expire(
    engine: Engine,
    audit_log: Path,
    retention_days: float,
    now: datetime | None = None,
    actor: str | None = None,
) -> dict[str, int]:
    """Delete episodes and facts (superseded ones too) older than `retention_days`; an audit
    entry `memory.expire` when something went."""
    cutoff = utc_timestamp(
        (now or datetime.now(UTC)) - timedelta(days=retention_days), "milliseconds"
    )
    with engine.begin() as conn:
        counts = {
            name: conn.execute(table.delete().where(table.c.created_at < cutoff)).rowcount
            for name, table in (("episodes", memory_episodes), ("facts", memory_facts))
        }
    if any(counts.values()):
        details = {**counts, "cutoff": cutoff, "retention_days": retention_days}
        audit.append(audit_log, "memory.expire", "memory", details=details, actor=actor)
    return counts


def memories_used(engine: Engine, record: dict[str, Any] | None) -> list[dict[str, Any]]:
    """The memories an interaction's record names, with their text as the store holds it now
    (`None` once forgotten or expired): what the review page shows an answer was given."""
    used = (record or {}).get("used") or []
    ids = {
        kind: [int(m["id"][1:]) for m in used if m["id"][0] == kind[0]]
        for kind in ("fact", "episode")
    }
    with reading(engine) as conn:
        facts = {
            f"f{r.id}": f"{r.slot}: {r.value}"
            for r in conn.execute(sa.select(memory_facts).where(memory_facts.c.id.in_(ids["fact"])))
        }
        episodes = {
            f"e{r.id}": r.text
            for r in conn.execute(
                sa.select(memory_episodes).where(memory_episodes.c.id.in_(ids["episode"]))
            )
        }
    held = facts | episodes
    return [{"ref": f"M{i}", **m, "text": held.get(m["id"])} for i, m in enumerate(used, start=1)]
