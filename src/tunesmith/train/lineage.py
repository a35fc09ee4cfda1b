"""Where a run came from: data version and digests, base model, code, seed and hardware."""

from __future__ import annotations

import subprocess
from pathlib import Path
from typing import Any

import torch

from tunesmith import __version__


def _git_commit(root: Path) -> str | None:
    try:
        out = subprocess.run(
            ["git", "rev-parse", "HEAD"], cwd=root, capture_output=True, text=True, check=True
        )
    except (OSError, subprocess.CalledProcessError):
        return None
    return out.stdout.strip() or None


def build_lineage(
    run_id: str,
    dataset: dict[str, Any] | None,
    base_model: dict[str, Any],
    seed: int,
    counts: dict[str, dict[str, int]],
    root: Path,
    hw: dict[str, Any],
) -> dict[str, Any]:
    """The lineage.json record of one run."""
    return {
        "run_id": run_id,
        "dataset": dataset,
        "base_model": base_model,
        "tunesmith_version": __version__,
        "git_commit": _git_commit(root),
        "seed": seed,
        "hardware": {**hw, "torch": torch.__version__, "threads": torch.get_num_threads()},
        "counts": counts,
    }
