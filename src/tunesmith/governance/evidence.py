"""The records a model version's documents are built from, read from disk as they stand.

A run folder's `lineage.json` is required (without it nothing links the model to its data);
every other record may be absent, and is then listed in `missing` so the documents say so
instead of guessing.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

import yaml

from tunesmith.config.workspace import Workspace
from tunesmith.store import audit
from tunesmith.store.files import sha256_file


class RecordsError(ValueError):
    """The records cannot back a document; the message names the file."""


class ModelVersionLike(Protocol):
    """What the documents read of a registry version (`tunesmith.registry.ModelVersion`)."""

    name: str
    version: int
    run_id: str
    aliases: list[str]
    created_at: str
    source: str
    record: dict[str, Any]
    approvals: list[dict[str, str]]

    @property
    def ref(self) -> str: ...


@dataclass(frozen=True)
class Records:
    """Everything on disk about one run (and the registry version made from it, if any)."""

    workspace: Workspace
    run_id: str
    lineage: dict[str, Any]
    model: ModelVersionLike | None = None
    config: dict[str, Any] | None = None
    summary: dict[str, Any] | None = None
    manifest: dict[str, Any] | None = None
    eval_report: dict[str, Any] | None = None
    winrate: dict[str, Any] | None = None  # aligned runs: against the SFT parent
    audit_entries: list[audit.AuditEntry] = field(default_factory=list)
    audit_check: audit.VerifyReport | None = None
    adapter_files: dict[str, str] = field(default_factory=dict)
    # workspace-relative path -> sha256 of each record read, for the audit entry
    inputs: dict[str, str] = field(default_factory=dict)
    missing: list[str] = field(default_factory=list)

    @property
    def run_path(self) -> str:
        return f"runs/{self.run_id}"

    @property
    def dataset_ref(self) -> str:
        return f"{self.lineage['dataset']['name']}/{self.lineage['dataset']['version']}"


def _read(path: Path, ws: Workspace, inputs: dict[str, str]) -> Any:
    """A JSON or YAML record, its digest noted in `inputs`; None when the file is absent."""
    if not path.is_file():
        return None
    text = path.read_text(encoding="utf-8")
    try:
        data = yaml.safe_load(text) if path.suffix == ".yaml" else json.loads(text)
    except (json.JSONDecodeError, yaml.YAMLError) as err:
        raise RecordsError(f"{path}: not readable ({err})") from None
    inputs[str(path.relative_to(ws.root))] = sha256_file(path)
    return data


def _about(
    entries: list[audit.AuditEntry], subjects: set[str], model: str | None
) -> list[audit.AuditEntry]:
    """Entries about this run, its dataset version or any version of the model; docs left out
    because they describe the documents themselves and would change every regeneration."""
    prefixes = (f"{model}/", f"{model}@") if model else ()
    return [
        e
        for e in entries
        if e.action != "docs"
        and (e.subject in subjects or (prefixes and e.subject.startswith(prefixes)))
    ]


def read_records(ws: Workspace, run_id: str, model: ModelVersionLike | None = None) -> Records:
    """Read a run's records, its dataset version's manifest, eval report and audit entries."""
    run_dir = ws.runs_dir / run_id
    inputs: dict[str, str] = {}
    lineage = _read(run_dir / "lineage.json", ws, inputs)
    if lineage is None:
        raise RecordsError(f"run '{run_id}': no lineage.json in {run_dir}")
    missing = []
    config = _read(run_dir / "config.yaml", ws, inputs)
    if config is None:
        missing.append(f"runs/{run_id}/config.yaml (the training configuration)")
    summary = _read(run_dir / "summary.json", ws, inputs)
    if summary is None:
        missing.append(f"runs/{run_id}/summary.json (the run did not finish)")
    dataset = lineage["dataset"]
    manifest = _read(ws.root / dataset["path"] / "manifest.json", ws, inputs)
    if manifest is None:
        missing.append(f"{dataset['path']}/manifest.json (the dataset version is gone)")
    report = _read(run_dir / "eval" / "report.json", ws, inputs)
    if report is None:
        missing.append(f"runs/{run_id}/eval/report.json (the model has not been evaluated)")
    winrate = _read(run_dir / "eval" / "winrate.json", ws, inputs)
    adapter = {f.name: sha256_file(f) for f in sorted((run_dir / "adapter").glob("*.safetensors"))}
    if not adapter:
        missing.append(f"runs/{run_id}/adapter/ (no weights in the run folder)")
    log = audit.audit_path(ws.state_dir)
    subjects = {run_id, f"{dataset['name']}/{dataset['version']}"}
    try:
        entries = _about(audit.entries(log), subjects, model.name if model else None)
    except audit.AuditError as err:
        raise RecordsError(str(err)) from None
    return Records(
        workspace=ws,
        run_id=run_id,
        lineage=lineage,
        model=model,
        config=config,
        summary=summary,
        manifest=manifest,
        eval_report=report,
        winrate=winrate,
        audit_entries=entries,
        audit_check=audit.verify(log),
        adapter_files=adapter,
        inputs=inputs,
        missing=missing,
    )
