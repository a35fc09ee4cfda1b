"""Slice audit and promotion gates on hand-made numbers."""

from __future__ import annotations

from typing import Any

import pytest

from tunesmith.config import GatesConfig
from tunesmith.evaluate.gates import check_gates
from tunesmith.evaluate.slices import audit_slices

# per row: region, tier and whether the answer was right
ROWS = [
    ("eu", "gold", True),
    ("eu", "gold", True),
    ("eu", "free", True),
    ("eu", "free", False),
    ("us", "gold", True),
    ("us", "free", False),
    ("us", "free", False),
    ("us", "free", True),
    ("apac", "gold", False),
]
META = [{"region": r, "tier": t} for r, t, _ in ROWS]
CORRECT = [ok for _, _, ok in ROWS]


def accuracy_of(index: list[int]) -> dict[str, float]:
    return {"accuracy": sum(CORRECT[i] for i in index) / len(index)}


def audit(fields: list[str], floor: float | None = None, min_rows: int = 2) -> dict[str, Any]:
    return audit_slices(META, fields, accuracy_of, "accuracy", floor, min_rows)


def test_rows_per_value_sum_to_the_total() -> None:
    report = audit(["region", "tier"])
    for field in ("region", "tier"):
        values = report[field]["values"]
        assert sum(v["rows"] for v in values.values()) == len(META)
    assert {k: v["rows"] for k, v in report["region"]["values"].items()} == {
        "apac": 1,
        "eu": 4,
        "us": 4,
    }
    assert report["region"]["values"]["eu"]["metrics"] == {"accuracy": 0.75}
    assert report["region"]["values"]["us"]["metrics"] == {"accuracy": 0.5}


def test_a_missing_field_is_its_own_slice() -> None:
    meta = [{"region": "eu"}, {}]
    report = audit_slices(meta, ["region"], lambda ix: {"m": float(len(ix))}, "m", None, 1)
    assert set(report["region"]["values"]) == {"eu", "<missing>"}


def test_small_slices_are_reported_but_never_judged() -> None:
    # apac has one row, all wrong: the worst value, but below min_rows
    report = audit(["region"], floor=0.9, min_rows=2)["region"]
    apac = report["values"]["apac"]
    assert apac["rows"] == 1 and apac["metrics"] == {"accuracy": 0.0}
    assert apac["judged"] is False and apac["below_floor"] is False
    assert report["worst"] == "us" and report["best"] == "eu"
    assert report["ratio"] == pytest.approx(0.5 / 0.75)


def test_floor_flags_judged_slices_below_it() -> None:
    report = audit(["region"], floor=0.6, min_rows=2)["region"]
    flags = {k: v["below_floor"] for k, v in report["values"].items()}
    assert flags == {"apac": False, "eu": False, "us": True}
    no_floor = audit(["region"], floor=None, min_rows=2)["region"]
    assert not any(v["below_floor"] for v in no_floor["values"].values())


def test_ratio_is_worst_over_best() -> None:
    report = audit(["tier"], min_rows=1)["tier"]
    # gold: 3 of 4 right; free: 2 of 5
    assert report["worst"] == "free" and report["best"] == "gold"
    assert report["ratio"] == pytest.approx((2 / 5) / (3 / 4))


def test_no_judged_slice_means_no_worst_best_or_ratio() -> None:
    report = audit(["region"], floor=0.9, min_rows=100)["region"]
    assert report["worst"] is None and report["best"] is None and report["ratio"] is None
    assert not any(v["judged"] or v["below_floor"] for v in report["values"].values())


def _by_name(results: list[dict[str, Any]]) -> dict[str, dict[str, Any]]:
    return {g["gate"]: g for g in results}


def test_min_gates_pass_and_fail_with_their_numbers() -> None:
    gates = GatesConfig(min={"accuracy": 0.7, "macro_f1": 0.6})
    results = check_gates(gates, {"accuracy": 0.75, "macro_f1": 0.5}, {}, None)
    assert [g["gate"] for g in results] == ["min accuracy", "min macro_f1"]
    acc, f1 = results
    assert acc["passed"] is True and acc["value"] == 0.75 and acc["threshold"] == 0.7
    assert acc["detail"] == "0.750 >= 0.700"
    assert f1["passed"] is False and f1["detail"] == "0.500 < 0.600"


def test_min_gate_at_exactly_the_threshold_passes() -> None:
    (gate,) = check_gates(GatesConfig(min={"accuracy": 0.7}), {"accuracy": 0.7}, {}, None)
    assert gate["passed"] is True


