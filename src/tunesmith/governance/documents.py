"""`tunesmith docs`: a model card and an EU AI Act Annex IV draft, written from the records.

The documents state only what the records hold (registry version, run folder, dataset
manifest, eval report, audit log); what only a person can state is marked for the provider,
and an absent record is named as missing. Each file is written atomically, `documents.json`
lists them with their sha256, and a "docs" entry in the audit log names records and outputs.
"""

from __future__ import annotations

import hashlib
import json
import math
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import jinja2

from tunesmith import __version__
from tunesmith.config.workspace import Workspace
from tunesmith.governance.context import build_context, fmt
from tunesmith.governance.evidence import ModelVersionLike, Records, RecordsError, read_records
from tunesmith.store import audit
from tunesmith.store.clock import utc_timestamp
from tunesmith.store.files import write_atomic

MODEL_CARD = "MODEL_CARD.md"
ANNEX_IV = "ANNEX_IV.md"
INDEX = "documents.json"

__all__ = [
    "ANNEX_IV",
    "INDEX",
    "MODEL_CARD",
    "DocumentsResult",
    "RecordsError",
    "card_metadata",
    "default_out_dir",
    "render_documents",
    "resolve_ref",
    "write_documents",
]


@dataclass(frozen=True)
class DocumentsResult:
    """Where the documents went, their digests, the records missing and the audit entry."""

    out_dir: Path
    files: dict[str, str]
    missing: list[str]
    audit_entry: audit.AuditEntry


def _environment() -> jinja2.Environment:
    env = jinja2.Environment(
        loader=jinja2.PackageLoader("tunesmith.governance", "templates"),
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=True,
        autoescape=False,  # Markdown, not HTML
    )
    env.filters["fmt"] = fmt
    env.filters["cell"] = cell
    return env


def cell(text: object) -> str:
    """Text that stays inside one Markdown table cell."""
    return str(text).replace("|", "\\|").replace("\r", "").replace("\n", " ⏎ ")


def card_metadata(context: dict[str, Any]) -> str:
    """The card's YAML front matter through huggingface_hub, so model-index follows the Hub."""
    from huggingface_hub import EvalResult, ModelCardData

    run, evaluation, dataset = context["run"], context["evaluation"], context["dataset"]
    results = []
    if evaluation is not None:
        data = evaluation["data"]
        for metric, value in evaluation["metrics"].items():
            if isinstance(value, int | float) and math.isfinite(value):
                results.append(
                    EvalResult(
                        task_type=context["task"]["hf_task"],
                        dataset_type=dataset["name"],
                        dataset_name=f"{dataset['ref']} ({data.get('split')} split)",
                        dataset_split=data.get("split"),
                        metric_type=metric,
                        metric_value=value,
                    )
                )
    adapter = run["method"] in ("lora", "dora", "qlora")
    tags = ["tunesmith", *[t for t in (run["method"], context["task"]["type"]) if t]]
    data = ModelCardData(
        base_model=context["base_model"]["hub_id"],
        library_name="peft" if adapter else "transformers",
        pipeline_tag="text-generation",
        tags=tags,
        model_name=context["model"]["ref"] if context["model"] else run["id"],
        eval_results=results or None,
    )
    return data.to_yaml()


def render_documents(records: Records) -> dict[str, str]:
    """File name -> Markdown text of the model card and the Annex IV draft."""
    context = build_context(records)
    env = _environment()
    card = env.get_template(f"{MODEL_CARD}.j2").render(card_data=card_metadata(context), **context)
    annex = env.get_template(f"{ANNEX_IV}.j2").render(**context)
    # tables end in a newline and so do the lines around them: keep one blank line
    return {
        name: re.sub(r"\n{3,}", "\n\n", text)
        for name, text in ((MODEL_CARD, card), (ANNEX_IV, annex))
    }


def default_out_dir(ws: Workspace, run_id: str, model: ModelVersionLike | None) -> Path:
    """docs/<name>/v<version>/ for a registered version, runs/<run-id>/docs/ for a bare run."""
    if model is not None:
        return ws.root / "docs" / model.name / f"v{model.version}"
    return ws.runs_dir / run_id / "docs"


def resolve_ref(ws: Workspace, ref: str) -> tuple[str, ModelVersionLike | None]:
    """(run id, registry version or None): NAME/VERSION and NAME@ALIAS go through the registry
    (LookupError when absent), anything else must be a run id (a draft before registration)."""
    if "/" in ref or "@" in ref:
        from mlflow.exceptions import MlflowException

        from tunesmith.registry import RegistryError, resolve

        try:
            model = resolve(ws, ref)
        except (RegistryError, MlflowException) as err:  # e.g. a record changed after registration
            raise RecordsError(str(err)) from None
        return model.run_id, model
    if not (ws.runs_dir / ref).is_dir():
        raise LookupError(f"'{ref}' is neither NAME/VERSION, NAME@ALIAS nor a run in {ws.runs_dir}")
    return ref, None


def write_documents(
    ws: Workspace,
    run_id: str,
    model: ModelVersionLike | None = None,
    out_dir: Path | None = None,
    actor: str | None = None,
) -> DocumentsResult:
    """Write MODEL_CARD.md, ANNEX_IV.md and documents.json; record them in the audit log.

    `model` is the registry version made from `run_id`, None for a run not registered yet.
    Raises RecordsError when the run's records cannot back a document.
    """
    records = read_records(ws, run_id, model)
    texts = render_documents(records)
    out = out_dir or default_out_dir(ws, run_id, model)
    out.mkdir(parents=True, exist_ok=True)
    files = {}
    for name, text in texts.items():
        data = text.encode("utf-8")
        write_atomic(out / name, data)
        files[name] = hashlib.sha256(data).hexdigest()
    subject = model.ref if model else run_id
    try:
        where = str(out.resolve().relative_to(ws.root))
    except ValueError:  # --out outside the workspace
        where = str(out.resolve())
    # on the record before the index is written: documents.json names the entry that covers it
    entry = audit.append(
        audit.audit_path(ws.state_dir),
        "docs",
        subject,
        inputs=records.inputs,
        outputs=files,
        details={"run_id": run_id, "out": where, "missing": len(records.missing)},
        actor=actor,
    )
    index = {
        "schema": 1,
        "created_at": utc_timestamp(),
        "tunesmith_version": __version__,
        "model": model.ref if model else None,
        "run_id": run_id,
        "files": {name: {"sha256": digest} for name, digest in files.items()},
        "records": records.inputs,
        "missing": records.missing,
        "audit_entry": {"seq": entry.seq, "hash": entry.hash},
    }
    write_atomic(out / INDEX, (json.dumps(index, indent=2) + "\n").encode("utf-8"))
    return DocumentsResult(out, files, records.missing, entry)
