"""Stage 7, split: seeded, stratified train/val/test assignment.

Each record's place comes from a keyed hash of its id, so the order of the input does not
matter and the same ids with the same seed always land in the same split. Duplicates never
reach this stage (one representative per cluster is kept), so no cluster straddles splits.
"""

from __future__ import annotations

import hashlib
from collections import defaultdict

from tunesmith.config import SplitConfig

SPLITS = ("train", "val", "test")


def _rank(seed: int, record_id: str) -> str:
    return hashlib.sha256(f"{seed}\x00{record_id}".encode()).hexdigest()


def assign_splits(items: list[tuple[str, str | None]], config: SplitConfig) -> dict[str, str]:
    """Map record id to split for (id, stratum) pairs; proportions hold within each stratum."""
    strata: dict[str | None, list[str]] = defaultdict(list)
    for record_id, stratum in items:
        strata[stratum].append(record_id)
    assignment: dict[str, str] = {}
    for ids in strata.values():
        ordered = sorted(ids, key=lambda rid: _rank(config.seed, rid))
        n_test = round(len(ordered) * config.test)
        n_val = round(len(ordered) * config.val)
        for position, record_id in enumerate(ordered):
            if position < n_test:
                assignment[record_id] = "test"
            elif position < n_test + n_val:
                assignment[record_id] = "val"
            else:
                assignment[record_id] = "train"
    return assignment
