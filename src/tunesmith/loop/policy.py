"""The retraining policy: which triggers fire now, from the monitor's reports and the reviews.

Each trigger only counts evidence newer than the last finished loop cycle, so a drift that
was already answered by a retraining does not fire again.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass
from datetime import datetime
from typing import Any

import sqlalchemy as sa

from tunesmith.config import ProjectConfig
from tunesmith.config.monitor import parse_duration
from tunesmith.config.workspace import Workspace
from tunesmith.loop.cycles import last_cycle
from tunesmith.store.db import open_store, reading, review_items


@dataclass(frozen=True)
class Trigger:
    name: str
    fired: bool
    detail: str

    def to_json(self) -> dict[str, Any]:
        return asdict(self)


def _latest_report(ws: Workspace, after: str) -> dict[str, Any] | None:
    reports = sorted((ws.state_dir / "monitor").glob("*/report.json"))
    for path in reversed(reports):
        report = json.loads(path.read_text(encoding="utf-8"))
        if report["created_at"] > after:
            return report
    return None


def _reviews_since(ws: Workspace, item_id: int) -> tuple[int, int, int]:
    """(accepted, corrected, decided) among items decided after `item_id`."""
    with reading(open_store(ws.state_url())) as conn:
        rows = conn.execute(
            sa.select(review_items.c.decision, review_items.c.correction).where(
                review_items.c.status == "done", review_items.c.id > item_id
            )
        ).all()
    accepted = sum(r.decision == "accept" for r in rows)
    corrected = sum(r.correction is not None for r in rows)
    return accepted, corrected, len(rows)


def _model_entry(ws: Workspace, since: str, model_name: str) -> tuple[Any, Any]:
    report = _latest_report(ws, since)
    model = next((m for m in (report or {}).get("models", []) if m["model"] == model_name), None)
    return report, model


def evaluate_triggers(
    ws: Workspace, config: ProjectConfig, model_name: str, champion_since: str, now: datetime
) -> list[Trigger]:
    """Every configured trigger with whether it fires and why."""
    policy = config.monitor.retrain
    previous = last_cycle(ws)
    since = previous["finished_at"] if previous else champion_since
    through = previous["feedback_through"] if previous else 0
    triggers = []
    if policy.on_drift:
        report = _latest_report(ws, since)
        model = next(
            (m for m in (report or {}).get("models", []) if m["model"] == model_name), None
        )
        if model is None:
            triggers.append(
                Trigger("drift", False, f"no monitor report on {model_name} since {since}")
            )
        else:
            fired = bool(model.get("input_drift"))
            checks = ", ".join(f"{c['name']} {c['statistic']:.3f}" for c in model["checks"])
            detail = f"report of {report['created_at']}: " + (
                checks or model.get("drift_skipped", "")
            )
            triggers.append(Trigger("drift", fired, detail))
    if policy.on_error_rate:
        report, model = _model_entry(ws, since, model_name)
        if model is None:
            detail = f"no monitor report on {model_name} since {since}"
            triggers.append(Trigger("error_rate", False, detail))
        else:
            alerts = model.get("alerts", [])
            rate = model["statistics"].get("error_rate")
            detail = f"report of {report['created_at']}: " + (
                "; ".join(alerts) or f"error rate {rate} within the limit"
            )
            triggers.append(Trigger("error_rate", bool(alerts), detail))
    accepted, corrected, decided = _reviews_since(ws, through)
    if policy.min_corrections is not None:
        fired = corrected >= policy.min_corrections
        detail = f"{corrected} new corrections (needs {policy.min_corrections})"
        triggers.append(Trigger("corrections", fired, detail))
    if policy.reviewed_accuracy_floor is not None:
        if decided < policy.min_reviewed:
            triggers.append(
                Trigger(
                    "reviewed_accuracy", False, f"{decided} reviewed, under {policy.min_reviewed}"
                )
            )
        else:
            accuracy = accepted / decided
            fired = accuracy < policy.reviewed_accuracy_floor
            floor = policy.reviewed_accuracy_floor
            detail = f"{accuracy:.3f} of {decided} reviewed answers accepted (floor {floor})"
            triggers.append(Trigger("reviewed_accuracy", fired, detail))
    if policy.every is not None:
        last = datetime.fromisoformat(since.replace("Z", "+00:00"))
        age = (now - last).total_seconds()
        fired = age >= parse_duration(policy.every)
        triggers.append(
            Trigger("schedule", fired, f"{age / 3600:.1f} h since {since} (every {policy.every})")
        )
    return triggers
