"""`tunesmith export NAME --vllm DIR`: a registered model's adapters and the vLLM command
that serves them, for GPU fleets; clients keep the same API and model names.

QLoRA adapters were trained and evaluated over the NF4-rounded base, so their export carries
that base dequantised (`base/`, as eval computes it) and vLLM serves them over it. One vLLM
server holds one base: a model whose versions need different bases is refused.
"""

from __future__ import annotations

import json
import os
import shlex
import shutil
import tempfile
from pathlib import Path
from typing import Any

from tunesmith.config.workspace import Workspace
from tunesmith.models.run_model import (
    RunModelError,
    base_as_trained,
    finished_run,
    recorded_base,
    trained_in,
)
from tunesmith.store.files import sha256_file

# the values vLLM accepts for --max-lora-rank; the real rank is rounded up to one of them
VLLM_LORA_RANKS = (1, 8, 16, 32, 64, 128, 256, 320, 512)
ADAPTER_FILES = ("adapter_config.json", "adapter_model.safetensors")


class VllmExportError(ValueError):
    """A model that cannot be exported for vLLM; the message says why."""


def _versions(ws: Workspace, name: str) -> tuple[list[tuple[int, str]], dict[str, int]]:
    from tunesmith.registry.client import client

    if not ws.has_mlflow_store():
        raise VllmExportError(f"no registry in {ws.root}: register a run first")
    mlflow = client(ws)
    found = mlflow.search_registered_models(filter_string=f"name = '{name}'")
    if not found:
        raise VllmExportError(f"no registered model named '{name}'")
    aliases = {a: int(v) for a, v in (found[0].aliases or {}).items()}
    versions = sorted(
        (int(mv.version), (mv.tags or {}).get("tunesmith_run", mv.run_id))
        for mv in mlflow.search_model_versions(f"name = '{name}'")
    )
    return versions, aliases


def _nf4_source(name: str, runs: list[tuple[int, str, Path, str, dict]]) -> Any:
    """None where every version runs over the original base, the dtype their base was
    quantised from where every one is QLoRA over the same NF4 round trip; refuses a mix."""
    needs: dict[str, list[str]] = {}
    for version, run_id, _, method, lineage in runs:
        dtype = str(trained_in(lineage)).removeprefix("torch.")
        need = "LoRA over the original base" if method == "lora" else f"QLoRA over NF4 ({dtype})"
        needs.setdefault(need, []).append(f"{name}/{version} (run {run_id})")
    if len(needs) > 1:
        listed = "; ".join(f"{need}: {', '.join(refs)}" for need, refs in needs.items())
        raise VllmExportError(
            f"versions of '{name}' run over different base weights ({listed}): a QLoRA "
            "adapter was evaluated over its NF4-rounded base, and one vLLM server holds one "
            "base; register them under different names"
        )
    _, _, _, method, lineage = runs[0]
    return None if method == "lora" else trained_in(lineage)


def export_vllm(ws: Workspace, name: str, destination: Path) -> dict[str, Any]:
    """Copy each version's adapter, write launch.sh and manifest.json; all or nothing."""
    if destination.exists() and any(destination.iterdir()):
        raise VllmExportError(f"{destination} exists and is not empty")
    versions, aliases = _versions(ws, name)
    destination.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=f".{destination.name}-", dir=destination.parent))
    try:
        modules, ranks, bases, adapters, runs = {}, [], set(), [], []
        for version, run_id in versions:
            try:
                run_dir, lineage, method = finished_run(ws, run_id)
            except RunModelError as err:
                raise VllmExportError(f"{name}/{version}: {err}") from None
            if method not in ("lora", "qlora"):
                raise VllmExportError(f"{name}/{version}: a {method} run has no LoRA adapter")
            runs.append((version, run_id, run_dir, method, lineage))
        nf4_from = _nf4_source(name, runs)
        for version, run_id, run_dir, method, lineage in runs:
            folder = staging / "adapters" / f"{name}-v{version}"
            folder.mkdir(parents=True)
            for file in ADAPTER_FILES:
                shutil.copy2(run_dir / "adapter" / file, folder / file)
            config = json.loads((folder / "adapter_config.json").read_text())
            ranks.append(int(config["r"]))
            bases.add((lineage["base_model"]["name"], lineage["base_model"]["path"]))
            modules[f"{name}/{version}"] = folder
            adapters.append(
                {
                    "ref": f"{name}/{version}",
                    "run_id": run_id,
                    "method": method,
                    "rank": int(config["r"]),
                    "sha256": {f: sha256_file(folder / f) for f in ADAPTER_FILES},
                }
            )
        for alias, version in sorted(aliases.items()):
            modules[f"{name}@{alias}"] = modules[f"{name}/{version}"]
        if len(bases) != 1:
            raise VllmExportError(f"versions of '{name}' were trained on different base models")
        (base_name, base_path), real_rank = bases.pop(), max(ranks)
        base_record: dict[str, Any] = {"name": base_name, "path": base_path}
        if nf4_from is not None:
            base_name, base_path = _write_rounded_base(runs[0], nf4_from, staging, destination)
            base_record = {
                "name": base_name,
                "path": base_path,
                "nf4_round_trip_of": base_record,
                "dtype": str(nf4_from).removeprefix("torch."),
            }
        max_rank = next((r for r in VLLM_LORA_RANKS if r >= real_rank), real_rank)
        command = [
            "vllm", "serve", base_path,
            "--served-model-name", base_name,
            "--enable-lora",
            "--max-lora-rank", str(max_rank),
            "--max-loras", str(len(versions)),
            "--lora-modules",
            *[f"{ref}={destination / path.relative_to(staging)}" for ref, path in modules.items()],
        ]  # fmt: skip
        manifest = {
            "model": name,
            "base_model": base_record,
            "adapters": adapters,
            "aliases": aliases,
            "max_lora_rank": max_rank,
            "real_max_rank": real_rank,
            "command": command,
        }
        (staging / "manifest.json").write_text(json.dumps(manifest, indent=2) + "\n")
        script = (
            "#!/bin/sh\n# Serves the base model and every version of "
            f"'{name}' (aliases as of export) on vLLM.\n"
            + (
                "# QLoRA adapters run over base/: the NF4-rounded base they were evaluated on.\n"
                if nf4_from is not None
                else ""
            )
            + f'exec {shlex.join(command)} "$@"\n'
        )
        (staging / "launch.sh").write_text(script)
        os.chmod(staging / "launch.sh", 0o755)
        os.chmod(staging, 0o755)
        staging.rename(destination)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
    return manifest


def _write_rounded_base(
    run: tuple[int, str, Path, str, dict], dtype: Any, staging: Path, destination: Path
) -> tuple[str, str]:
    """The QLoRA runs' base as they were trained and evaluated over it, saved to base/."""
    from transformers import AutoTokenizer

    _, run_id, _, _, lineage = run
    try:
        source = recorded_base(run_id, lineage)
    except RunModelError as err:
        raise VllmExportError(str(err)) from None
    base_as_trained(source, "qlora", dtype).save_pretrained(staging / "base")
    AutoTokenizer.from_pretrained(source).save_pretrained(staging / "base")
    # under another name than the original: a client asking for the base gets the rounded one
    return f"{lineage['base_model']['name']}-nf4", str(destination / "base")
