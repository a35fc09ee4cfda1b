"""What `--model` names (the base, a run, a registry version) and loading it for inference."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch

from tunesmith.config import ProjectConfig
from tunesmith.config.workspace import Workspace
from tunesmith.evaluate.rows import EvalInputError
from tunesmith.models.base import BaseModelError, resolve_base_model
from tunesmith.models.run_model import (
    WEIGHTS_FILES,
    RunModelError,
    finished_run,
    merged_model,
    weights_file_name,
)
from tunesmith.store.files import sha256_file
from tunesmith.train.lineage import hardware


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
        from mlflow.exceptions import MlflowException

        from tunesmith.registry import RegistryError, resolve

        try:
            version = resolve(ws, ref)
        except (LookupError, RegistryError, MlflowException) as err:
            raise EvalInputError(f"{ref}: {err.args[0] if err.args else err}") from None
        registry = {"name": version.name, "version": version.version}
        return _run_target(ws, ref, version.run_id, registry)
    return _run_target(ws, ref, ref, None)


def champion_target(ws: Workspace, name: str) -> Target | None:
    """The version `name@champion` points at; None only when there is no such alias."""
    from mlflow.exceptions import MlflowException

    from tunesmith.registry import RegistryError, resolve
    from tunesmith.registry.client import alias_version, client, store_exists

    if not store_exists(ws):
        return None
    ref = f"{name}@champion"
    try:
        version = alias_version(client(ws), name, "champion")
        if version is None:
            return None
        found = resolve(ws, f"{name}/{version}")
    except LookupError as err:
        if "no registered model" in str(err):
            return None
        raise EvalInputError(f"champion {ref}: {err.args[0]}") from None
    except (RegistryError, MlflowException) as err:
        # a champion that cannot be read must not turn into "no champion to compare"
        raise EvalInputError(f"champion {ref}: {err}") from None
    try:
        return _run_target(ws, ref, found.run_id, {"name": name, "version": version})
    except EvalInputError as err:
        raise EvalInputError(f"champion {ref}: {err}") from None


def device() -> torch.device:
    """The first GPU when there is one; inference runs in the dtype the weights load in."""
    return torch.device("cuda" if torch.cuda.is_available() else "cpu")


def inference_dtype() -> torch.dtype:
    """The dtype training would pick on this hardware, so base and tuned run like for like."""
    return torch.bfloat16 if hardware()["bf16"] else torch.float32


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
            raise EvalInputError(str(err)) from None
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
