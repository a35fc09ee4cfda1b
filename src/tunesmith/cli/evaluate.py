"""`tunesmith eval`: task metrics, slices, gates and the prompt-versus-fine-tune table."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Annotated

import typer
from rich.table import Table

from tunesmith.cli.common import (
    WorkspaceOption,
    app,
    compare_table,
    console,
    err_console,
    progress_bar,
    stage_errors,
    workspace_and_config,
)
from tunesmith.config import ConfigError
from tunesmith.config.workspace import Workspace, open_workspace


def _fmt(value: object) -> str:
    return f"{value:.3f}" if isinstance(value, float) else str(value)


@app.command("eval")
def eval_command(
    model: Annotated[
        str | None,
        typer.Option(
            "--model",
            "-m",
            help="'base', a run id, or NAME/VERSION / NAME@ALIAS (with --knowledge: the "
            "fine-tuned model, optional).",
        ),
    ] = None,
    data: Annotated[
        Path | None, typer.Option(help="ChatML JSONL to score instead of the dataset's split.")
    ] = None,
    compare: Annotated[
        bool, typer.Option(help="Also run the base model zero-shot and few-shot on the same rows.")
    ] = False,
    knowledge: Annotated[
        bool,
        typer.Option(
            "--knowledge",
            help="Fine-tuning versus retrieval versus both on the knowledge base's gold facts.",
        ),
    ] = False,
    questions: Annotated[
        Path | None,
        typer.Option(
            help="With --knowledge: gold-fact questions JSONL (eval.knowledge_questions)."
        ),
    ] = None,
    limit: Annotated[
        int | None, typer.Option(min=1, help="With --knowledge: the first N questions only.")
    ] = None,
    workspace: WorkspaceOption = None,
) -> None:
    """Evaluate a model; exits 1 when a configured gate fails."""
    from tunesmith.evaluate.run import evaluate
    from tunesmith.models.load import ModelInputError
    from tunesmith.store.audit import AuditError
    from tunesmith.store.runs import embedding_manifest

    if knowledge:
        _eval_knowledge(workspace, model, questions, limit)
        return
    if model is None:
        err_console.print("error: --model is required (or --knowledge)", highlight=False)
        raise typer.Exit(code=2)
    ws = open_workspace(workspace)
    if embedding_manifest(ws.runs_dir / model) is not None:
        _eval_embedding(ws, model)
        return
    with stage_errors(ConfigError, ModelInputError, AuditError, OSError):
        ws, config = workspace_and_config(workspace)
        with progress_bar(eta=True) as bar:

            def start(description: str, total: int) -> Callable[[int], None]:
                task = bar.add_task(description, total=total)
                return lambda n: bar.advance(task, n)

            result = evaluate(ws, config, model, data, compare, start)
    for warning in result.warnings:
        err_console.print(f"[yellow]warning:[/yellow] {warning}", highlight=False)
    report = result.report
    if report.get("kind") == "reward":
        _show_reward(report, result.out_dir)
        return
    main = report["main_metric"]
    data = report["data"]
    where = (
        f"{data['dataset']}/{data['version']} {data['split']}" if data["dataset"] else data["file"]
    )
    console.print(f"{report['model']['ref']} on {data['rows']} rows of {where}", highlight=False)
    table = Table(title="metrics")
    table.add_column("metric")
    table.add_column("value", justify="right")
    for name, value in report["metrics"].items():
        table.add_row(name, _fmt(value))
    console.print(table)
    if report["compare"]:
        console.print(compare_table(report["compare"], main))
    if report.get("per_category"):
        console.print(_category_table(report["per_category"]))
    for field, audit in report["slices"].items():
        if audit["ratio"] is not None:
            console.print(
                f"slices by {field}: worst {audit['worst']}, best {audit['best']}, "
                f"ratio {audit['ratio']:.3f}"
            )
    for gate in report["gates"]:
        mark = "[green]pass[/green]" if gate["passed"] else "[red]FAIL[/red]"
        console.print(f"gate {gate['gate']}: {mark} ({gate['detail']})")
    console.print(f"Report: {result.out_dir / 'report.md'}")
    if result.passed is False:
        raise typer.Exit(code=1)


def _show_reward(report: dict, out_dir: Path) -> None:
    """A reward run's agreement with the held-out human decisions, beside the other judges."""
    data = report["data"]
    console.print(f"{report['model']['run_id']} on {data['pairs']} pairs of {data['file']}")
    table = Table(title="agreement with the human's choice (ties count against)")
    for column in ("judge", "pairs", "agrees"):
        table.add_column(column, justify="left" if column == "judge" else "right")
    for name, result in report["judges"].items():
        table.add_row(name, str(result["pairs"]), _fmt(result["agree"]))
    console.print(table)
    buckets = Table(title="calibration: accuracy by |reward margin|")
    for column in ("margin", "pairs", "accuracy"):
        buckets.add_column(column, justify="left" if column == "margin" else "right")
    for row in report["calibration"]:
        buckets.add_row(row["bucket"], str(row["pairs"]), _fmt(row["accuracy"]))
    console.print(buckets)
    console.print(f"Report: {out_dir / 'report.md'}")


