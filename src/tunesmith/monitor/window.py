"""What production looked like in a window: captured interactions and their plain statistics."""

from __future__ import annotations

import json
from collections import Counter
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

import numpy as np
import sqlalchemy as sa
from sqlalchemy.engine import Engine

from tunesmith.config import ProjectConfig
from tunesmith.config.workspace import Workspace
from tunesmith.data.feedback import last_user_text
from tunesmith.models.labels import parse_label
from tunesmith.store.clock import utc_timestamp
from tunesmith.store.db import interactions, ratings, reading

ERROR_FLAGS = frozenset({"schema_invalid", "no_label"})


@dataclass(frozen=True)
class Captured:
    id: str
    created_at: str
    model: str
    run_id: str | None
    group: str  # the registry name when served from the registry, else the model asked for
    user_text: str
    output: str
    finish_reason: str
    latency_ms: float
    ttft_ms: float | None
    label: str | None
    label_margin: float | None
    flags: list[str]


def _in_window(start: datetime, end: datetime) -> sa.ColumnElement[bool]:
    return sa.and_(
        interactions.c.created_at >= utc_timestamp(start, "milliseconds"),
        interactions.c.created_at < utc_timestamp(end, "milliseconds"),
    )


def load_window(engine: Engine, start: datetime, end: datetime) -> list[Captured]:
    """Interactions created in [start, end), oldest first."""
    with reading(engine) as conn:
        rows = conn.execute(
            sa.select(interactions)
            .where(_in_window(start, end))
            .order_by(interactions.c.created_at, interactions.c.id)
        ).all()
    out = []
    for r in rows:
        choice = (r.choices or [{}])[0]
        out.append(
            Captured(
                id=r.id,
                created_at=r.created_at,
                model=r.model,
                run_id=r.run_id,
                group=r.registry_name or r.model,
                user_text=last_user_text(r.messages),
                output=choice.get("text") or "",
                finish_reason=r.finish_reason,
                latency_ms=r.latency_ms,
                ttft_ms=r.ttft_ms,
                label=r.label,
                label_margin=r.label_margin,
                flags=list(r.flags or []),
            )
        )
    return out


def thumbs_down(engine: Engine, start: datetime, end: datetime) -> set[str]:
    """Interactions created in [start, end) that their caller rated down."""
    # a join, not IN (ids): a window's ids outnumber a database's bound-parameter cap
    with reading(engine) as conn:
        found = conn.execute(
            sa.select(ratings.c.interaction_id)
            .join(interactions, interactions.c.id == ratings.c.interaction_id)
            .where(_in_window(start, end), ratings.c.rating == "down")
        ).scalars()
        return set(found)


def _percentile(values: list[float], q: float) -> float | None:
    return float(np.percentile(values, q)) if values else None


def statistics(items: list[Captured], confidence_threshold: float) -> dict[str, Any]:
    """Volume, latency, error rate and confidence of one model's window."""
    latencies = [i.latency_ms for i in items]
    ttfts = [i.ttft_ms for i in items if i.ttft_ms is not None]
    margins = [i.label_margin for i in items if i.label_margin is not None]
    errors = [i for i in items if i.finish_reason == "error" or ERROR_FLAGS & set(i.flags)]
    cancelled = sum(i.finish_reason == "cancelled" for i in items)
    return {
        "volume": len(items),
        "latency_ms_p50": _percentile(latencies, 50),
        "latency_ms_p95": _percentile(latencies, 95),
        "ttft_ms_p50": _percentile(ttfts, 50),
        "failed": sum(i.finish_reason == "error" for i in items),
        "cancelled": cancelled,
        "error_rate": len(errors) / len(items) if items else None,
        "cancelled_rate": cancelled / len(items) if items else None,
        "flags": dict(Counter(f for i in items for f in i.flags)),
        "confidence_mean": float(np.mean(margins)) if margins else None,
        "low_confidence_share": (
            sum(m < confidence_threshold for m in margins) / len(margins) if margins else None
        ),
    }


@dataclass(frozen=True)
class Reference:
    """What the served model was trained on: its training inputs and label counts."""

    run_id: str
    dataset: str
    texts: list[str]
    label_counts: dict[str, int]


def training_reference(ws: Workspace, config: ProjectConfig, run_id: str) -> Reference:
    """The run's train split (from its lineage): user inputs and label counts."""
    lineage_path = ws.runs_dir / run_id / "lineage.json"
    if not lineage_path.is_file():
        raise FileNotFoundError(f"{lineage_path}: the served run has no lineage record")
    dataset = json.loads(lineage_path.read_text(encoding="utf-8"))["dataset"]
    train = Path(dataset["path"]) / "train.jsonl"
    if not train.is_absolute():
        train = ws.root / train
    texts, labels = [], Counter[str]()
    task = config.task
    with train.open(encoding="utf-8") as handle:
        for line in handle:
            record = json.loads(line)
            texts.append(last_user_text(record["messages"]))
            if task.type == "classification" and task.labels:
                gold = record.get("meta", {}).get(task.label_field or "")
                answer = record["messages"][-1].get("content", "")
                label = gold or parse_label(answer, task.labels, task.answer_prefix)
                if label:
                    labels[label] += 1
    return Reference(run_id, f"{dataset['name']}/{dataset['version']}", texts, dict(labels))


def error_alerts(stats: dict[str, Any], max_error_rate: float | None) -> list[str]:
    """The report's alerts on one model's window statistics: its error rate over the limit."""
    rate = stats.get("error_rate")
    if max_error_rate is None or rate is None or rate <= max_error_rate:
        return []
    return [
        f"error rate {rate:.3f} over {max_error_rate} ({stats['failed']} failed, "
        f"{stats['cancelled']} cancelled of {stats['volume']} calls)"
    ]
