"""`tunesmith export RUN --merged DIR`: adapters folded into full weights plain transformers loads.

A QLoRA adapter was trained against the NF4-rounded base, so it is merged into that base
dequantised, not into the original weights: the exported model computes what was evaluated.
"""

from __future__ import annotations

import json
import os
import shutil
import tempfile
from pathlib import Path

import torch

from tunesmith.models.base import weights_digest
from tunesmith.models.quantize import dequantize_linear_weights, quantize_linear_weights
from tunesmith.workspace import Workspace


class ExportError(ValueError):
    """A run that cannot be exported, or a destination that would be overwritten."""


def _finished_run(workspace: Workspace, run_id: str) -> tuple[Path, dict, str]:
    run_dir = workspace.runs_dir / run_id
    if not (run_dir / "lineage.json").is_file():
        raise ExportError(f"run '{run_id}' not found in {workspace.runs_dir}")
    if not (run_dir / "summary.json").is_file() or not (run_dir / "adapter").is_dir():
        raise ExportError(f"run '{run_id}' has not finished; resume it before exporting")
    lineage = json.loads((run_dir / "lineage.json").read_text(encoding="utf-8"))
    import yaml

    method = yaml.safe_load((run_dir / "config.yaml").read_text())["train"]["method"]
    return run_dir, lineage, method


def merged_model(workspace: Workspace, run_id: str) -> tuple[torch.nn.Module, Path, dict]:
    """The run's model with adapters merged in, the folder holding its tokenizer, and lineage."""
    from peft import PeftModel
    from transformers import AutoModelForCausalLM

    run_dir, lineage, method = _finished_run(workspace, run_id)
    adapter = run_dir / "adapter"
    if method == "full":
        return AutoModelForCausalLM.from_pretrained(adapter), adapter, lineage
    base_path = Path(lineage["base_model"]["path"])
    if not base_path.is_dir():
        raise ExportError(f"base model of run '{run_id}' is missing: {base_path}")
    # merging into other weights than the adapter was trained on would export a different model
    recorded = lineage["base_model"]["weights_sha256"]
    if weights_digest(base_path) != recorded:
        raise ExportError(
            f"base model at {base_path} has changed since run '{run_id}' "
            f"(weights sha256 no longer {recorded[:12]}…)"
        )
    # NF4 codes depend on the dtype quantised from: use the one the run trained in
    trained_in = torch.bfloat16 if lineage["hardware"].get("bf16") else torch.float32
    model = AutoModelForCausalLM.from_pretrained(base_path, dtype=trained_in)
    if method == "qlora":
        quantize_linear_weights(model)
    model = PeftModel.from_pretrained(model, adapter)
    if method == "qlora":
        dequantize_linear_weights(model)
    return model.merge_and_unload(), adapter, lineage


def export_merged(workspace: Workspace, run_id: str, destination: Path) -> Path:
    """Write merged safetensors, tokenizer and provenance to `destination`, all or nothing."""
    from transformers import AutoTokenizer

    if destination.exists() and any(destination.iterdir()):
        raise ExportError(f"{destination} exists and is not empty")
    model, tokenizer_dir, lineage = merged_model(workspace, run_id)
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
