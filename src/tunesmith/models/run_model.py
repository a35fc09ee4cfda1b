"""A finished run's model as it was trained: the recorded base, its adapter merged in.

A QLoRA adapter was trained against the NF4-rounded base, so it is merged into that base
dequantised, not into the original weights: what is evaluated or exported is what was trained.
The server and the vLLM export use the same round trip (`base_as_trained`, `nf4_source_dtype`).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import torch

from tunesmith.config.workspace import Workspace
from tunesmith.models.base import weights_digest
from tunesmith.models.quantize import dequantize_linear_weights, quantize_linear_weights
from tunesmith.store.runs import is_reward_run

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
    if is_reward_run(run_dir):  # a scalar head: it scores answers, it cannot write one
        raise RunModelError(f"run '{run_id}' is a reward model; it is not served or tuned on")
    lineage = json.loads((run_dir / "lineage.json").read_text(encoding="utf-8"))
    method = yaml.safe_load((run_dir / "config.yaml").read_text())["train"]["method"]
    return run_dir, lineage, method


def trained_in(lineage: dict[str, Any]) -> torch.dtype:
    """The dtype a run trained in; a QLoRA run's NF4 codes were computed from its base in it."""
    return torch.bfloat16 if lineage["hardware"].get("bf16") else torch.float32


def nf4_source_dtype(adapter_dir: Path) -> torch.dtype | None:
    """For a QLoRA run's adapter folder, the dtype its base was quantised to NF4 from; None for
    any other adapter (a LoRA run's, or a plain adapter folder outside a run)."""
    import yaml

    config = adapter_dir.parent / "config.yaml"
    if not config.is_file():
        return None
    if yaml.safe_load(config.read_text())["train"]["method"] != "qlora":
        return None
    lineage = json.loads((adapter_dir.parent / "lineage.json").read_text(encoding="utf-8"))
    return trained_in(lineage)


def recorded_base(run_id: str, lineage: dict[str, Any]) -> Path:
    """The run's base model folder, refused where its weights are not the ones it trained on."""
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
    return base_path


def base_as_trained(base_path: Path, method: str, dtype: torch.dtype) -> torch.nn.Module:
    """The base a run's adapter was trained over, dense: for QLoRA the NF4 round trip of every
    quantised layer, in the dtype the run trained in (its forward computed with those values)."""
    from transformers import AutoModelForCausalLM

    model = AutoModelForCausalLM.from_pretrained(base_path, dtype=dtype)
    if method == "qlora":
        quantize_linear_weights(model)
        dequantize_linear_weights(model, dtype)
    return model


def merged_model(workspace: Workspace, run_id: str) -> tuple[torch.nn.Module, Path, dict]:
    """The run's model with adapters merged in, the folder holding its tokenizer, and lineage."""
    from peft import PeftModel
    from transformers import AutoModelForCausalLM

    run_dir, lineage, method = finished_run(workspace, run_id)
    adapter = run_dir / "adapter"
    if method == "full":
        return AutoModelForCausalLM.from_pretrained(adapter), adapter, lineage
    base_path = recorded_base(run_id, lineage)
    # NF4 codes depend on the dtype quantised from: use the one the run trained in; the
    # dequantised layers stay in it, so that they run with the rest of the model
    model = base_as_trained(base_path, method, trained_in(lineage))
    model = PeftModel.from_pretrained(model, adapter)
    return model.merge_and_unload(), adapter, lineage
