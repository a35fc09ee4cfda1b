"""`tunesmith kb index` and `tunesmith kb search`: knowledge bases with access groups."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated

import typer
from rich.table import Table

from tunesmith.cli.common import (
    WorkspaceOption,
    app,
    console,
    err_console,
    fail,
    progress_bar,
    stage_errors,
)
from tunesmith.config import ConfigError, load_knowledge_config
from tunesmith.config.workspace import open_workspace

kb_app = typer.Typer(help="Knowledge bases: index documents with access groups, search them.")
app.add_typer(kb_app, name="kb")

JsonOption = Annotated[bool, typer.Option("--json", help="One JSON line, for scripts.")]


def _errors() -> tuple[type[Exception], ...]:
    from tunesmith.knowledge.retriever import IndexMismatch
    from tunesmith.knowledge.search import QueryFileError
    from tunesmith.models.sentence import SentenceModelError

    known: tuple[type[Exception], ...] = (
        ConfigError,
        FileNotFoundError,
        IndexMismatch,
        QueryFileError,
        SentenceModelError,
    )
    try:  # a knowledge.store on a PostgreSQL server that cannot be reached
        import psycopg
    except ImportError:
        return known
    return (*known, psycopg.OperationalError)


@kb_app.command("index")
def kb_index(workspace: WorkspaceOption = None, as_json: JsonOption = False) -> None:
    """Index the `knowledge.sources` folders: only new or changed documents are embedded."""
    from tunesmith.knowledge.index import build_index

    with stage_errors(*_errors()):
        ws = open_workspace(workspace)
        config = load_knowledge_config(ws.config_path)
        with progress_bar() as progress:
            tasks: dict[str, int] = {}

            def tick(stage: str, n: int) -> None:
                if stage not in tasks:
                    label = "documents read" if stage == "read" else "chunks embedded"
                    tasks[stage] = progress.add_task(label, total=None)
                progress.advance(tasks[stage], n)

            report = build_index(ws, config, progress=tick)
    if as_json:
        typer.echo(json.dumps(report.summary()))
        return
    summary = report.summary()
    console.print(
        f"knowledge index version {summary['version']}: {summary['added']} added, "
        f"{summary['updated']} updated, {summary['deleted']} deleted, "
        f"{summary['unchanged']} unchanged, {summary['skipped']} skipped; "
        f"{summary['chunks']} chunks ({summary['embedded']} embedded) in "
        f"{summary['seconds']:.1f} s",
        highlight=False,
    )
    if report.skipped:
        table = Table(title="Skipped (not indexed)")
        table.add_column("document")
        table.add_column("reason")
        for row in report.skipped:
            table.add_row(row["doc"], row["reason"])
        console.print(table)
    console.print(f"manifest: {summary['manifest']}", highlight=False)


def _groups(value: str) -> tuple[str, ...]:
    return tuple(g.strip() for g in value.split(",") if g.strip())


@kb_app.command("search")
def kb_search(
    query: Annotated[str | None, typer.Argument(help="The question.")] = None,
    groups: Annotated[
        str, typer.Option("--groups", help="The caller's access groups, comma-separated.")
    ] = "",
    top_k: Annotated[int | None, typer.Option("--top-k", min=1, help="Results per query.")] = None,
    queries: Annotated[
        Path | None,
        typer.Option("--queries", help='JSONL, one {"query": ..., "groups": [...]} per line.'),
    ] = None,
    workspace: WorkspaceOption = None,
    as_json: JsonOption = False,
) -> None:
    """Search as a caller with `--groups`: only chunks those groups may read are candidates."""
    from tunesmith.knowledge.retriever import open_retriever
    from tunesmith.knowledge.search import Query, read_queries

    if (query is None) == (queries is None):
        raise fail("give either a QUERY or --queries FILE.jsonl")
    with stage_errors(*_errors()):
        ws = open_workspace(workspace)
        config = load_knowledge_config(ws.config_path)
        asked = read_queries(queries) if queries else [Query(query or "", _groups(groups))]
        retriever = open_retriever(ws, config)
    try:
        for one in asked:
            hits = retriever.search(one.query, one.groups, top_k)
            if as_json:
                found = [h.to_json() for h in hits]
                typer.echo(json.dumps({"query": one.query, "results": found}))
                continue
            if not one.groups:
                err_console.print("no --groups: a caller without groups reads nothing")
            table = Table(title=f"{one.query} (groups: {', '.join(one.groups) or 'none'})")
            for column in ("rank", "source", "score", "text"):
                table.add_column(column, justify="right" if column in ("rank", "score") else "left")
            for rank, hit in enumerate(hits, 1):
                text = " ".join(hit.chunk.text.split())
                table.add_row(str(rank), hit.url, f"{hit.score:.4f}", text[:160])
            console.print(table)
    finally:
        retriever.close()


@kb_app.command("pairs")
def kb_pairs(
    out: Annotated[
        Path | None,
        typer.Option(help="Where to write (default: feedback/retrieval_pairs.jsonl)."),
    ] = None,
    workspace: WorkspaceOption = None,
    as_json: JsonOption = False,
) -> None:
    """Embedding pairs from reviewed answers: each accepted or corrected answer's question
    with the documents it cites, for `train.embedding.pairs`."""
    from tunesmith.review.retrieval_pairs import export_retrieval_pairs

    with stage_errors(*_errors()):
        ws = open_workspace(workspace)
        result = export_retrieval_pairs(ws, load_knowledge_config(ws.config_path), out)
    summary = {"path": str(result.path), "pairs": result.pairs, **result.counts}
    if as_json:
        typer.echo(json.dumps(summary))
        return
    skipped = ", ".join(f"{k.replace('_', ' ')} {v}" for k, v in result.counts.items() if v)
    console.print(
        f"{result.pairs} pairs from {result.counts['paired']} reviewed answers in "
        f"{result.path} (decided items: {skipped or 'none'})",
        highlight=False,
    )
