from __future__ import annotations

import json
import time
from pathlib import Path

import pytest
from typer.testing import CliRunner

from tunesmith.cli import app
from tunesmith.config.workspace import Workspace
from tunesmith.serve.deps import RateLimiter
from tunesmith.store import audit
from tunesmith.store.db import api_keys, open_store
from tunesmith.store.keys import ApiKeyError, authenticate, create_key, list_keys, parse_rate


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
    assert key is not None and key.rate == "60/minute"
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
    # the window is kept as given: 90/hour is not rounded up to 2 a minute
    assert parse_rate("60/min") == "60/minute" and parse_rate("2/s") == "2/second"
    assert parse_rate("90/hour") == "90/hour" and parse_rate("1 / h") == "1/hour"
    with pytest.raises(ApiKeyError, match="N/s, N/min or N/hour"):
        parse_rate("sixty")
    store = open_store(f"sqlite:///{tmp_path / 'state.db'}")
    with pytest.raises(ApiKeyError, match="unknown role"):
        create_key(store, "a", ["*"], "ci", roles=["admin"])
    with pytest.raises(ApiKeyError, match="at least one model"):
        create_key(store, "a", [], "ci")
    assert authenticate(store, "ts-unknown") is None


def test_a_rate_allows_exactly_its_number_in_its_window() -> None:
    limiter = RateLimiter()
    # 2/second is two at once, not the 120 a per-minute bucket let through in a burst
    allowed = [limiter.take("fast", "2/second") is None for _ in range(10)]
    assert allowed == [True, True] + [False] * 8
    # 1/hour is one in the hour, not the 60 of a rate rounded up to one a minute
    assert limiter.take("slow", "1/hour") is None
    waits = [limiter.take("slow", "1/hour") for _ in range(60)]
    assert all(w is not None and 3500 < w <= 3600 for w in waits)
    assert sum(limiter.take("app", "60/minute") is None for _ in range(100)) == 60
    time.sleep(1.05)  # a second later the 2/second window has moved past both requests
    assert [limiter.take("fast", "2/second") is None for _ in range(3)] == [True, True, False]
    assert limiter.take("slow", "1/hour") is not None


def test_a_key_stored_with_a_per_minute_rate_reads_as_one(tmp_path: Path) -> None:
    store = open_store(f"sqlite:///{tmp_path / 'state.db'}")
    key, secret = create_key(store, "old", ["*"], "ci", rate="1/hour")
    assert key.rate == "1/hour" and authenticate(store, secret).rate == "1/hour"  # type: ignore[union-attr]
    with store.begin() as conn:  # as a release before exact windows wrote it
        conn.execute(api_keys.update().values(rate=None, rate_per_minute=30))
    assert authenticate(store, secret).rate == "30/minute"  # type: ignore[union-attr]


def test_groups_are_checked_kept_in_order_and_read_back(tmp_path: Path) -> None:
    store = open_store(f"sqlite:///{tmp_path / 'state.db'}")
    key, secret = create_key(store, "hr-app", ["*"], "ci", groups=["hr", "staff", "hr", "a_1-b"])
    assert key.groups == ["hr", "staff", "a_1-b"] and key.to_json()["groups"] == key.groups
    found = authenticate(store, secret)
    assert found is not None and found.groups == ["hr", "staff", "a_1-b"]
    _, plain = create_key(store, "plain", ["*"], "ci")
    assert authenticate(store, plain).groups == []  # type: ignore[union-attr]
    for bad in ("HR", "h r", "", "x" * 65, "hr/staff"):
        with pytest.raises(ApiKeyError, match="group name") as refused:
            create_key(store, "bad", ["*"], "ci", groups=["staff", bad])
        assert repr(bad) in str(refused.value) and "'staff'" not in str(refused.value)
    assert create_key(store, "long", ["*"], "ci", groups=["x" * 64])[0].groups == ["x" * 64]
    assert [k.name for k in list_keys(store)] == ["hr-app", "plain", "long"]


def test_a_key_stored_before_groups_has_none(tmp_path: Path) -> None:
    store = open_store(f"sqlite:///{tmp_path / 'state.db'}")
    _, secret = create_key(store, "old", ["*"], "ci", groups=["hr"])
    with store.begin() as conn:  # as a release before groups wrote it
        conn.execute(api_keys.update().values(groups=None))
    assert authenticate(store, secret).groups == []  # type: ignore[union-attr]
    assert list_keys(store)[0].groups == []


def test_the_cli_stores_and_lists_groups(workspace: Path) -> None:
    runner = CliRunner()
    base = ["keys", "create", "--models", "*", "-w", str(workspace)]
    made = runner.invoke(app, [*base, "--name", "hr1", "--groups", "hr, staff", "--groups", "ops"])
    assert made.exit_code == 0, made.output
    key = authenticate(open_store(Workspace(workspace).state_url()), made.output.split()[-1])
    assert key is not None and key.groups == ["hr", "staff", "ops"]
    bare = runner.invoke(app, [*base, "--name", "bare"])
    assert bare.exit_code == 0, bare.output
    refused = runner.invoke(app, [*base, "--name", "bad", "--groups", "hr,Staff"])
    assert refused.exit_code == 1 and "Staff" in refused.output
    listed = runner.invoke(app, ["keys", "list", "-w", str(workspace)], env={"COLUMNS": "200"})
    assert listed.exit_code == 0, listed.output
    rows = {line.split("│")[1].strip(): line for line in listed.output.splitlines() if "│" in line}
    assert "hr, staff, ops" in rows["hr1"] and "groups" in listed.output
    assert "bad" not in rows
    entries = audit.audit_path(workspace / ".tunesmith").read_text().splitlines()
    assert json.loads(entries[0])["details"]["groups"] == ["hr", "staff", "ops"]
