"""`tunesmith` commands of the registry stage."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING, Annotated

import typer
from rich.table import Table

from tunesmith.cli.common import WorkspaceOption, app, compare_table, console, fail, models_app
from tunesmith.config import ConfigError, RegistryConfig
from tunesmith.config.workspace import Workspace, open_workspace

if TYPE_CHECKING:
    from tunesmith.registry import ModelSummary, ModelVersion


def _errors() -> tuple[type[Exception], ...]:
    """What a registry command reports as one line; imported late, mlflow is slow to load."""
    from mlflow.exceptions import MlflowException

    from tunesmith.registry import RegistryError
    from tunesmith.store.audit import AuditError

    return (RegistryError, LookupError, ConfigError, AuditError, MlflowException, OSError)


@contextmanager
def _registry_errors() -> Iterator[None]:
    """A known failure, MLflow's included (an unreachable TUNESMITH_MLFLOW_URI, a server's
    HTML error page), is one line and exit code 1, never a traceback or an internal error;
    an unreachable server is said in seconds, not after minutes of retries."""
    from tunesmith.store.tracking import quick_http_failures

    try:
        with quick_http_failures():
            yield
    except _errors() as err:
        raise fail(" ".join(str(err).split()) or type(err).__name__) from None


def _say(text: str) -> None:
    """One line as written: names, notes and refs are not rich markup, nor wrapped."""
    console.print(text, markup=False, highlight=False, soft_wrap=True)


def _policy(ws: Workspace) -> RegistryConfig:
    from tunesmith.registry import registry_policy

    return registry_policy(ws)


@app.command("register")
def register_command(
    run: Annotated[str, typer.Argument(help="Finished run id under runs/.")],
    name: Annotated[
        str | None, typer.Option(help="Registered model (default: registry.model_name).")
    ] = None,
    workspace: WorkspaceOption = None,
) -> None:
    """Register a finished run as a model version: adapter, lineage, config, eval verdicts."""
    from tunesmith.registry import register, workspace_model_name

    ws = open_workspace(workspace)
    with _registry_errors():
        result = register(ws, run, name or workspace_model_name(ws))
    mv = result.version
    verdict = mv.tags.get("eval.passed", "none")
    if result.created:
        _say(f"registered {mv.ref} from run {run} (eval passed: {verdict})")
    elif result.eval_updated:
        _say(f"run {run} is {mv.ref}: its new eval report is attached (passed: {verdict})")
    else:
        _say(f"run {run} is already registered as {mv.ref}; nothing changed")
    for warning in result.warnings:
        _say(f"warning: {warning}")


@app.command("approve")
def approve_command(
    ref: Annotated[str, typer.Argument(help="NAME/VERSION to approve.")],
    by: Annotated[
        str, typer.Option("--by", help="A name shown with the approval (not what is counted).")
    ] = "",
    note: Annotated[str, typer.Option(help="Why, or what was checked.")] = "",
    key: Annotated[
        str | None,
        typer.Option(
            "--key",
            help="An API key with the approver role: who approves (default: $TUNESMITH_KEY, "
            "else the OS user running the command).",
        ),
    ] = None,
    workspace: WorkspaceOption = None,
) -> None:
    """Record a human approval of a model version, counted by who is authenticated."""
    from tunesmith.registry import approval_problem, approve
    from tunesmith.store.actor import key_secret

    ws = open_workspace(workspace)
    with _registry_errors():
        policy = _policy(ws)
        mv = approve(ws, ref, by, note, policy, key_secret(key))
        missing = approval_problem(ws, mv, policy)
    state = "enough approvals for champion" if missing is None else missing
    given = mv.approvals[-1]
    _say(f"{mv.ref} approved by {given.get('by')} (as {given.get('actor')}); {state}")


@app.command("promote")
def promote_command(
    ref: Annotated[str, typer.Argument(help="NAME/VERSION to promote.")],
    alias: Annotated[str, typer.Option(help="champion or challenger.")],
    by: Annotated[
        str | None, typer.Option(help="Who promotes (default: $TUNESMITH_ACTOR).")
    ] = None,
    workspace: WorkspaceOption = None,
) -> None:
    """Point champion or challenger at a version whose gates passed (champion: approved too)."""
    from tunesmith.registry import promote

    ws = open_workspace(workspace)
    with _registry_errors():
        done = promote(ws, ref, alias, _policy(ws), by)
    was = f" (was {done.name}/{done.previous})" if done.previous is not None else ""
    _say(f"{done.ref} is now {alias}{was}, by {done.by} at {done.at}")
    for gone in done.cleared:
        _say(f"{done.ref} is no longer {gone}")


@app.command("rollback")
def rollback_command(
    name: Annotated[str, typer.Argument(help="Registered model whose champion to roll back.")],
    by: Annotated[
        str | None, typer.Option(help="Who rolls back (default: $TUNESMITH_ACTOR).")
    ] = None,
    workspace: WorkspaceOption = None,
) -> None:
    """Make the previous champion champion again (its gates must still pass)."""
    from tunesmith.registry import rollback

    ws = open_workspace(workspace)
    with _registry_errors():
        done = rollback(ws, name, _policy(ws), by)
    _say(
        f"{name} champion rolled back to {done.ref} (was {name}/{done.previous}), by {done.by}",
    )


def _versions_table(model: ModelSummary) -> Table:
    table = Table(title=f"{model.name}")
    for column in ("version", "run", "created", "eval passed", "approvals", "aliases"):
        table.add_column(column, overflow="fold")
    for v in model.versions:
        table.add_row(
            str(v.version),
            v.run_id,
            v.created_at,
            v.eval_passed,
            str(v.approvals),
            ", ".join(v.aliases),
        )
    return table


@models_app.command("list")
def models_list(workspace: WorkspaceOption = None) -> None:
    """Registered models with their versions, eval verdicts, approvals and aliases."""
    from tunesmith.registry import list_models

    ws = open_workspace(workspace)
    with _registry_errors():
        models = list_models(ws)
    if not models:
        _say("no registered models yet: tunesmith register RUN")
    for model in models:
        console.print(_versions_table(model))


def _show_version(ws: Workspace, mv: ModelVersion, policy: RegistryConfig) -> None:
    from tunesmith.registry import champion_problem, standings, weights_files, weights_folder
    from tunesmith.registry.approvals import approve_entries
    from tunesmith.registry.client import alias_version, client

    record = mv.record
    base, dataset = record["base_model"], record["dataset"]
    facts = Table(title=mv.ref, show_header=False)
    facts.add_column("field")
    facts.add_column("value", overflow="fold")
    facts.add_row("run", mv.run_id)
    facts.add_row("created", mv.created_at)
    facts.add_row("aliases", ", ".join(mv.aliases) or "-")
    facts.add_row("source", mv.source)
    facts.add_row("base model", f"{base.get('name')} (weights {base.get('weights_sha256')})")
    facts.add_row("dataset", f"{dataset.get('name')} {dataset.get('version')}")
    facts.add_row("method", str((record.get("training") or {}).get("train", {}).get("method")))
    folder = weights_folder(record)
    for name, digest in weights_files(record).items():
        facts.add_row(f"{folder}/{name}", digest)
    for key in sorted(k for k in mv.tags if k.startswith("promoted.")):
        facts.add_row(key, mv.tags[key])
    console.print(facts)
    result = record.get("eval")
    if result is None:
        _say("eval: no report attached")
    else:
        gates = Table(title=f"eval gates (passed: {result['passed']})")
        for column in ("gate", "metric", "value", "threshold", "passed", "detail"):
            gates.add_column(column)
        for g in result["gates"]:
            cells = (g.get(k) for k in ("gate", "metric", "value", "threshold", "passed", "detail"))
            gates.add_row(*(f"{c:.3f}" if isinstance(c, float) else str(c) for c in cells))
        console.print(gates)
        metrics = ", ".join(f"{k} {v:.4g}" for k, v in result["metrics"].items() if v is not None)
        _say(f"metrics: {metrics}")
        if result.get("compare"):
            console.print(compare_table(result["compare"], result.get("main_metric")))
    approvals = Table(title="approvals")
    for column in ("by", "actor", "at", "note", "counts"):
        approvals.add_column(column, overflow="fold")
    for s in standings(mv, mv.record_sha256, policy, approve_entries(ws)):
        a = s.approval
        counts = "yes" if s.counts else f"no ({s.why})"
        cells = (a.get(k, "") for k in ("by", "actor", "at", "note"))
        approvals.add_row(*cells, counts)
    console.print(approvals)
    champion = alias_version(client(ws), mv.name, "champion")
    problem = champion_problem(ws, mv, policy, champion)
    verdict = "yes" if problem is None else f"no: {problem}"
    _say(f"can become champion: {verdict}")


@models_app.command("show")
def models_show(
    ref: Annotated[str, typer.Argument(help="NAME, NAME/VERSION or NAME@ALIAS.")],
    workspace: WorkspaceOption = None,
) -> None:
    """A registered model's versions and promotions, or one version's full record."""
    from tunesmith.registry import registry_policy, resolve, show_model

    ws = open_workspace(workspace)
    with _registry_errors():
        policy = registry_policy(ws)
        if "/" in ref or "@" in ref:
            _show_version(ws, resolve(ws, ref), policy)
            return
        model = show_model(ws, ref, policy)
    console.print(_versions_table(model))
    if model.history:
        table = Table(title="promotions")
        for column in ("action", "alias", "version", "previous", "by", "at"):
            table.add_column(column, overflow="fold")
        for step in model.history:
            cells = (step.get(k) for k in ("action", "alias", "version", "previous", "by", "at"))
            table.add_row(*("-" if c is None else str(c) for c in cells))
        console.print(table)
