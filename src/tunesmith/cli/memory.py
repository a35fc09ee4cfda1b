"""`tunesmith memory show|forget|expire`: what served models remember of an end user."""

from __future__ import annotations

import json
from typing import Annotated

import typer
from rich.table import Table

from tunesmith.cli.common import WorkspaceOption, app, console, stage_errors, workspace_and_config
from tunesmith.config import ConfigError

memory_app = typer.Typer(help="Memory of end users: show it, forget a user, expire old entries.")
app.add_typer(memory_app, name="memory")

UserOption = Annotated[str, typer.Option("--user", help="The end user (the request's `user`).")]
TenantOption = Annotated[str, typer.Option("--tenant", help="The tenant of the user's keys.")]


@memory_app.command("show")
def memory_show(
    user: UserOption,
    tenant: TenantOption,
    history: Annotated[bool, typer.Option(help="Superseded facts too.")] = False,
    as_json: Annotated[bool, typer.Option("--json", help="One JSON object.")] = False,
    workspace: WorkspaceOption = None,
) -> None:
    """The user's facts (live, or with their history) and earlier turns."""
    from tunesmith.memory.manage import show
    from tunesmith.memory.records import Scope
    from tunesmith.store.db import open_store

    with stage_errors(ConfigError):
        ws, _ = workspace_and_config(workspace)
    held = show(open_store(ws.state_url()), Scope(tenant, user), history)
    if as_json:
        console.print_json(json.dumps(held))
        return
    facts = Table(title=f"facts of {user} ({tenant})")
    for column in ("id", "slot", "value", "confidence", "method", "from", "at", "superseded"):
        facts.add_column(column)
    for f in held["facts"]:
        facts.add_row(
            str(f["id"]), f["slot"], f["value"], f"{f['confidence']:.2f}", f["method"],
            f["source_interaction"], f["created_at"], f["superseded_at"] or "-",
        )  # fmt: skip
    console.print(facts)
    episodes = Table(title=f"earlier turns of {user} ({tenant})")
    for column in ("id", "at", "model", "interaction", "text"):
        episodes.add_column(column)
    for e in held["episodes"]:
        episodes.add_row(str(e["id"]), e["created_at"], e["model"], e["interaction_id"], e["text"])
    console.print(episodes)


@memory_app.command("forget")
def memory_forget(
    user: UserOption, tenant: TenantOption, workspace: WorkspaceOption = None
) -> None:
    """Delete everything remembered of the user (history included), with an audit entry."""
    from tunesmith.memory.manage import forget
    from tunesmith.memory.records import Scope
    from tunesmith.store import audit
    from tunesmith.store.db import open_store

    with stage_errors(ConfigError):
        ws, _ = workspace_and_config(workspace)
    counts = forget(open_store(ws.state_url()), audit.audit_path(ws.state_dir), Scope(tenant, user))
    console.print(f"forgot {user} ({tenant}): {counts['episodes']} turns, {counts['facts']} facts")


@memory_app.command("expire")
def memory_expire(workspace: WorkspaceOption = None) -> None:
    """Delete memories older than memory.retention_days now (the server does it on a schedule)."""
    from tunesmith.memory.manage import expire
    from tunesmith.store import audit
    from tunesmith.store.db import open_store

    with stage_errors(ConfigError):
        ws, config = workspace_and_config(workspace)
    days = config.memory.retention_days
    if days is None:
        console.print("memory.retention_days is not set: nothing expires")
        return
    counts = expire(open_store(ws.state_url()), audit.audit_path(ws.state_dir), days)
    console.print(
        f"expired {counts['episodes']} turns and {counts['facts']} facts older than {days:g} days"
    )
