"""Where a source row went, and where a model came from: the answer to an erasure request.

A source row is named by its record id (the source's configured `id_field`, else
`<source>:<row>`) or by its place (source file, row number). It can sit in a dataset version
directly (in a split), through a duplicate (its content is represented by the kept row of its
cluster), or not at all (quarantined). Every run trained on a version that holds it carries
it too, and so does every run warm-started from a run that carries it (`init_adapter`: the
loop continues the champion's adapter, `align` the SFT run's), and every registered model
version made from such a run. The other way, a registered version leads to its run, dataset
version, source files and base weights, each by sha256.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from tunesmith.config.workspace import Workspace
from tunesmith.store.files import sha256_file

SPLITS = ("train", "val", "test", "feedback")


@dataclass(frozen=True)
class RowAppearance:
    """One dataset version's treatment of the row; `carried` when its content is in a split."""

    dataset: str
    carried: bool
    how: str


@dataclass(frozen=True)
class RowKey:
    """A source row by record id, or by (source, row) when `id` is None."""

    id: str | None = None
    source: str | None = None
    row: int | None = None

    def of(self, entry: dict[str, Any]) -> Any:
        """The same key read from a record's meta, a cluster member or a quarantine entry."""
        if self.id is None:
            return (entry.get("source"), entry.get("row"))
        # a row rejected before it had an id (no id_field) is still '<source>:<row>'
        return str(entry.get("id") or f"{entry.get('source')}:{entry.get('row')}")

    @property
    def wanted(self) -> Any:
        return (self.source, self.row) if self.id is None else self.id

    def __str__(self) -> str:
        return f"id {self.id}" if self.id is not None else f"{self.source} row {self.row}"


def _versions(workspace: Workspace) -> list[tuple[str, Path, dict[str, Any]]]:
    found = []
    for manifest in sorted(workspace.datasets_dir.glob("*/v*/manifest.json")):
        data = json.loads(manifest.read_text(encoding="utf-8"))
        found.append((f"{data['name']}/{data['version']}", manifest.parent, data))
    return found


def _lines(file: Path) -> list[dict[str, Any]]:
    if not file.is_file():
        return []
    return [json.loads(line) for line in file.read_text(encoding="utf-8").splitlines() if line]


def _split_index(folder: Path, key: Callable[[dict[str, Any]], Any]) -> dict[Any, str]:
    """key -> split, read once per version."""
    return {
        key(r.get("meta", {})): split for split in SPLITS for r in _lines(folder / f"{split}.jsonl")
    }


def _appearance(name: str, folder: Path, manifest: dict, key: RowKey) -> RowAppearance | None:
    """How this version treated the row; None when its input never held it."""
    splits = _split_index(folder, key.of)
    split = splits.get(key.wanted)
    if split:
        return RowAppearance(name, True, f"kept in {split}")
    for cluster in manifest.get("duplicate_clusters", []):
        for member in cluster["members"]:
            if key.of(member) == key.wanted:
                kept = cluster["kept"]
                kept_split = splits.get(key.of(kept))
                of = f"{member['kind']} duplicate of {kept['source']} row {kept['row']}"
                if kept_split is None:  # the kept row itself failed a later check
                    return RowAppearance(name, False, f"{of}, which is not in the data either")
                return RowAppearance(name, True, f"{of}, kept in {kept_split}")
    for entry in _lines(folder / "quarantine.jsonl"):
        if key.of(entry) == key.wanted:
            return RowAppearance(name, False, f"quarantined at {entry['stage']}: {entry['reason']}")
    return None


def _built_from(manifest: dict[str, Any], source: str) -> bool:
    # a folder source names each of its files '<folder>/<relative path>'
    return any(
        source == s["path"] or source.startswith(f"{s['path']}/") for s in manifest["sources"]
    )


