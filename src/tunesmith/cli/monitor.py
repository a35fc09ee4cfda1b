"""`tunesmith monitor`, `review` and `loop`: watch production, review it, retrain from it."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import TYPE_CHECKING, Annotated, Any

import typer
from rich.panel import Panel
from rich.table import Table
from rich.text import Text

from tunesmith.cli.common import (
    WorkspaceOption,
    app,
    console,
    err_console,
    stage_errors,
    workspace_and_config,
)
from tunesmith.config import ConfigError

if TYPE_CHECKING:
    from tunesmith.review.choices import ChoiceItem
    from tunesmith.review.queue import ReviewItem
    from tunesmith.review.terminal import Terminal


@app.command()
def monitor(
    workspace: WorkspaceOption = None,
    since: Annotated[
        str | None, typer.Option(help="Window to judge, e.g. 24h, 90m (default: monitor.window).")
    ] = None,
) -> None:
    """Volume, latency, confidence and drift per model; doubtful answers go to review."""
    from tunesmith.monitor.run import monitor as run_monitor

    with stage_errors(ConfigError, ValueError, FileNotFoundError):
        ws, config = workspace_and_config(workspace)
        with err_console.status("monitoring") as status:
            result = run_monitor(ws, config, since, progress=status.update)
    report = result.report
    table = Table(title=f"{report['interactions']} interactions, {report['window']['start']} – now")
    for column in ("model", "volume", "p95 ms", "errors", "low conf.", "drift", "to review"):
        table.add_column(column, justify="left" if column == "model" else "right")
    for m in report["models"]:
        s = m["statistics"]
        share = s["low_confidence_share"]
        drift = (m.get("drift_skipped") and "not judged") or ("DRIFT" if m["drifted"] else "no")
        table.add_row(
            m["model"],
            str(s["volume"]),
            f"{s['latency_ms_p95']:.0f}",
            f"{s['error_rate']:.1%}",
            "-" if share is None else f"{share:.1%}",
            drift,
            str(sum(m["review_candidates"].values())),
        )
    console.print(table)
    for m in report["models"]:
        for check in m["checks"]:
            verdict = "[red]drift[/red]" if check["drifted"] else "ok"
            console.print(
                f"  {m['model']} {check['name']}: {check['statistic']:.3f} "
                f"(threshold {check['threshold']:.3f}) {verdict}"
            )
    queue = report["review"]["queue"]
    console.print(f"review queue: {result.enqueued} added, {queue['open']} open")
    console.print(f"report: {result.path / 'report.html'}")


def _show(item: ReviewItem) -> None:
    from tunesmith.review.terminal import item_panels

    margin = "-" if item.label_margin is None else f"{item.label_margin:.2f}"
    title = f"item {item.id} · {item.model} · {', '.join(item.reasons)} · margin {margin}"
    (heading, given), (answer_title, answer) = item_panels(item)
    if heading != "input":
        title += f" · {heading}"
    # Text, not markup: calls and answers hold square brackets rich would read as styles
    console.print(Panel(Text(given), title=title, title_align="left"))
    console.print(Panel(Text(answer), title=answer_title, title_align="left"))


def _show_choice(item: ChoiceItem) -> None:
    # the last user turn is the question; earlier turns are context a reviewer rarely needs
    user = next((m["content"] for m in reversed(item.prompt) if m["role"] == "user"), "")
    earlier = len(item.prompt) - 1
    title = f"choice {item.id} · {item.model or item.source} · {earlier} earlier turn(s)"
    # Text, not markup: answers may hold square brackets rich would read as styles
    console.print(Panel(Text(user), title=title, title_align="left"))
    console.print(Panel(Text(item.answer_a), title="[1] answer A", title_align="left"))
    console.print(Panel(Text(item.answer_b), title="[2] answer B", title_align="left"))


def _terminal(reviewer: str, show: Callable[[Any], None]) -> Terminal:
    """typer's prompt and rich's consoles for a review session."""
    from tunesmith.review.terminal import Terminal

    def ask(question: str, default: str) -> str:
        return typer.prompt(question, default=default, show_default=default != "")

    def recorded(verdict: str, what: str) -> None:
        console.print(f"[green]{verdict}[/green] recorded for {what} by {reviewer}")

    def refused(err: Exception) -> None:
        err_console.print(f"[red]not recorded:[/red] {err}")

    return Terminal(ask, show, recorded, refused)


@app.command()
def review(
    workspace: WorkspaceOption = None,
    by: Annotated[
        str | None, typer.Option(help="A name put beside each decision (not who decides).")
    ] = None,
    key: Annotated[
        str | None,
        typer.Option(
            "--key",
            help="An API key with the reviewer role: who decides, and the models it reviews "
            "(default: $TUNESMITH_KEY, else the OS user running the command, every model).",
        ),
    ] = None,
    pairwise: Annotated[
        bool, typer.Option("--choices", help="Pick the better of two answers instead.")
    ] = False,
) -> None:
    """Work through the review queue: accept, correct or reject each doubtful answer (with
    --choices: pick the better of two answers to one prompt, or call a tie)."""
    from tunesmith.review.terminal import review_choices, review_queue
    from tunesmith.store.actor import ActorError, authenticated, key_secret
    from tunesmith.store.audit import audit_path
    from tunesmith.store.db import open_store

    with stage_errors(ConfigError, ActorError):
        ws, config = workspace_and_config(workspace)
        # who decides is who authenticated: a reviewer key, else the OS user (never --by)
        actor = authenticated(ws.state_url(), key_secret(key), "reviewer")
    store, lease = open_store(ws.state_url()), config.monitor.review_lease_seconds
    audit_log = audit_path(ws.state_dir)
    if pairwise:
        terminal = _terminal(actor.reviewer, _show_choice)
        session = review_choices(store, actor, lease, terminal, audit_log=audit_log, by=by)
        where = "the choice queue"
    else:
        terminal = _terminal(actor.reviewer, _show)
        session = review_queue(
            store, actor, config.task, lease, terminal, audit_log=audit_log, by=by
        )
        where = "the queue"
    console.print(f"{session.decided} decided in this session; {session.open} open in {where}")


@app.command()
def loop(
    workspace: WorkspaceOption = None,
    once: Annotated[
        bool, typer.Option("--once", help="Check and run one cycle, then exit.")
    ] = False,
) -> None:
    """Retrain when a trigger fires; promote the challenger when it beats the champion."""
    from tunesmith.config.monitor import parse_duration
    from tunesmith.loop.run import LoopError, run_once
    from tunesmith.registry import RegistryError

    with stage_errors(ConfigError, ValueError):
        ws, config = workspace_and_config(workspace)
        interval = parse_duration(config.monitor.retrain.interval)
    errors = (LoopError, RegistryError, ValueError, FileNotFoundError)
    while True:
        with stage_errors(*errors), err_console.status("loop") as status:
            outcome = run_once(ws, config, progress=status.update)
        for trigger in outcome.triggers:
            mark = "[red]fired[/red]" if trigger["fired"] else "quiet"
            console.print(f"trigger {trigger['name']}: {mark} ({trigger['detail']})")
        if outcome.cycle is None:
            console.print("no trigger fired; nothing to do")
        else:
            _print_cycle(outcome.cycle, outcome.finished)
        if once:
            return
        time.sleep(interval)


def _print_cycle(cycle: dict, finished: bool) -> None:
    table = Table(title=f"loop cycle {cycle['id']}")
    table.add_column("step")
    table.add_column("result")
    for name, result in cycle["steps"].items():
        shown = {k: v for k, v in result.items() if k not in ("done", "at")}
        table.add_row(name, ", ".join(f"{k}={v}" for k, v in shown.items()))
    console.print(table)
    if finished:
        console.print(f"cycle finished: {cycle['outcome']}")
    else:
        reason = cycle["steps"].get("promote", {}).get("reason", "")
        console.print(f"cycle waiting: {reason}")
