"""Where a run came from: data version and digests, base model, code, seed and hardware."""

from __future__ import annotations

import platform
import subprocess
from pathlib import Path
from typing import Any

import torch

from tunesmith import __version__


def hardware() -> dict[str, Any]:
    """Device and precision chosen from the hardware, never from a library default."""
    if torch.cuda.is_available():
        bf16 = torch.cuda.is_bf16_supported()
        return {"device": "cuda", "name": torch.cuda.get_device_name(0), "bf16": bf16}
    # CPUs here lack native bf16 matmuls: bf16 ran ~17x slower than fp32 on the dev machine.
    return {"device": "cpu", "name": platform.processor() or platform.machine(), "bf16": False}


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
    dataset: dict[str, Any],
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
