"""What kind of run a run folder holds: an adapter run (train, align), a tuned embedding
model (`task.type: embedding`, told by its manifest) or a reward model (told by its
`reward.json`). Read by eval, the registry, model loading and the CLI; written by
train/embedding.py and train/reward.py."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

EMBEDDING_KIND = "embedding"  # manifest.json's `kind` of an embedding run
REWARD_FILE = "reward.json"  # marks a run folder as a reward model's


def is_reward_run(run_dir: Path) -> bool:
    return (run_dir / REWARD_FILE).is_file()


def embedding_manifest(run_dir: Path) -> dict[str, Any] | None:
    """The run's manifest when it is an embedding run; None for any other folder (an adapter
    run, a registry reference that is no folder, an unreadable manifest)."""
    path = run_dir / "manifest.json"
    if not path.is_file():
        return None
    try:
        manifest = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, json.JSONDecodeError):
        return None
    return (
        manifest if isinstance(manifest, dict) and manifest.get("kind") == EMBEDDING_KIND else None
    )
