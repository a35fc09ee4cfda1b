"""The `tunesmith` command: parse, call the stage API, print. No logic lives here."""

from __future__ import annotations

import math
import os
import warnings
from pathlib import Path
from typing import Annotated

import typer
from rich.table import Table

from tunesmith.cli.common import (
    WorkspaceOption,
    app,
    console,
    data_app,
    err_console,
    fail,
    models_app,
    progress_bar,
)
from tunesmith.config import ConfigError
from tunesmith.config.workspace import open_workspace


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

    try:
        path = create_workspace(directory, example, rows)
    except (FileExistsError, KeyError) as err:
        raise fail(str(err).strip("'\"")) from None
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
    from tunesmith.data.curate import FeedbackInput
    from tunesmith.data.curate import curate as run_curate
    from tunesmith.data.readers import SourceError
    from tunesmith.store.audit import AuditError

    ws = open_workspace(workspace)
    try:
        config = ws.load_config()
        with progress_bar() as progress:
            tasks: dict[str, int] = {}

            def tick(stage: str, n: int) -> None:
                if stage not in tasks:
                    tasks[stage] = progress.add_task(f"{stage:>5}", total=None)
                progress.advance(tasks[stage], n)

            feedback = None
            if with_feedback:
                from tunesmith.review.export import REVIEWED_FILE, export_feedback

                exported = export_feedback(ws, config.task)
                c = exported.counts
                console.print(
                    f"reviewed records: {c['records']} ({c['pairs'] + c['choice_pairs']} "
                    f"preference pairs, {c['choice_pairs']} from pairwise choices, in "
                    f"{exported.preferences})"
                )
                feedback = FeedbackInput(REVIEWED_FILE, config.monitor.feedback_eval_share)
            result = run_curate(ws, config.data, progress=tick, feedback=feedback)
    except (ConfigError, SourceError, AuditError, OSError, ValueError) as err:
        raise fail(str(err)) from None
    counts = result.manifest["counts"]
    table = Table(title=f"{config.data.name} {result.version}", show_header=True)
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
    try:
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
    except (ConfigError, SourceError, OSError, ValueError) as err:
        raise fail(str(err)) from None
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


@models_app.command("import")
def models_import(workspace: WorkspaceOption = None) -> None:
    """Import the configured base model into the workspace cache (GGUF -> safetensors)."""
    from tunesmith.models.base import BaseModelError, resolve_base_model

    ws = open_workspace(workspace)
    try:
        config = ws.load_config()
        with console.status("importing base model (first time: about a minute)"):
            model = resolve_base_model(config.base_model, ws.state_dir / "models", ws.root)
    except (ConfigError, BaseModelError, OSError) as err:
        raise fail(str(err)) from None
    console.print(f"{model.name}: {model.path}\nweights sha256 {model.weights_sha256}")


@app.command("train")
def train_command(
    workspace: WorkspaceOption = None,
    resume: Annotated[
        str | None, typer.Option(help="Run id to continue from its last complete checkpoint.")
    ] = None,
    nproc: Annotated[
        int, typer.Option(min=1, help="Processes (DDP through torchrun; gloo on CPU).")
    ] = 1,
) -> None:
    """Fine-tune the base model on a dataset version; writes runs/<run-id>/."""
    from tunesmith.data.version import DatasetError
    from tunesmith.models.base import BaseModelError
    from tunesmith.store.audit import AuditError
    from tunesmith.train.callbacks import LossDivergedError
    from tunesmith.train.distributed import DistributedRunError, launch
    from tunesmith.train.run import CheckpointWriteError, train

    ws = open_workspace(workspace)
    if nproc > 1:
        try:
            run_id = launch(ws, nproc, resume)
        except (ConfigError, DatasetError, DistributedRunError) as err:
            raise fail(str(err)) from None
        summary = (ws.runs_dir / run_id / "summary.json").read_text()
        console.print(f"run {run_id} ({nproc} processes): {ws.runs_dir / run_id}\n{summary}")
        return
    try:
        config = ws.load_config()
        with progress_bar(eta=True) as progress:
            task = progress.add_task("train", total=None)

            def show(step: int, total: int, metrics: dict[str, float]) -> None:
                shown = ", ".join(f"{k} {v:.4g}" for k, v in metrics.items())
                progress.update(task, completed=step, total=total, description=f"train {shown}")

            result = train(ws, config, resume=resume, on_progress=show)
    except (
        ConfigError,
        BaseModelError,
        DatasetError,
        LossDivergedError,
        CheckpointWriteError,
        AuditError,
        OSError,
    ) as err:
        raise fail(str(err)) from None
    best = "n/a" if result.best_val_loss is None else f"{result.best_val_loss:.4f}"
    console.print(
        f"run {result.run_id}: {result.steps} steps, best val loss {best}"
        f"{' (stopped early)' if result.stopped_early else ''}\n{result.path}/adapter"
    )
    counts = result.counts
    console.print(
        f"train sequences: {counts['records'] - counts['dropped_too_long']} used, "
        f"{counts['truncated']} truncated, {counts['dropped_too_long']} dropped as longer than "
        "train.max_length"
    )
    if result.val_loss_before is not None and result.best_val_loss is not None:
        before, after = result.val_loss_before, result.best_val_loss
        console.print(
            f"validation loss: base model {before:.3f} -> tuned {after:.3f} "
            f"(perplexity {math.exp(before):.1f} -> {math.exp(after):.1f})"
        )


