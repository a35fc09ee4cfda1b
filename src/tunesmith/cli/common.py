"""What every command module shares: the app, consoles, the workspace option, errors, progress."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

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
from rich.table import Table

from tunesmith.config.workspace import Workspace, open_workspace

if TYPE_CHECKING:
    from tunesmith.config import ProjectConfig

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


def _message(err: Exception) -> str:
    # str() of a KeyError is the repr of its key: print the message, not its quotes
    if isinstance(err, KeyError) and len(err.args) == 1:
        return str(err.args[0])
    return str(err)


@contextmanager
def stage_errors(*errors: type[Exception], prefix: str = "") -> Iterator[None]:
    """The known failures of a stage call become one line on stderr and exit code 1.

    Anything else is a bug: `main` reports it as an internal error with exit code 2.
    """
    try:
        yield
    except errors as err:
        raise fail(prefix + _message(err)) from None


def workspace_and_config(directory: Path | None) -> tuple[Workspace, ProjectConfig]:
    """The workspace and its validated config; call it inside `stage_errors(ConfigError, ...)`."""
    ws = open_workspace(directory)
    return ws, ws.load_config()


def progress_bar(eta: bool = False) -> Progress:
    columns = [TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn()]
    columns += [TimeElapsedColumn(), TimeRemainingColumn()] if eta else [TimeElapsedColumn()]
    return Progress(*columns, console=err_console, transient=True)


def compare_table(compare: list[dict[str, Any]], main: str | None) -> Table:
    """The prompt-versus-fine-tune rows of an eval report (`tunesmith eval`, `models show`)."""
    table = Table(title="Prompting versus fine-tuning (same rows)")
    for column in ("setting", main or "main metric", "prompt tokens / request", "ms / request"):
        table.add_column(column, justify="left" if column == "setting" else "right")
    for entry in compare:
        value = entry["metrics"].get(main) if main else None
        table.add_row(
            entry["setting"],
            "-" if value is None else f"{value:.3f}",
            f"{entry['prompt_tokens_per_request']:.0f}",
            f"{entry['latency_ms_per_request']:.0f}",
        )
    return table
