from __future__ import annotations

from collections import Counter

from tunesmith.config import SplitConfig
from tunesmith.data.split import assign_splits


def test_stratified_and_deterministic() -> None:
    items = [(f"id{i}", "big" if i % 4 else "small") for i in range(400)]
    config = SplitConfig(val=0.1, test=0.2, seed=3)
    first = assign_splits(items, config)
    assert first == assign_splits(list(reversed(items)), config)
    per = Counter((stratum, first[rid]) for rid, stratum in items)
    assert per[("big", "test")] == 60 and per[("small", "test")] == 20
    assert per[("big", "val")] == 30 and per[("small", "val")] == 10
    assert assign_splits(items, SplitConfig(val=0.1, test=0.2, seed=4)) != first
