"""`tunesmith serve` and `tunesmith keys`: the HTTP server and its API keys."""

from __future__ import annotations

import socket
from typing import Annotated

import typer
from rich.table import Table

from tunesmith.cli.common import (
    WorkspaceOption,
    app,
    console,
    err_console,
    stage_errors,
    workspace_and_config,
)
from tunesmith.config import ConfigError
from tunesmith.config.workspace import open_workspace

keys_app = typer.Typer(help="API keys of the server: hashed, scoped to models, rate-limited.")
app.add_typer(keys_app, name="keys")


@app.command()
def serve(
    workspace: WorkspaceOption = None,
    host: Annotated[str | None, typer.Option(help="Interface (default: serve.host).")] = None,
    port: Annotated[int | None, typer.Option(help="Port (default: serve.port; 0: any).")] = None,
) -> None:
    """Serve the base model and every adapter behind an OpenAI-compatible API."""
    from tunesmith.models.base import BaseModelError
    from tunesmith.serve.app import load_state, serve_forever
    from tunesmith.store import audit

    with stage_errors(ConfigError, BaseModelError):
        ws, config = workspace_and_config(workspace)
        with err_console.status("loading the base model"):
            state = load_state(ws, config)
    bind_host = host or config.serve.host
    sock = socket.socket(socket.AF_INET6 if ":" in bind_host else socket.AF_INET)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    where = f"{bind_host}:{port or config.serve.port}"
    with stage_errors(OSError, prefix=f"cannot listen on {where}: "):
        sock.bind((bind_host, config.serve.port if port is None else port))
    bound = sock.getsockname()[1]
    audit.append(
        audit.audit_path(ws.state_dir),
        "serve",
        state.catalog.base_id,
        details={
            "host": bind_host,
            "port": bound,
            "base_weights_sha256": state.catalog.base_sha256,
        },
    )
    console.print(f"serving on http://{bind_host}:{bound}/v1 (base model {state.catalog.base_id})")
    # request and response text never reach the logs: only warnings and errors are logged
    serve_forever(state, sock)


@keys_app.command("create")
def keys_create(
    name: Annotated[str, typer.Option("--name", help="Who the key is for, e.g. app1.")],
    models: Annotated[
        str,
        typer.Option(
            help="Comma-separated models it may use; a registry name covers its versions; * all."
        ),
    ],
    rate: Annotated[str | None, typer.Option(help="Rate limit, e.g. 60/min.")] = None,
    role: Annotated[
        list[str] | None,
        typer.Option(help="inference (default), reviewer and/or approver; repeatable."),
    ] = None,
    groups: Annotated[
        list[str] | None,
        typer.Option(
            help="Comma-separated knowledge-base groups it may retrieve, e.g. hr,staff; "
            "repeatable. A key without groups retrieves nothing."
        ),
    ] = None,
    tenant: Annotated[
        str | None,
        typer.Option(
            help="Whose end users' memory it reads and writes (memory:); without: no memory."
        ),
    ] = None,
    workspace: WorkspaceOption = None,
) -> None:
    """Create a key; its secret is printed this once and stored only as a hash."""
    from tunesmith.store import audit
    from tunesmith.store.db import open_store
    from tunesmith.store.keys import ApiKeyError, create_key

    ws = open_workspace(workspace)
    scope = [m.strip() for m in models.split(",") if m.strip()]
    named = [g.strip() for option in groups or [] for g in option.split(",") if g.strip()]
    who = audit.current_actor()
    with stage_errors(ApiKeyError):
        key, secret = create_key(
            open_store(ws.state_url()), name, scope, who, rate, role, named, tenant
        )
    audit.append(audit.audit_path(ws.state_dir), "key.create", name, details=key.to_json())
    console.print(f"key '{name}' for {', '.join(scope)}; its secret (shown only now):")
    console.print(secret, highlight=False, markup=False, soft_wrap=True)


@keys_app.command("list")
def keys_list(workspace: WorkspaceOption = None) -> None:
    """Keys with their scope, roles, groups, rate and state; never their secrets."""
    from tunesmith.store.db import open_store
    from tunesmith.store.keys import list_keys

    ws = open_workspace(workspace)
    table = Table(title="API keys")
    columns = (
        "name",
        "prefix",
        "models",
        "roles",
        "groups",
        "tenant",
        "rate",
        "created",
        "revoked",
    )
    for column in columns:
        table.add_column(column)
    for key in list_keys(open_store(ws.state_url())):
        table.add_row(
            key.name,
            key.prefix + "…",
            ", ".join(key.models),
            ", ".join(key.roles),
            ", ".join(key.groups) or "-",
            key.tenant or "-",
            key.rate or "-",
            key.created_at,
            key.revoked_at or "-",
        )
    console.print(table)


@keys_app.command("revoke")
def keys_revoke(name: str, workspace: WorkspaceOption = None) -> None:
    """Revoke a key: requests with it get 401 from the next one on."""
    from tunesmith.store import audit
    from tunesmith.store.db import open_store
    from tunesmith.store.keys import ApiKeyError, revoke_key

    ws = open_workspace(workspace)
    with stage_errors(ApiKeyError):
        key = revoke_key(open_store(ws.state_url()), name)
    audit.append(audit.audit_path(ws.state_dir), "key.revoke", name)
    console.print(f"key '{name}' revoked at {key.revoked_at}")


@app.command("try-serve")
def try_serve(
    model: Annotated[str, typer.Argument(help="What to ask, e.g. support-router@champion.")],
    requests: Annotated[int, typer.Option(help="Test-split tickets to send.")] = 3,
    workspace: WorkspaceOption = None,
) -> None:
    """Start the server, send test tickets through the official openai client, print, stop."""
    from tunesmith.serve.try_serve import run_trial, short

    ws = open_workspace(workspace)
    status = err_console.status("starting tunesmith serve and sending requests")
    with stage_errors(RuntimeError, OSError, ValueError), status:
        exchanges = run_trial(ws, model, requests)
    console.print(f"tunesmith serve answered {len(exchanges)} requests from the openai client:")
    for ex in exchanges:
        console.print(
            f"[bold]{ex.kind}[/bold] ({ex.seconds:.1f} s, run {ex.served_by})", highlight=False
        )
        console.print(f"  ticket: {short(ex.question)}", highlight=False, markup=False)
        console.print(f"  answer: {short(ex.answer)}", highlight=False, markup=False)
