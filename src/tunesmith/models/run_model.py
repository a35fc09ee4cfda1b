"""A finished run's model as it was trained: the recorded base, its adapter merged in.

A QLoRA adapter was trained against the NF4-rounded base, so it is merged into that base
dequantised, not into the original weights: what is evaluated or exported is what was trained.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import torch

from tunesmith.models.base import weights_digest
from tunesmith.models.quantize import dequantize_linear_weights, quantize_linear_weights
from tunesmith.workspace import Workspace

# what a run's adapter/ folder holds its trained weights in: LoRA/DoRA/QLoRA, or a full fine-tune
WEIGHTS_FILES = ("adapter_model.safetensors", "model.safetensors")


class RunModelError(ValueError):
    """A run whose model cannot be loaded: unknown, unfinished, or its base has changed."""


def weights_file_name(files: dict[str, object] | list[str]) -> str | None:
    """Which of a run's adapter files holds the trained weights (names relative to adapter/)."""
    return next((name for name in WEIGHTS_FILES if name in files), None)


def finished_run(workspace: Workspace, run_id: str) -> tuple[Path, dict[str, Any], str]:
    """The run folder, its lineage and its training method; refuses unknown or unfinished runs."""
    import yaml

    run_dir = workspace.runs_dir / run_id
    if not run_id or "/" in run_id or not (run_dir / "lineage.json").is_file():
        raise RunModelError(f"run '{run_id}' not found in {workspace.runs_dir}")
    if not (run_dir / "summary.json").is_file() or not (run_dir / "adapter").is_dir():
        raise RunModelError(f"run '{run_id}' has not finished; resume it first")
    lineage = json.loads((run_dir / "lineage.json").read_text(encoding="utf-8"))
    method = yaml.safe_load((run_dir / "config.yaml").read_text())["train"]["method"]
    return run_dir, lineage, method


def merged_model(workspace: Workspace, run_id: str) -> tuple[torch.nn.Module, Path, dict]:
    """The run's model with adapters merged in, the folder holding its tokenizer, and lineage."""
    from peft import PeftModel
    from transformers import AutoModelForCausalLM

    run_dir, lineage, method = finished_run(workspace, run_id)
    adapter = run_dir / "adapter"
    if method == "full":
        return AutoModelForCausalLM.from_pretrained(adapter), adapter, lineage
    base_path = Path(lineage["base_model"]["path"])
    if not base_path.is_dir():
        raise RunModelError(f"base model of run '{run_id}' is missing: {base_path}")
    # merging into other weights than the adapter was trained on would give a different model
    recorded = lineage["base_model"]["weights_sha256"]
    if weights_digest(base_path) != recorded:
        raise RunModelError(
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
