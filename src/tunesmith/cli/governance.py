"""`tunesmith` commands of the governance stage."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

import typer
from rich.markup import escape
from rich.table import Table

from tunesmith.cli.common import WorkspaceOption, app, audit_app, console, fail, stage_errors
from tunesmith.config import ConfigError
from tunesmith.config.workspace import Workspace, open_workspace


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
    from tunesmith.governance.documents import RecordsError, resolve_ref, write_documents
    from tunesmith.store.audit import AuditError

    ws = open_workspace(workspace)
    with stage_errors(LookupError, RecordsError, AuditError, OSError):
        run_id, model = resolve_ref(ws, ref)
        result = write_documents(ws, run_id, model, out)
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


@audit_app.command("verify")
def audit_verify(
    workspace: WorkspaceOption = None,
    head: Annotated[
        str | None, typer.Option(help="A head hash recorded earlier that must still be there.")
    ] = None,
) -> None:
    """Check every entry's hash and link; exit 1 naming the first bad entry."""
    from tunesmith.store import audit

    ws = open_workspace(workspace)
    report = audit.verify(audit.audit_path(ws.state_dir), expected_head=head)
    if not report.ok:
        raise fail(report.message)
    console.print(report.message)


@audit_app.command("log")
def audit_log(workspace: WorkspaceOption = None) -> None:
    """List the audit entries: when, who, what, on which subject."""
    from tunesmith.store import audit

    ws = open_workspace(workspace)
    with stage_errors(audit.AuditError):
        entries = audit.entries(audit.audit_path(ws.state_dir))
    table = Table(title=f"audit log of {ws.root}")
    for column in ("seq", "time", "actor", "action", "subject", "hash"):
        table.add_column(column, overflow="fold")
    for entry in entries:
        table.add_row(
            str(entry.seq), entry.time, entry.actor, entry.action, entry.subject, entry.hash[:12]
        )
    console.print(table)


@app.command("lineage")
def lineage_command(
    source: Annotated[str | None, typer.Option(help="Source file as named in the config.")] = None,
    row: Annotated[int | None, typer.Option(help="Row number in that source (1-based).")] = None,
    record_id: Annotated[
        str | None,
        typer.Option("--id", help="Record id: the source's id_field value, else '<source>:<row>'."),
    ] = None,
    find: Annotated[
        str | None,
        typer.Option(
            help="A value (name, e-mail, interaction id) to find everywhere: sources, dataset "
            "versions, runs, the state store, feedback and preference files."
        ),
    ] = None,
    run: Annotated[str | None, typer.Option(help="Run id to trace back to its sources.")] = None,
    model: Annotated[
        str | None, typer.Option(help="NAME/VERSION or NAME@ALIAS to trace back to its sources.")
    ] = None,
    workspace: WorkspaceOption = None,
) -> None:
    """Which dataset versions, runs and models hold a source row or a value, or what a model
    was made from."""
    from tunesmith.governance.lineage import RowKey, trace_model, trace_record, trace_run

    ws = open_workspace(workspace)
    if run or model:
        with stage_errors(FileNotFoundError, LookupError):
            traced = trace_model(ws, model) if model else trace_run(ws, str(run))
        console.print(lineage_table(traced))
        return
    if find is not None:
        _print_found(ws, find)
        return
    if record_id is None and (source is None or row is None):
        raise fail("give --id, --source and --row, --find, --run, or --model")
    key = RowKey(id=record_id) if record_id is not None else RowKey(source=source, row=row)
    with stage_errors(LookupError):
        appearances, runs = trace_record(ws, key)
    table = Table(title=str(key))
    table.add_column("dataset version")
    table.add_column("in the data", justify="center")
    table.add_column("how", overflow="fold")
    for appearance in appearances:
        table.add_row(appearance.dataset, "yes" if appearance.carried else "no", appearance.how)
    console.print(table)
    _print_runs(ws, runs)


def _print_runs(ws: Workspace, runs: dict[str, str]) -> None:
    """The runs that learned it (and why), then the model versions made from them."""
    from tunesmith.governance.lineage import models_of_runs

    console.print("runs trained on it: " + (", ".join(runs) if runs else "none"))
    for run_id, why in runs.items():
        console.print(f"  {run_id}: {why}", highlight=False)
    with stage_errors(ConfigError, LookupError, prefix="model versions could not be listed: "):
        models = models_of_runs(ws, list(runs))
    console.print("model versions trained on it: " + (", ".join(models) if models else "none"))


def _print_found(ws: Workspace, value: str) -> None:
    from tunesmith.data.readers import SourceError
    from tunesmith.governance.erasure import find_value

    with stage_errors(ValueError, SourceError, ConfigError):
        found = find_value(ws, value)
    table = Table(title=f"places holding {value!r}")
    table.add_column("where", overflow="fold")
    table.add_column("what", overflow="fold")
    for place in found.places:
        table.add_row(escape(place.where), escape(place.what))
    console.print(table if found.places else f"no place holds {value!r}")
    _print_runs(ws, found.runs)
