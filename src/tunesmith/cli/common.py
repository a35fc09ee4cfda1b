"""What every command module shares: the app, consoles, the workspace option, errors, progress."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    TextColumn,
    TimeElapsedColumn,
    TimeRemainingColumn,
)

app = typer.Typer(
    help="tunesmith: curate, fine-tune and operate small language models on-prem.",
    pretty_exceptions_enable=False,
)
data_app = typer.Typer(help="Inspect raw data without writing anything.")
app.add_typer(data_app, name="data")
models_app = typer.Typer(help="Base models and registered model versions.")
app.add_typer(models_app, name="models")
audit_app = typer.Typer(help="The append-only, hash-chained audit log.")
app.add_typer(audit_app, name="audit")
console = Console()
err_console = Console(stderr=True)

WorkspaceOption = Annotated[
    Path | None,
    typer.Option("--workspace", "-w", help="Workspace folder (default: nearest tunesmith.yaml)."),
]


def fail(message: str) -> typer.Exit:
    err_console.print("[red]error:[/red] ", end="")
    err_console.print(message, highlight=False, markup=False, soft_wrap=True)
    return typer.Exit(code=1)


def progress_bar(eta: bool = False) -> Progress:
    columns = [TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn()]
    columns += [TimeElapsedColumn(), TimeRemainingColumn()] if eta else [TimeElapsedColumn()]
    return Progress(*columns, console=err_console, transient=True)
