"""`tunesmith init`, `curate` and `data scan`: a workspace, its dataset versions, raw files."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer
from rich.table import Table

from tunesmith.cli.common import (
    WorkspaceOption,
    app,
    console,
    data_app,
    progress_bar,
    stage_errors,
    workspace_and_config,
)
from tunesmith.config import ConfigError
from tunesmith.config.workspace import open_workspace

if TYPE_CHECKING:
    from tunesmith.data.curate import CurateResult


@app.command()
def init(
    directory: Annotated[Path, typer.Argument(help="Folder to create the workspace in.")],
    example: Annotated[
        str, typer.Option(help="Bundled example to start from.")
    ] = "support-tickets",
    rows: Annotated[int, typer.Option(help="Raw rows the example generator writes.")] = 600,
) -> None:
    """Create a workspace from a bundled example."""
    from tunesmith.examples.scaffold import create_workspace

    with stage_errors(FileExistsError, KeyError):
        path = create_workspace(directory, example, rows)
    console.print(f"Workspace ready: [bold]{path}[/bold]. Next: tunesmith curate -w {path}")


@app.command()
def curate(
    workspace: WorkspaceOption = None,
    with_feedback: Annotated[
        bool,
        typer.Option(
            "--with-feedback",
            help="Add the review queue's decided records (train + a held-out feedback split).",
        ),
    ] = False,
) -> None:
    """Curate raw records into a versioned, PII-masked, deduplicated ChatML dataset."""
    from tunesmith.data.curate import curate as run_curate
    from tunesmith.data.readers import SourceError
    from tunesmith.store.audit import AuditError

    with stage_errors(ConfigError, SourceError, AuditError, OSError, ValueError):
        ws, config = workspace_and_config(workspace)
        with progress_bar() as progress:
            tasks: dict[str, int] = {}

            def tick(stage: str, n: int) -> None:
                if stage not in tasks:
                    tasks[stage] = progress.add_task(f"{stage:>5}", total=None)
                progress.advance(tasks[stage], n)

            if with_feedback:
                from tunesmith.review.export import export_feedback
                from tunesmith.review.to_curate import curate_reviewed

                exported = export_feedback(ws, config.task)
                c = exported.counts
                console.print(
                    f"reviewed records: {c['records']} ({c['pairs'] + c['choice_pairs']} "
                    f"preference pairs, {c['choice_pairs']} from pairwise choices, in "
                    f"{exported.preferences})"
                )
                if exported.refused:  # reviewed tool answers that are not valid calls
                    console.print(
                        f"[yellow]left out {len(exported.refused)} reviewed tool answer(s)"
                        f" ({c['invalid_tool_corrections']} corrections):[/yellow]"
                    )
                    for line in exported.refused:
                        console.print(f"  {line}", markup=False)
                if c["tool_pairs_skipped"]:
                    console.print(
                        f"{c['tool_pairs_skipped']} corrected tool answer(s) without a "
                        "preference pair (align reads answers as text)"
                    )
                result = curate_reviewed(ws, config, progress=tick)
            else:
                result = run_curate(ws, config.data, progress=tick)
    _print_version(config.data.name, result)


def _print_version(name: str, result: CurateResult) -> None:
    """What each curation stage kept and dropped, and whether the counts add up."""
    counts = result.manifest["counts"]
    table = Table(title=f"{name} {result.version}", show_header=True)
    table.add_column("stage")
    table.add_column("records", justify="right")
    table.add_row("read", str(counts["read"]))
    for stage, n in counts["quarantined_by_stage"].items():
        table.add_row(f"quarantined at {stage}", str(n))
    table.add_row("exact duplicates", str(counts["duplicates"]["exact"]))
    table.add_row("near duplicates", str(counts["duplicates"]["near"]))
    table.add_row("kept", str(counts["kept"]))
    for split, n in counts["splits"].items():
        table.add_row(f"  {split}", str(n))
    for entity, n in result.manifest["pii_found"].items():
        table.add_row(f"PII masked: {entity}", str(n))
    console.print(table)
    state = "written" if result.created else "unchanged, nothing written"
    verdict = "reconcile" if counts["reconciles"] else "DO NOT reconcile"
    console.print(f"{result.path} ({state}); counts {verdict}.")


@data_app.command("scan")
def scan(
    file: Annotated[Path, typer.Argument(help="CSV, JSONL, JSON, Parquet file or text folder.")],
    workspace: WorkspaceOption = None,
) -> None:
    """Print PII, duplicate and quality findings for one file; writes nothing."""
    from tunesmith.data.readers import SourceError
    from tunesmith.data.scan import scan_file

    ws = open_workspace(workspace)
    with stage_errors(ConfigError, SourceError, OSError, ValueError):
        # outside a workspace the scan runs with the default settings
        data = ws.load_config().data if ws.config_path.is_file() else None
        with progress_bar() as progress:
            task = progress.add_task(" scan", total=None)
            result = scan_file(
                file,
                pii=data.pii if data else None,
                dedup=data.dedup if data else None,
                quality=data.quality if data else None,
                on_row=lambda: progress.advance(task),
            )
    table = Table(title=f"scan of {file}")
    table.add_column("finding")
    table.add_column("count", justify="right")
    table.add_row("rows read", str(result.rows))
    table.add_row("clean unique rows", str(result.clean))
    for kind, n in sorted(result.duplicates.items()):
        table.add_row(f"{kind} duplicates", str(n))
    for reason, n in sorted(result.quarantined.items()):
        table.add_row(f"would quarantine ({reason})", str(n))
    table.add_row("rows with PII", str(result.rows_with_pii))
    for entity, n in sorted(result.pii.items()):
        table.add_row(f"PII {entity}", str(n))
    for name, n in sorted(result.pii_by_field.items()):
        table.add_row(f"PII in field '{name}'", str(n))
    console.print(table)
