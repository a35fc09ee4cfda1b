from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from tunesmith.cli import app
from tunesmith.governance import audit
from tunesmith.serve.keys import ApiKeyError, authenticate, create_key, parse_rate
from tunesmith.store.db import open_store
from tunesmith.workspace import Workspace


def test_keys_are_hashed_scoped_listed_and_revoked(workspace: Path) -> None:
    runner = CliRunner()
    made = runner.invoke(
        app,
        [
            "keys",
            "create",
            "--name",
            "app1",
            "--models",
            "support-router, base",
            "--rate",
            "60/min",
            "-w",
            str(workspace),
        ],
    )
    assert made.exit_code == 0, made.output
    secret = made.output.strip().splitlines()[-1]
    assert secret.startswith("ts-")
    store = open_store(Workspace(workspace).state_url())
    key = authenticate(store, secret)
    assert key is not None and key.rate_per_minute == 60
    assert key.allows("support-router@champion") and key.allows("support-router/3")
    assert key.allows("base") and not key.allows("support-routerx") and not key.allows("other")
    db = (workspace / ".tunesmith" / "state.db").read_bytes()
    assert secret.encode() not in db
    listed = runner.invoke(app, ["keys", "list", "-w", str(workspace)])
    assert "app1" in listed.output and secret not in listed.output
    again = runner.invoke(
        app, ["keys", "create", "--name", "app1", "--models", "*", "-w", str(workspace)]
    )
    assert again.exit_code == 1 and "exists" in again.output
    revoked = runner.invoke(app, ["keys", "revoke", "app1", "-w", str(workspace)])
    assert revoked.exit_code == 0 and authenticate(store, secret) is None
    entries = [
        json.loads(line)
        for line in audit.audit_path(workspace / ".tunesmith").read_text().splitlines()
    ]
    assert [e["action"] for e in entries] == ["key.create", "key.revoke"]
    assert secret not in json.dumps(entries)


def test_rates_and_bad_keys_are_refused_clearly(tmp_path: Path) -> None:
    assert parse_rate("60/min") == 60 and parse_rate("2/s") == 120 and parse_rate("90/hour") == 2
    with pytest.raises(ApiKeyError, match="N/s, N/min or N/hour"):
        parse_rate("sixty")
    store = open_store(f"sqlite:///{tmp_path / 'state.db'}")
    with pytest.raises(ApiKeyError, match="unknown role"):
        create_key(store, "a", ["*"], "ci", roles=["admin"])
    with pytest.raises(ApiKeyError, match="at least one model"):
        create_key(store, "a", [], "ci")
    assert authenticate(store, "ts-unknown") is None
