"""What `--model` names (the base, a run, a registry version) and loading it for inference."""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch

from tunesmith.config import ProjectConfig
from tunesmith.data.version import sha256_file
from tunesmith.evaluate.rows import EvalInputError
from tunesmith.models.base import BaseModelError, resolve_base_model
from tunesmith.models.run_model import (
    WEIGHTS_FILES,
    RunModelError,
    finished_run,
    merged_model,
    weights_file_name,
)
from tunesmith.workspace import Workspace


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


def registry_exists(ws: Workspace) -> bool:
    """Whether a registry could hold versions: a server is configured or the store exists."""
    from tunesmith.train.tracking import URI_ENV

    return bool(os.environ.get(URI_ENV)) or (ws.state_dir / "mlflow.db").is_file()


def _run_target(ws: Workspace, ref: str, run_id: str, registry: dict | None) -> Target:
    try:
        run_dir, lineage, _ = finished_run(ws, run_id)
    except RunModelError as err:
        raise EvalInputError(str(err)) from None
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


def resolve_target(ws: Workspace, config: ProjectConfig, ref: str) -> Target:
    """`base`, a run id, or a registry reference `name/3` / `name@champion`."""
    if ref == "base":
        try:
            base = resolve_base_model(config.base_model, ws.state_dir / "models", ws.root)
        except BaseModelError as err:
            raise EvalInputError(str(err)) from None
        return Target("base", None, None, base.path, base.to_json(), None, None)
    if "/" in ref or "@" in ref:
        from tunesmith.registry import RegistryError, resolve

        try:
            version = resolve(ws, ref)
        except (LookupError, RegistryError) as err:
            raise EvalInputError(str(err).strip("'\"")) from None
        registry = {"name": version.name, "version": version.version}
        return _run_target(ws, ref, version.run_id, registry)
    return _run_target(ws, ref, ref, None)


def champion_target(ws: Workspace, config: ProjectConfig) -> Target | None:
    """The registered champion of this project's model name, if there is one."""
    if not registry_exists(ws):
        return None
    from tunesmith.registry import RegistryError, default_name, resolve

    ref = f"{default_name(config)}@champion"
    try:
        version = resolve(ws, ref)
    except (LookupError, RegistryError):
        return None
    return _run_target(ws, ref, version.run_id, {"name": version.name, "version": version.version})


def load_model(ws: Workspace, target: Target) -> tuple[Any, Any]:
    """The model in inference mode and its tokenizer; a run's adapter is merged for speed."""
    from transformers import AutoModelForCausalLM, AutoTokenizer

    if target.run_id is None:
        model = AutoModelForCausalLM.from_pretrained(target.base_path, dtype=torch.float32)
        tokenizer_dir = target.base_path
    else:
        try:
            model, tokenizer_dir, _ = merged_model(ws, target.run_id)
        except RunModelError as err:
            raise EvalInputError(str(err)) from None
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
