"""Promotion gates: each a pass/fail with the numbers behind it."""

from __future__ import annotations

from typing import Any

from tunesmith.config import GatesConfig


def _gate(name: str, metric: str, value: float | None, threshold: float, passed: bool, detail: str):
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
        drop = before - value
        ok = drop <= allowed
        detail = f"champion {before:.3f} -> {value:.3f} (drop {drop:+.3f}, allowed {allowed:.3f})"
        results.append(_gate(name, metric, drop, allowed, ok, detail))
    if gates.min_slice_ratio is not None:
        for field, audit in slices.items():
            ratio = audit["ratio"]
            name = f"min slice ratio {field}"
            if ratio is None:
                detail = "no slice has enough rows to judge"
                results.append(_gate(name, field, None, gates.min_slice_ratio, True, detail))
                continue
            ok = ratio >= gates.min_slice_ratio
            detail = (
                f"worst '{audit['worst']}' / best '{audit['best']}' = {ratio:.3f} "
                f"{'>=' if ok else '<'} {gates.min_slice_ratio:.3f}"
            )
            results.append(_gate(name, field, ratio, gates.min_slice_ratio, ok, detail))
    return results
