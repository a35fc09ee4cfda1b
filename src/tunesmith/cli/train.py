"""`tunesmith models import`, `train`, `export` and `plan`: the base model, fine-tuning runs,
their merged or vLLM exports, and estimates made before any of it."""

from __future__ import annotations

import math
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer
from rich.table import Table

from tunesmith.cli.common import (
    WorkspaceOption,
    app,
    console,
    err_console,
    fail,
    models_app,
    progress_bar,
    stage_errors,
    workspace_and_config,
)
from tunesmith.config import ConfigError
from tunesmith.config.embedding import task_type
from tunesmith.config.project import read_yaml
from tunesmith.config.workspace import Workspace, open_workspace

if TYPE_CHECKING:
    from tunesmith.train.run import TrainResult


@models_app.command("import")
def models_import(workspace: WorkspaceOption = None) -> None:
    """Import the configured base model into the workspace cache (GGUF -> safetensors)."""
    from tunesmith.models.base import BaseModelError, resolve_base_model

    with stage_errors(ConfigError, BaseModelError, OSError):
        ws, config = workspace_and_config(workspace)
        with console.status("importing base model (first time: about a minute)"):
            model = resolve_base_model(config.base_model, ws.state_dir / "models", ws.root)
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

    with stage_errors(ConfigError):
        ws = open_workspace(workspace)
        embedding = task_type(read_yaml(ws.config_path)) == "embedding"
    if embedding:
        if resume or nproc > 1:
            raise fail("an embedding run (task.type: embedding) takes neither --resume nor --nproc")
        _train_embedding(ws)
        return
    if nproc > 1:
        with stage_errors(ConfigError, DatasetError, DistributedRunError):
            run_id = launch(ws, nproc, resume)
        summary = (ws.runs_dir / run_id / "summary.json").read_text()
        console.print(f"run {run_id} ({nproc} processes): {ws.runs_dir / run_id}\n{summary}")
        return
    errors = (BaseModelError, DatasetError, LossDivergedError, CheckpointWriteError, AuditError)
    with stage_errors(ConfigError, *errors, OSError):
        ws, config = workspace_and_config(workspace)
        with progress_bar(eta=True) as progress:
            task = progress.add_task("train", total=None)

            def show(step: int, total: int, metrics: dict[str, float]) -> None:
                shown = ", ".join(f"{k} {v:.4g}" for k, v in metrics.items())
                progress.update(task, completed=step, total=total, description=f"train {shown}")

            result = train(ws, config, resume=resume, on_progress=show)
    _print_run(result)


def _train_embedding(ws: Workspace) -> None:
    """`task.type: embedding`: tune the knowledge base's embedding model (train.embedding)."""
    from tunesmith.config.embedding import load_embedding_project
    from tunesmith.evaluate.retrieval import delta_points
    from tunesmith.models.sentence import SentenceModelError
    from tunesmith.store.audit import AuditError
    from tunesmith.train.embedding import EmbeddingTrainError, train_embedding

    errors = (ConfigError, EmbeddingTrainError, SentenceModelError, AuditError, OSError)
    with stage_errors(*errors):
        project = load_embedding_project(ws.config_path)
        with progress_bar(eta=True) as progress:
            task = progress.add_task("train embedding", total=None)

            def show(step: int, total: int, metrics: dict[str, float]) -> None:
                shown = ", ".join(f"{k} {v:.4g}" for k, v in metrics.items())
                progress.update(task, completed=step, total=total, description=f"train {shown}")

            result = train_embedding(
                ws, project.knowledge, project.train.embedding, show, project.project
            )
    for warning in result.warnings:
        err_console.print(f"[yellow]warning:[/yellow] {warning}", highlight=False)
    overall = result.metrics["overall"]
    console.print(
        f"run {result.run_id}: {result.steps} steps on {result.pairs} pairs in "
        f"{result.train_seconds:.0f} s\n{result.path}/model"
    )
    console.print(
        f"held-out nDCG@10 on {result.held_out} queries: stock {overall['stock']['ndcg@10']:.3f}"
        f" -> tuned {overall['tuned']['ndcg@10']:.3f} ({delta_points(result.metrics):+.1f} "
        f"points); `tunesmith eval --model {result.run_id}` for the full table"
    )


def _print_run(result: TrainResult) -> None:
    """Steps and best validation loss, the sequences used, and the loss before and after."""
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

        with stage_errors(VllmExportError, OSError):
            manifest = export_vllm(ws, target, vllm)
        console.print(f"{len(manifest['adapters'])} adapter(s) and launch.sh written to {vllm}")
        console.print(" ".join(manifest["command"]), highlight=False, markup=False, soft_wrap=True)
        return
    from tunesmith.train.export import ExportError, export_merged

    assert merged is not None
    with stage_errors(ExportError, OSError), console.status(f"merging {target}"):
        path = export_merged(ws, target, merged)
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
    with stage_errors(ValueError):
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
    table = Table(title="training plan (estimate)", show_header=False)
    table.add_column("what")
    table.add_column("estimate", justify="right")
    for label, value in summary_rows(plan):
        table.add_row(label, value)
    console.print(table)
