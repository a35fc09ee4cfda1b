"""`tunesmith` commands of the governance stage."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

import typer
from rich.markup import escape
from rich.table import Table

from tunesmith.cli.common import WorkspaceOption, app, console, fail
from tunesmith.workspace import open_workspace


@app.command("docs")
def docs_command(
    ref: Annotated[
        str,
        typer.Argument(help="NAME/VERSION or NAME@ALIAS of a registered model, or a run id."),
    ],
    out: Annotated[
        Path | None,
        typer.Option(
            help="Folder for the documents (default: docs/<name>/v<version>/ for a registered "
            "version, runs/<run-id>/docs/ for a run)."
        ),
    ] = None,
    workspace: WorkspaceOption = None,
) -> None:
    """Write a model card and an EU AI Act Annex IV draft from the model's records."""
    from tunesmith.governance.audit import AuditError
    from tunesmith.governance.documents import RecordsError, resolve_ref, write_documents

    ws = open_workspace(workspace)
    try:
        run_id, model = resolve_ref(ws, ref)
        result = write_documents(ws, run_id, model, out)
    except (LookupError, RecordsError, AuditError, OSError) as err:
        raise fail(str(err)) from None
    for name, digest in result.files.items():
        console.print(f"{result.out_dir / name}  sha256 {digest}")
    for item in result.missing:
        console.print(f"[yellow]missing record:[/yellow] {item}")
    console.print(
        f"Sections marked 'To be completed by the provider' need a person. "
        f"Audit entry {result.audit_entry.seq}."
    )


def lineage_table(traced: dict[str, Any]) -> Table:
    """A model version or run traced back to its sources, one row per record, sha256 in full.

    Two columns with short labels, so the 64-character digests stay whole in 80 columns.
    """
    title = traced.get("model") or f"run {traced['run_id']}"
    table = Table(title=f"lineage of {title}")
    table.add_column("record")
    table.add_column("name / sha256", overflow="fold")

    def row(label: str, name: str, digest: str | None = None) -> None:
        # names are file paths, not markup: a "[" in one must print as it is
        table.add_row(label, f"{escape(name)}\n[dim]{digest}[/dim]" if digest else escape(name))

    if "model" in traced:
        aliases = f" ({', '.join(traced['aliases'])})" if traced["aliases"] else ""
        row("model", f"{traced['model']}{aliases}, registered {traced['registered_at']}")
        for name, digest in traced["registered_adapter_files"].items():
            row("weights", f"{name} (registered)", digest)
    row("run", traced["run_id"])
    for name, digest in traced["adapter_files"].items():
        row("weights", f"{name} (run folder)", digest)
    base = traced["base_model"]
    row("base", f"{base['name']} weights", base["weights_sha256"])
    row("dataset", f"{traced['dataset']} ({traced['dataset_path']})")
    for name, digest in sorted(traced["dataset_files"].items()):
        row("file", name, digest)
    for path, digest in traced["sources"].items():
        row("source", path, digest)
    return table
