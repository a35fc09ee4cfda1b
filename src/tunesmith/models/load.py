"""A model to run (the base or a finished run, with the digests that name it) and loading it
for inference: a run's adapter merged in, in the device and dtype chosen from the hardware."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from tunesmith.config.workspace import Workspace
from tunesmith.models.hardware import device, inference_dtype
from tunesmith.models.run_model import (
    WEIGHTS_FILES,
    RunModelError,
    finished_run,
    merged_model,
    weights_file_name,
)
from tunesmith.store.files import sha256_file


class ModelInputError(ValueError):
    """A model, or data for it, that cannot be used; the message names what and why."""


@dataclass(frozen=True)
class Target:
    """A model to evaluate: `run_id` is None for the base model."""

    ref: str
    run_id: str | None
    registry: dict[str, Any] | None
    base_path: Path
    base_record: dict[str, Any]
    adapter_sha256: str | None
    dataset: tuple[str, str] | None  # (name, version) the run trained on

    def to_json(self) -> dict[str, Any]:
        return {
            "ref": self.ref,
            "kind": "base" if self.run_id is None else "run",
            "run_id": self.run_id,
            "registry": self.registry,
            "adapter_sha256": self.adapter_sha256,
            "base_model": {
                "name": self.base_record.get("name"),
                "weights_sha256": self.base_record.get("weights_sha256"),
            },
        }

    @property
    def weights_identity(self) -> str:
        """What the loaded weights are made of (run, adapter digest, the base as recorded):
        equal strings, equal models, so a score computed once may be reused."""
        made_of = {"run": self.run_id, "adapter": self.adapter_sha256, "base": self.base_record}
        return json.dumps(made_of, sort_keys=True, default=str)


def run_target(ws: Workspace, ref: str, run_id: str, registry: dict | None) -> Target:
    """A finished run as a Target; `registry` names the version it was reached through."""
    try:
        run_dir, lineage, _ = finished_run(ws, run_id)
    except RunModelError as err:
        raise ModelInputError(str(err)) from None
    name = weights_file_name([p.name for p in (run_dir / "adapter").iterdir()])
    weights = run_dir / "adapter" / (name or WEIGHTS_FILES[0])
    dataset = lineage["dataset"]
    return Target(
        ref=ref,
        run_id=run_id,
        registry=registry,
        base_path=Path(lineage["base_model"]["path"]),
        base_record=lineage["base_model"],
        adapter_sha256=sha256_file(weights) if weights.is_file() else None,
        dataset=(dataset["name"], dataset["version"]),
    )


def load_model(ws: Workspace, target: Target) -> tuple[Any, Any]:
    """The model in inference mode and its tokenizer; a run's adapter is merged for speed."""
    from transformers import AutoModelForCausalLM, AutoTokenizer

    if target.run_id is None:
        model = AutoModelForCausalLM.from_pretrained(target.base_path, dtype=inference_dtype())
        tokenizer_dir = target.base_path
    else:
        try:
            model, tokenizer_dir, _ = merged_model(ws, target.run_id)
        except RunModelError as err:
            raise ModelInputError(str(err)) from None
    model.to(device())
    tokenizer = AutoTokenizer.from_pretrained(tokenizer_dir)
    if tokenizer.pad_token is None:
        tokenizer.pad_token = tokenizer.eos_token
    # greedy decoding: sampling defaults shipped with the model would only raise warnings
    model.generation_config.temperature = None
    model.generation_config.top_p = None
    model.generation_config.top_k = None
    return model.eval(), tokenizer


def base_of(target: Target) -> Target:
    """The base model a run was trained from, for the prompt-only comparison."""
    return Target("base", None, None, target.base_path, target.base_record, None, None)