def test_a_metric_the_task_lacks_fails_as_not_measured() -> None:
    (gate,) = check_gates(GatesConfig(min={"accuracy": 0.5}), {"chrf": 80.0}, {}, None)
    assert gate["passed"] is False and gate["detail"] == "not measured"
    assert gate["value"] is None


def test_max_regression_without_a_champion_passes_and_says_so() -> None:
    gates = GatesConfig(max_regression={"accuracy": 0.02})
    (gate,) = check_gates(gates, {"accuracy": 0.1}, {}, None)
    assert gate["gate"] == "max regression accuracy"
    assert gate["passed"] is True and gate["detail"] == "no champion to compare"


def test_max_regression_against_a_champion() -> None:
    gates = GatesConfig(max_regression={"accuracy": 0.02})
    champion = {"accuracy": 0.80}
    (ok,) = check_gates(gates, {"accuracy": 0.79}, {}, champion)
    assert ok["passed"] is True and ok["value"] == pytest.approx(0.01)
    (bad,) = check_gates(gates, {"accuracy": 0.70}, {}, champion)
    assert bad["passed"] is False and bad["value"] == pytest.approx(0.10)
    assert "champion 0.800 -> 0.700" in bad["detail"] and "allowed 0.020" in bad["detail"]
    (better,) = check_gates(gates, {"accuracy": 0.95}, {}, champion)
    assert better["passed"] is True and better["value"] < 0


def test_max_regression_on_a_metric_neither_has_fails() -> None:
    gates = GatesConfig(max_regression={"accuracy": 0.02})
    (gate,) = check_gates(gates, {"chrf": 50.0}, {}, {"chrf": 50.0})
    assert gate["passed"] is False and gate["detail"] == "not measured"


def test_min_slice_ratio_per_field() -> None:
    slices = {
        "region": {"worst": "us", "best": "eu", "ratio": 0.5},
        "tier": {"worst": "free", "best": "gold", "ratio": 0.9},
        "channel": {"worst": None, "best": None, "ratio": None},
    }
    results = _by_name(check_gates(GatesConfig(min_slice_ratio=0.8), {}, slices, None))
    assert set(results) == {
        "min slice ratio region",
        "min slice ratio tier",
        "min slice ratio channel",
    }
    region = results["min slice ratio region"]
    assert region["passed"] is False and region["metric"] == "region"
    assert "worst 'us' / best 'eu' = 0.500 < 0.800" in region["detail"]
    assert results["min slice ratio tier"]["passed"] is True
    channel = results["min slice ratio channel"]
    # a fairness gate with no evidence fails rather than passing silently
    assert channel["passed"] is False and "enough rows" in channel["detail"]


def test_min_slice_ratio_without_any_slice_fails() -> None:
    (gate,) = check_gates(GatesConfig(min_slice_ratio=0.8), {}, {}, None)
    assert gate["passed"] is False and "eval.slices is empty" in gate["detail"]


def test_max_gate_and_regression_of_a_lower_is_better_metric() -> None:
    gates = GatesConfig(max={"invalid_rate": 0.05}, max_regression={"invalid_rate": 0.01})
    results = _by_name(check_gates(gates, {"invalid_rate": 0.2}, {}, {"invalid_rate": 0.0}))
    ceiling = results["max invalid_rate"]
    assert ceiling["passed"] is False and ceiling["detail"] == "0.200 > 0.050"
    # invalid answers rising from 0.0 to 0.2 is a regression of +0.2, not a drop of -0.2
    regression = results["max regression invalid_rate"]
    assert regression["passed"] is False and regression["value"] == pytest.approx(0.2)


def test_no_slice_gates_without_min_slice_ratio() -> None:
    slices = {"region": {"worst": "us", "best": "eu", "ratio": 0.1}}
    assert check_gates(GatesConfig(), {"accuracy": 1.0}, slices, None) == []


def test_gates_end_to_end_on_an_audit() -> None:
    slices = audit(["region", "tier"], min_rows=2)
    gates = GatesConfig(min={"accuracy": 0.5}, min_slice_ratio=0.6)
    results = _by_name(check_gates(gates, {"accuracy": 5 / 9}, slices, None))
    assert results["min accuracy"]["passed"] is True
    assert results["min slice ratio region"]["value"] == pytest.approx(0.5 / 0.75)
    assert results["min slice ratio region"]["passed"] is True  # 0.667 >= 0.6
    assert results["min slice ratio tier"]["passed"] is False  # 0.533 < 0.6
