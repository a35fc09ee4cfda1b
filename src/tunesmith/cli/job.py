"""`tunesmith run`: the main job, every stage on a bundled example, with one summary table."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Annotated

import typer
from rich.table import Table

from tunesmith.cli.common import app, console, progress_bar, stage_errors


@app.command("run")
def run_command(
    directory: Annotated[Path, typer.Argument(help="New folder for the job's workspace.")],
    example: Annotated[str, typer.Option(help="Bundled example to run on.")] = "support-tickets",
) -> None:
    """The whole loop on an example: curate, train, eval, register, serve, monitor, review,
    retrain, promote, serve again; with simulated traffic and a simulated reviewer."""
    from tunesmith.pipeline.main_job import peak_rss_gib, run_main_job
    from tunesmith.pipeline.tool_job import run_tool_job

    started = time.monotonic()
    with progress_bar() as progress:

        def say(text: str) -> None:
            console.print(f"[bold]▸[/bold] {text}")

        def bar(description: str, total: int):  # type: ignore[no-untyped-def]
            task = progress.add_task(description, total=total or None)
            return lambda n: progress.advance(task, n)

        with stage_errors(FileExistsError, KeyError):
            if example == "support-tools":
                rows = run_tool_job(directory, say, bar)
            else:
                rows = run_main_job(directory, example, say, bar)
    own, server = peak_rss_gib()
    table = Table(
        title=f"tunesmith run: {directory} ({time.monotonic() - started:.0f} s)",
        caption=f"peak memory: job {own:.2f} GiB, server {server:.2f} GiB",
    )
    for column in ("stage", "what it did", "key number", "evidence"):
        table.add_column(column)
    table.add_column("s", justify="right")
    for row in rows:
        table.add_row(row.stage, row.did, row.number, row.evidence, f"{row.seconds:.0f}")
    console.print(table)
