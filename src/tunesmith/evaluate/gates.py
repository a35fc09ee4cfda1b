"""Promotion gates: each a pass/fail with the numbers behind it."""

from __future__ import annotations

from typing import Any

from tunesmith.config import GatesConfig
from tunesmith.config.eval import LOWER_IS_BETTER


def _gate(
    name: str, metric: str, value: float | None, threshold: float, passed: bool, detail: str
) -> dict[str, Any]:
    return {
        "gate": name,
        "metric": metric,
        "value": value,
        "threshold": threshold,
        "passed": passed,
        "detail": detail,
    }


def check_gates(
    gates: GatesConfig,
    metrics: dict[str, float],
    slices: dict[str, Any],
    champion: dict[str, float] | None,
) -> list[dict[str, Any]]:
    """Every configured gate, in config order; a metric the task does not have fails its gate."""
    results = []
    for metric, floor in gates.min.items():
        value = metrics.get(metric)
        if value is None:
            results.append(_gate(f"min {metric}", metric, None, floor, False, "not measured"))
        else:
            ok = value >= floor
            sign = ">=" if ok else "<"
            results.append(
                _gate(f"min {metric}", metric, value, floor, ok, f"{value:.3f} {sign} {floor:.3f}")
            )
    for metric, ceiling in gates.max.items():
        value = metrics.get(metric)
        if value is None:
            results.append(_gate(f"max {metric}", metric, None, ceiling, False, "not measured"))
        else:
            ok = value <= ceiling
            sign = "<=" if ok else ">"
            detail = f"{value:.3f} {sign} {ceiling:.3f}"
            results.append(_gate(f"max {metric}", metric, value, ceiling, ok, detail))
    for metric, allowed in gates.max_regression.items():
        name = f"max regression {metric}"
        if champion is None:
            # nothing to regress from: the first model of a name passes, and says so
            results.append(_gate(name, metric, None, allowed, True, "no champion to compare"))
            continue
        value, before = metrics.get(metric), champion.get(metric)
        if value is None or before is None:
            results.append(_gate(name, metric, None, allowed, False, "not measured"))
            continue
        # a regression is a fall for most metrics, a rise for error rates and perplexity
        drop = value - before if metric in LOWER_IS_BETTER else before - value
        ok = drop <= allowed
        detail = f"champion {before:.3f} -> {value:.3f} (drop {drop:+.3f}, allowed {allowed:.3f})"
        results.append(_gate(name, metric, drop, allowed, ok, detail))
    if gates.min_slice_ratio is not None:
        if not slices:
            detail = "eval.slices is empty: nothing to compare"
            results.append(_gate("min slice ratio", "", None, gates.min_slice_ratio, False, detail))
        for field, audit in slices.items():
            ratio = audit["ratio"]
            name = f"min slice ratio {field}"
            if ratio is None:
                # a fairness gate with no evidence must not pass
                detail = "no slice has enough rows to judge (eval.min_slice_rows)"
                results.append(_gate(name, field, None, gates.min_slice_ratio, False, detail))
                continue
            ok = ratio >= gates.min_slice_ratio
            detail = (
                f"worst '{audit['worst']}' / best '{audit['best']}' = {ratio:.3f} "
                f"{'>=' if ok else '<'} {gates.min_slice_ratio:.3f}"
            )
            results.append(_gate(name, field, ratio, gates.min_slice_ratio, ok, detail))
    return results