def _eval_embedding(ws: Workspace, run_id: str) -> None:
    """An embedding run: its held-out queries ranked by the stock and the tuned model."""
    from tunesmith.evaluate.retrieval import (
        METRICS,
        EmbeddingRunError,
        delta_points,
        evaluate_embedding_run,
    )
    from tunesmith.models.sentence import SentenceModelError
    from tunesmith.store.audit import AuditError

    with stage_errors(EmbeddingRunError, SentenceModelError, AuditError, OSError):
        report, out = evaluate_embedding_run(ws.root, ws.runs_dir, ws.state_dir, run_id)
    result = report["retrieval"]
    table = Table(title=f"retrieval on held-out queries, run {run_id}")
    for column in ("scope", "queries", "model", *METRICS):
        table.add_column(column, justify="left" if column in ("scope", "model") else "right")
    scopes = [("overall", result["queries"], result["overall"])]
    scopes += [(g, v["queries"], v) for g, v in result["groups"].items()]
    for scope, count, values in scopes:
        for i, name in enumerate(result["models"]):
            cells = [f"{values[name][m]:.3f}" for m in METRICS]
            table.add_row(scope if i == 0 else "", str(count) if i == 0 else "", name, *cells)
    console.print(table)
    console.print(f"nDCG@10 tuned minus stock: {delta_points(result):+.1f} points")
    console.print(f"Report: {out / 'report.md'}")
    (gate,) = report["gates"]
    if not gate["passed"]:
        # as for any run: a failed gate exits 1, and promotion refuses the version
        console.print(f"gate '{gate['gate']}' failed: {gate['detail']}")
        raise typer.Exit(1)
    console.print(f"gate '{gate['gate']}' passed: {gate['detail']}")


def _eval_knowledge(
    workspace: Path | None, model: str | None, questions: Path | None, limit: int | None
) -> None:
    """Base + retrieval, the fine-tuned model alone and with retrieval, and the update check."""
    from tunesmith.evaluate.knowledge_eval import (
        KnowledgeEvalError,
        evaluate_knowledge,
        questions_file,
    )
    from tunesmith.evaluate.knowledge_report import COLUMNS, setting_rows, update_rows
    from tunesmith.evaluate.knowledge_scoring import QuestionFileError
    from tunesmith.evaluate.knowledge_update import UpdateCheckError
    from tunesmith.knowledge.retriever import IndexMismatch
    from tunesmith.models.load import ModelInputError
    from tunesmith.models.sentence import SentenceModelError
    from tunesmith.store.audit import AuditError

    errors = (ConfigError, KnowledgeEvalError, QuestionFileError, UpdateCheckError)
    errors += (IndexMismatch, ModelInputError, SentenceModelError, AuditError, OSError)
    with stage_errors(*errors):
        ws, config = workspace_and_config(workspace)
        path = questions_file(ws, config, questions)
        with progress_bar(eta=True) as bar:

            def start(description: str, total: int) -> Callable[[int], None]:
                task = bar.add_task(description, total=total)
                return lambda n: bar.advance(task, n)

            result = evaluate_knowledge(ws, config, path, model, start, limit)
    report = result.report
    retrieval = report["retrieval"]
    console.print(
        f"{report['questions']['count']} questions; retrieval of the gold document: "
        f"recall@1 {retrieval['recall@1']:.3f}, recall@5 {retrieval['recall@5']:.3f}, "
        f"MRR@10 {retrieval['mrr@10']:.3f}",
        highlight=False,
    )
    table = Table(title="answers")
    for column in ("setting", "model", *(label for _, label in COLUMNS)):
        table.add_column(column, justify="left" if column in ("setting", "model") else "right")
    for row in setting_rows(report):
        table.add_row(*row)
    console.print(table)
    update = Table(title=f"knowledge update: {report['update']['edited_facts']} facts edited")
    for column in ("share", "before", "after"):
        update.add_column(column, justify="left" if column == "share" else "right")
    for row in update_rows(report["update"]):
        update.add_row(*row)
    console.print(update)
    for note in report["notes"]:
        console.print(f"note: {note}", highlight=False)
    console.print(f"Report: {result.files[1]}")


def _category_table(per_category: dict[str, dict[str, float]]) -> Table:
    """Tool calls per category (simple, multiple, parallel, irrelevance, ...)."""
    from tunesmith.evaluate.eval_report import TOOL_COLUMNS

    table = Table(title="tool calls per category")
    for column in ("category", "rows", *TOOL_COLUMNS):
        table.add_column(column, justify="left" if column == "category" else "right")
    for category, metrics in per_category.items():
        cells = [_fmt(metrics[c]) if c in metrics else "—" for c in TOOL_COLUMNS]
        table.add_row(category, str(int(metrics["rows"])), *cells)
    return table