@app.command("export")
def export_command(
    target: Annotated[str, typer.Argument(help="Run id (--merged) or registered name (--vllm).")],
    merged: Annotated[
        Path | None, typer.Option("--merged", help="Folder for merged full weights + tokenizer.")
    ] = None,
    vllm: Annotated[
        Path | None,
        typer.Option("--vllm", help="Folder for a model's adapters and its vLLM launch command."),
    ] = None,
    workspace: WorkspaceOption = None,
) -> None:
    """Merge a run's adapter into its base, or export a registered model for vLLM."""
    if (merged is None) == (vllm is None):
        raise fail("give exactly one of --merged DIR or --vllm DIR")
    ws = open_workspace(workspace)
    if vllm is not None:
        from tunesmith.serve.vllm import VllmExportError, export_vllm

        try:
            manifest = export_vllm(ws, target, vllm)
        except (VllmExportError, OSError) as err:
            raise fail(str(err)) from None
        console.print(f"{len(manifest['adapters'])} adapter(s) and launch.sh written to {vllm}")
        console.print(" ".join(manifest["command"]), highlight=False, markup=False, soft_wrap=True)
        return
    from tunesmith.train.export import ExportError, export_merged

    assert merged is not None
    try:
        with console.status(f"merging {target}"):
            path = export_merged(ws, target, merged)
    except (ExportError, OSError) as err:
        raise fail(str(err)) from None
    console.print(f"merged model written to {path}")


@app.command("plan")
def plan_command(
    params: Annotated[str | None, typer.Option(help="Parameter count: 135M, 7B, 70B.")] = None,
    model: Annotated[str | None, typer.Option(help="A known model name instead.")] = None,
    method: Annotated[str, typer.Option(help="full, lora or qlora.")] = "lora",
    seq_len: Annotated[int, typer.Option(help="Tokens per sequence.")] = 2048,
    batch: Annotated[int, typer.Option(help="Sequences per micro-batch.")] = 1,
    checkpointing: Annotated[
        bool, typer.Option(help="Gradient checkpointing (recompute activations).")
    ] = True,
    lora_rank: Annotated[int, typer.Option(help="Adapter rank.")] = 16,
    tokens: Annotated[str | None, typer.Option(help="Token budget for GPU-hours: 10M, 1B.")] = None,
    device: Annotated[str, typer.Option(help="A100, H100, H200, L4, A10G, RTX4090, cpu.")] = "A100",
    mfu: Annotated[float, typer.Option(help="Assumed model FLOPs utilisation.")] = 0.4,
) -> None:
    """Estimate memory and GPU-hours of a fine-tune before running it."""
    from tunesmith.plan import estimate, summary_rows

    if params is None and model is None:
        raise fail("give --params (e.g. 7B) or --model")
    try:
        plan = estimate(
            params,
            model=model,
            method=method,
            seq_len=seq_len,
            batch=batch,
            gradient_checkpointing=checkpointing,
            lora_rank=lora_rank,
            tokens=tokens,
            device=device,
            mfu=mfu,
        )
    except ValueError as err:
        raise fail(str(err)) from None
    table = Table(title="training plan (estimate)", show_header=False)
    table.add_column("what")
    table.add_column("estimate", justify="right")
    for label, value in summary_rows(plan):
        table.add_row(label, value)
    console.print(table)


def main() -> None:
    """Entry point: an unexpected error is one line on stderr and exit code 2, not a traceback."""
    # library deprecation notices and per-file loading bars are for library developers
    warnings.filterwarnings("ignore", category=FutureWarning)
    os.environ.setdefault("TRANSFORMERS_VERBOSITY", "error")
    os.environ.setdefault("HF_HUB_DISABLE_PROGRESS_BARS", "1")
    try:
        app()
    except Exception as err:  # the known errors are handled per command; this is a bug
        err_console.print(f"[red]internal error:[/red] {type(err).__name__}: {err}", markup=True)
        err_console.print("Set TUNESMITH_DEBUG=1 for the traceback and please report it.")
        if os.environ.get("TUNESMITH_DEBUG"):
            raise
        raise SystemExit(2) from None


# each stage's commands register themselves on `app` when their module is imported
from tunesmith.cli import align, evaluate, governance, job, monitor, registry, serve  # noqa: E402, F401

if __name__ == "__main__":
    main()
