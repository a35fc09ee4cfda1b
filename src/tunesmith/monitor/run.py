"""`tunesmith monitor`: judge a window of production per model and fill the review queue."""

from __future__ import annotations

import hashlib
import random
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from tunesmith.config import ProjectConfig
from tunesmith.config.monitor import MonitorConfig, parse_duration
from tunesmith.config.workspace import Workspace
from tunesmith.monitor.window import (
    Captured,
    error_alerts,
    load_window,
    statistics,
    thumbs_down,
    training_reference,
)
from tunesmith.monitor.window_report import write_report
from tunesmith.review import queue as review
from tunesmith.store import audit
from tunesmith.store.clock import utc_timestamp
from tunesmith.store.db import open_store
from tunesmith.store.files import sha256_file

Progress = Callable[[str], None]


@dataclass(frozen=True)
class MonitorResult:
    path: Path
    report: dict[str, Any]
    enqueued: int


def audit_sampled(interaction_id: str, rate: float, seed: int = 0) -> bool:
    """A stable seeded random sample: with one seed an interaction is always in or out,
    whichever window it is judged in and whatever else flags it."""
    digest = hashlib.sha256(f"{seed}:{interaction_id}".encode()).hexdigest()
    return int(digest[:8], 16) / 0xFFFFFFFF < rate


def _drift(
    ws: Workspace, config: ProjectConfig, items: list[Captured], run_id: str
) -> tuple[list[dict[str, Any]], dict[str, float], dict[str, Any]]:
    """Input drift (domain classifier, MMD) and label shift against the run's training data."""
    from tunesmith.monitor.drift import domain_classifier_test, label_shift, mmd_test
    from tunesmith.monitor.embed import embed

    settings = config.monitor
    reference = training_reference(ws, config, run_id)
    texts = reference.texts
    if len(texts) > settings.reference_size:
        texts = random.Random(0).sample(texts, settings.reference_size)
    ref = embed(texts)
    cur = embed([i.user_text for i in items])
    domain, unusual = domain_classifier_test(ref, cur, alpha=settings.drift_alpha)
    checks = [domain.to_json(), mmd_test(ref, cur, alpha=settings.drift_alpha).to_json()]
    labels = Counter(i.label for i in items if i.label is not None)
    if reference.label_counts and labels:
        checks.append(
            label_shift(reference.label_counts, dict(labels), alpha=settings.drift_alpha).to_json()
        )
    scores = {i.id: float(p) for i, p in zip(items, unusual, strict=True)}
    plots = {
        "reference": ref,
        "current": cur,
        "label_reference": reference.label_counts,
        "dataset": reference.dataset,
    }
    return checks, scores, plots


def candidates(
    items: list[Captured],
    settings: MonitorConfig,
    down: set[str],
    drifted: bool,
    unusual: dict[str, float],
) -> list[review.Candidate]:
    """Why each interaction deserves a person's look, if it does."""
    top: set[str] = set()
    if drifted and settings.drift_review_top:
        ranked = sorted(unusual, key=lambda k: -unusual[k])
        top = set(ranked[: settings.drift_review_top])
    out = []
    for item in items:
        if item.finish_reason in ("error", "cancelled"):
            continue  # no answer to judge: counted in the report's error and cancelled rates
        reasons = []
        if item.label_margin is not None and item.label_margin < settings.confidence_threshold:
            reasons.append("low_confidence")
        reasons += item.flags
        if item.id in down:
            reasons.append("thumbs_down")
        if item.id in top:
            reasons.append("drift")
        # drawn whatever else flags the answer, so the sample is not picked by doubt
        audited = audit_sampled(item.id, settings.audit_sample_rate, settings.audit_seed)
        if audited:
            reasons.append(review.AUDIT)
        if reasons:
            # the audit sample first, all alike (a queue reviewed only in part still leaves a
            # random sample); then the most doubtful
            priority = -1.0 if audited else (item.label_margin or 0.0)
            out.append(review.Candidate(item.id, item.model, reasons, priority))
    return out


def monitor(
    ws: Workspace,
    config: ProjectConfig,
    since: str | None = None,
    now: datetime | None = None,
    progress: Progress | None = None,
) -> MonitorResult:
    """Judge the window per model, write the report, enqueue review candidates."""
    tick = progress or (lambda _: None)
    settings = config.monitor
    end = now or datetime.now(UTC)
    start = end - timedelta(seconds=parse_duration(since or settings.window))
    store = open_store(ws.state_url())
    tick("reading interactions")
    items = load_window(store, start, end)
    groups: dict[str, list[Captured]] = {}
    for item in items:
        groups.setdefault(item.group, []).append(item)
    models, plots, queued = [], {}, []
    down = thumbs_down(store, start, end)
    for group, members in sorted(groups.items()):
        entry: dict[str, Any] = {
            "model": group,
            "statistics": statistics(members, settings.confidence_threshold),
            "checks": [],
        }
        entry["alerts"] = error_alerts(entry["statistics"], settings.max_error_rate)
        run_ids = Counter(i.run_id for i in members if i.run_id)
        unusual: dict[str, float] = {}
        plots[group] = {
            "margins": [i.label_margin for i in members if i.label_margin is not None],
            "labels": dict(Counter(i.label for i in members if i.label is not None)),
        }
        if not run_ids:
            entry["drift_skipped"] = "the base model has no training data to compare with"
        elif len(members) < settings.min_window:
            entry["drift_skipped"] = (
                f"{len(members)} interactions, fewer than {settings.min_window}"
            )
        else:
            run_id = run_ids.most_common(1)[0][0]
            tick(f"drift of {group} ({len(members)} interactions) against {run_id}")
            entry["checks"], unusual, drift_plots = _drift(ws, config, members, run_id)
            plots[group].update(drift_plots)
            entry["reference_run"] = run_id
            entry["reference_dataset"] = drift_plots.pop("dataset")
        # input drift: either embedding test (bench/drift.py measures the pair together)
        entry["input_drift"] = any(c["drifted"] for c in entry["checks"][:2])
        entry["drifted"] = any(c["drifted"] for c in entry["checks"])
        found = candidates(members, settings, down, entry["input_drift"], unusual)
        entry["review_candidates"] = dict(Counter(r for c in found for r in c.reasons))
        queued += found
        models.append(entry)
    enqueued = review.enqueue(store, queued, end)
    report = {
        "created_at": utc_timestamp(end),
        "window": {"start": utc_timestamp(start), "end": utc_timestamp(end)},
        "interactions": len(items),
        "models": models,
        "review": {"enqueued": enqueued, "queue": review.counts(store)},
    }
    tick("writing the report")
    path = write_report(ws.state_dir / "monitor", report, plots, config)
    audit.append(
        audit.audit_path(ws.state_dir),
        "monitor",
        f"window/{report['window']['start']}..{report['window']['end']}",
        outputs={"report.json": sha256_file(path / "report.json")},
        details={
            "interactions": len(items),
            "drifted": [m["model"] for m in models if m["drifted"]],
            "alerts": [m["model"] for m in models if m["alerts"]],
            "enqueued": enqueued,
        },
    )
    return MonitorResult(path, report, enqueued)
