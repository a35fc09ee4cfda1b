"""`tunesmith export RUN --merged DIR`: adapters folded into weights plain transformers loads."""

from __future__ import annotations

import json
import os
import shutil
import tempfile
from pathlib import Path

from tunesmith.config.workspace import Workspace
from tunesmith.models.run_model import RunModelError, merged_model


class ExportError(ValueError):
    """A run that cannot be exported, or a destination that would be overwritten."""


def export_merged(workspace: Workspace, run_id: str, destination: Path) -> Path:
    """Write merged safetensors, tokenizer and provenance to `destination`, all or nothing."""
    from transformers import AutoTokenizer

    if destination.exists() and any(destination.iterdir()):
        raise ExportError(f"{destination} exists and is not empty")
    try:
        model, tokenizer_dir, lineage = merged_model(workspace, run_id)
    except RunModelError as err:
        raise ExportError(str(err)) from None
    destination.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=f".{destination.name}-", dir=destination.parent))
    try:
        model.save_pretrained(staging)
        AutoTokenizer.from_pretrained(tokenizer_dir).save_pretrained(staging)
        provenance = {
            "run_id": run_id,
            "base_model": lineage["base_model"],
            "dataset": lineage["dataset"],
        }
        (staging / "tunesmith-export.json").write_text(json.dumps(provenance, indent=2) + "\n")
        umask = os.umask(0)
        os.umask(umask)
        staging.chmod(0o777 & ~umask)  # mkdtemp makes it private; a server may run as another user
        if destination.exists():
            destination.rmdir()
        staging.rename(destination)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
    return destination