def trace_record(workspace: Workspace, key: RowKey) -> tuple[list[RowAppearance], dict[str, str]]:
    """Each dataset version's treatment of the row, and the runs that carry it (with why)."""
    versions = _versions(workspace)
    if key.id is None:
        source = str(key.source)
        built = [(n, f, m) for n, f, m in versions if _built_from(m, source)]
        if not built:
            # a silent "none" would wrongly clear an erasure request for a misspelt path
            known = sorted({s["path"] for _, _, m in versions for s in m["sources"]})
            raise LookupError(f"no dataset version was built from '{source}'; sources: {known}")
        not_read = "not read (the row did not exist in this version's input)"
        appearances = [_appearance(*v, key) or RowAppearance(v[0], False, not_read) for v in built]
    else:
        appearances = [a for v in versions if (a := _appearance(*v, key)) is not None]
        if not appearances:
            raise LookupError(
                f"no dataset version holds, merged or quarantined a record with id '{key.id}' "
                f"(ids come from each source's id_field, else '<source>:<row>')"
            )
    carried = {a.dataset for a in appearances if a.carried}
    return appearances, runs_carrying(workspace, carried)


def trace_source_row(
    workspace: Workspace, source: str, row: int
) -> tuple[list[RowAppearance], dict[str, str]]:
    """Each dataset version's treatment of `source` row `row`, and the runs that carry it."""
    return trace_record(workspace, RowKey(source=source, row=row))


def _lineages(workspace: Workspace) -> list[dict[str, Any]]:
    return [
        json.loads(f.read_text(encoding="utf-8"))
        for f in sorted(workspace.runs_dir.glob("*/lineage.json"))
    ]


def runs_carrying(
    workspace: Workspace, datasets: set[str], runs: dict[str, str] | None = None
) -> dict[str, str]:
    """Run id -> why it carries the data: it trained on one of these dataset versions, it is
    one of `runs` (already known to have learned it), or it was warm-started, at any depth,
    from a run that carries it."""
    carriers = dict(runs or {})
    lineages = _lineages(workspace)
    for lineage in lineages:
        dataset = lineage["dataset"] or {}  # a reward run learned from pairs, no dataset
        ref = f"{dataset.get('name')}/{dataset.get('version')}"
        if ref in datasets and lineage["run_id"] not in carriers:
            carriers[lineage["run_id"]] = f"trained on {ref}"
    grown = True
    while grown:  # a chain of warm starts is as long as the loop has cycled
        grown = False
        for lineage in lineages:
            parent = (lineage.get("init_adapter") or {}).get("run_id")
            if parent in carriers and lineage["run_id"] not in carriers:
                carriers[lineage["run_id"]] = f"warm-started from {parent}"
                grown = True
    return carriers


def runs_on(workspace: Workspace, datasets: set[str]) -> list[str]:
    """Run ids that carry one of these dataset versions, warm starts included."""
    return list(runs_carrying(workspace, datasets))


def trace_run(workspace: Workspace, run_id: str) -> dict[str, Any]:
    """A run back to its dataset version, that version's source files and the base weights."""
    lineage_file = workspace.runs_dir / run_id / "lineage.json"
    if not lineage_file.is_file():
        raise FileNotFoundError(f"run '{run_id}' not found in {workspace.runs_dir}")
    lineage = json.loads(lineage_file.read_text(encoding="utf-8"))
    dataset = lineage["dataset"]
    if dataset is None:
        raise FileNotFoundError(
            f"run '{run_id}' is a reward model: it learned from the preference pairs its "
            "lineage.json names under 'preferences', not from a dataset version"
        )
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

    from tunesmith.registry import RegistryError, resolve, weights_files

    try:
        model = resolve(workspace, ref)
    except (RegistryError, MlflowException) as err:  # e.g. a record that fails its digest
        raise LookupError(str(err)) from None
    return {
        "model": model.ref,
        "aliases": list(model.aliases),
        "registered_at": model.created_at,
        "registered_adapter_files": {
            n: d for n, d in weights_files(model.record).items() if n.endswith(".safetensors")
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
