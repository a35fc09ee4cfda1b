"""Slice audit: the same metrics per value of a meta field, the worst slice and the disparity."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable
from typing import Any

MetricsOf = Callable[[list[int]], dict[str, float]]


def audit_slices(
    meta: list[dict[str, Any]],
    fields: list[str],
    metrics_of: MetricsOf,
    main_metric: str,
    floor: float | None,
    min_rows: int,
) -> dict[str, Any]:
    """Per field: metrics per value; worst and best judged slice and their ratio.

    A slice with fewer than `min_rows` rows is reported but not judged: it can neither be the
    worst slice nor be flagged, because a handful of rows says little about a group.
    """
    report: dict[str, Any] = {}
    for field in fields:
        groups: dict[str, list[int]] = defaultdict(list)
        for i, row in enumerate(meta):
            groups[str(row.get(field, "<missing>"))].append(i)
        values = {}
        for value, rows in sorted(groups.items()):
            metrics = metrics_of(rows)
            judged = len(rows) >= min_rows
            values[value] = {
                "rows": len(rows),
                "metrics": metrics,
                "judged": judged,
                "below_floor": judged and floor is not None and metrics[main_metric] < floor,
            }
        judged_values = {v: s for v, s in values.items() if s["judged"]}
        worst = best = ratio = None
        if judged_values:
            worst = min(judged_values, key=lambda v: judged_values[v]["metrics"][main_metric])
            best = max(judged_values, key=lambda v: judged_values[v]["metrics"][main_metric])
            top = judged_values[best]["metrics"][main_metric]
            low = judged_values[worst]["metrics"][main_metric]
            ratio = low / top if top > 0 else 1.0
        report[field] = {"values": values, "worst": worst, "best": best, "ratio": ratio}
    return report
