"""Where a source row went, and where a model came from: the answer to an erasure request.

A source row can sit in a dataset version directly (in a split), through a duplicate (its
content is represented by the kept row of its cluster), or not at all (quarantined). Every
run trained on a version that holds it, directly or through a duplicate, carries it too, and
so does every registered model version made from such a run. The other way, a registered
version leads to its run, dataset version, source files and base weights, each by sha256.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from tunesmith.data.version import sha256_file
from tunesmith.workspace import Workspace

SPLITS = ("train", "val", "test")


@dataclass(frozen=True)
class RowAppearance:
    """One dataset version's treatment of the row; `carried` when its content is in a split."""

    dataset: str
    carried: bool
    how: str


def _versions(workspace: Workspace) -> list[tuple[str, Path, dict[str, Any]]]:
    found = []
    for manifest in sorted(workspace.datasets_dir.glob("*/v*/manifest.json")):
        data = json.loads(manifest.read_text(encoding="utf-8"))
        found.append((f"{data['name']}/{data['version']}", manifest.parent, data))
    return found


def _split_index(folder: Path) -> dict[tuple[str, int], str]:
    """(source, row) -> split, read once per version."""
    index = {}
    for split in SPLITS:
        file = folder / f"{split}.jsonl"
        for line in file.read_text(encoding="utf-8").splitlines() if file.is_file() else []:
            meta = json.loads(line).get("meta", {})
            index[(meta.get("source"), meta.get("row"))] = split
    return index


def _appearance(name: str, folder: Path, manifest: dict, source: str, row: int) -> RowAppearance:
    splits = _split_index(folder)
    split = splits.get((source, row))
    if split:
        return RowAppearance(name, True, f"kept in {split}")
    for cluster in manifest.get("duplicate_clusters", []):
        for member in cluster["members"]:
            if member["source"] == source and member["row"] == row:
                kept = cluster["kept"]
                kept_split = splits.get((kept["source"], kept["row"]))
                of = f"{member['kind']} duplicate of {kept['source']} row {kept['row']}"
                if kept_split is None:  # the kept row itself failed a later check
                    return RowAppearance(name, False, f"{of}, which is not in the data either")
                return RowAppearance(name, True, f"{of}, kept in {kept_split}")
    quarantine = folder / "quarantine.jsonl"
    for line in quarantine.read_text(encoding="utf-8").splitlines():
        entry = json.loads(line)
        if entry["source"] == source and entry["row"] == row:
            return RowAppearance(name, False, f"quarantined at {entry['stage']}: {entry['reason']}")
    return RowAppearance(name, False, "not read (the row did not exist in this version's input)")


def runs_on(workspace: Workspace, datasets: set[str]) -> list[str]:
    """Run ids whose lineage names one of these dataset versions."""
    runs = []
    for lineage_file in sorted(workspace.runs_dir.glob("*/lineage.json")):
        lineage = json.loads(lineage_file.read_text(encoding="utf-8"))
        if f"{lineage['dataset']['name']}/{lineage['dataset']['version']}" in datasets:
            runs.append(lineage["run_id"])
    return runs


def trace_source_row(
    workspace: Workspace, source: str, row: int
) -> tuple[list[RowAppearance], list[str]]:
    """Each dataset version's treatment of `source` row `row`, and the runs that carry it."""
    versions = _versions(workspace)
    appearances = [
        _appearance(name, folder, manifest, source, row)
        for name, folder, manifest in versions
        if any(s["path"] == source for s in manifest["sources"])
    ]
    if not appearances:
        # a silent "none" would wrongly clear an erasure request for a misspelt path
        known = sorted({s["path"] for _, _, m in versions for s in m["sources"]})
        raise LookupError(f"no dataset version was built from '{source}'; sources: {known}")
    carried = {a.dataset for a in appearances if a.carried}
    return appearances, runs_on(workspace, carried)


def trace_run(workspace: Workspace, run_id: str) -> dict[str, Any]:
    """A run back to its dataset version, that version's source files and the base weights."""
    lineage_file = workspace.runs_dir / run_id / "lineage.json"
    if not lineage_file.is_file():
        raise FileNotFoundError(f"run '{run_id}' not found in {workspace.runs_dir}")
    lineage = json.loads(lineage_file.read_text(encoding="utf-8"))
    dataset = lineage["dataset"]
    manifest_file = workspace.root / dataset["path"] / "manifest.json"
    if not manifest_file.is_file():
        # without the manifest the sources are unknown: say so rather than list none
        raise FileNotFoundError(
            f"run '{run_id}' trained on {dataset['name']}/{dataset['version']}, "
            f"whose manifest is gone ({manifest_file})"
        )
    manifest = json.loads(manifest_file.read_text(encoding="utf-8"))
    adapter = workspace.runs_dir / run_id / "adapter"
    return {
        "run_id": run_id,
        "dataset": f"{dataset['name']}/{dataset['version']}",
        "dataset_path": dataset["path"],
        "dataset_files": dataset["files"],
        "sources": {s["path"]: s["sha256"] for s in manifest["sources"]},
        "base_model": {
            "name": lineage["base_model"]["name"],
            "weights_sha256": lineage["base_model"]["weights_sha256"],
            "source": lineage["base_model"].get("source"),
        },
        "adapter_files": {f.name: sha256_file(f) for f in sorted(adapter.glob("*.safetensors"))},
    }


def trace_model(workspace: Workspace, ref: str) -> dict[str, Any]:
    """A registered version (NAME/VERSION or NAME@ALIAS) back through its run to its sources."""
    from mlflow.exceptions import MlflowException

    from tunesmith.registry import RegistryError, resolve

    try:
        model = resolve(workspace, ref)
    except (RegistryError, MlflowException) as err:  # e.g. a record that fails its digest
        raise LookupError(str(err)) from None
    return {
        "model": model.ref,
        "aliases": list(model.aliases),
        "registered_at": model.created_at,
        "registered_adapter_files": {
            n: d for n, d in model.record["adapter"]["files"].items() if n.endswith(".safetensors")
        },
        **trace_run(workspace, model.run_id),
    }


def models_of_runs(workspace: Workspace, run_ids: list[str]) -> list[str]:
    """NAME/VERSION of every registered version made from one of these runs."""
    if not run_ids or not workspace.has_mlflow_store():
        return []
    from tunesmith.registry import list_models

    wanted = set(run_ids)
    return [
        f"{m.name}/{v.version}"
        for m in list_models(workspace)
        for v in m.versions
        if v.run_id in wanted
    ]
