"""The README's memory commands through the Typer app: keys with a tenant, show, forget, expire."""

from __future__ import annotations

from pathlib import Path

import yaml
from typer.testing import CliRunner

from tunesmith.cli import app
from tunesmith.config.memory import FactRule, MemoryConfig
from tunesmith.data.pii import PiiMasker
from tunesmith.examples.scaffold import create_workspace
from tunesmith.memory.manage import count
from tunesmith.memory.records import Scope
from tunesmith.memory.write import MemoryMasker, remember
from tunesmith.models.sentence import load_sentence_model
from tunesmith.store import audit
from tunesmith.store.db import open_store
from tunesmith.store.keys import list_keys

runner = CliRunner()


def test_keys_with_a_tenant_then_show_forget_and_expire(
    tmp_path: Path, tiny_embedder: Path, masker: PiiMasker
) -> None:
    ws = create_workspace(tmp_path / "ws", "support-tickets", rows=40)
    config = yaml.safe_load((ws / "tunesmith.yaml").read_text())
    config["memory"] = {"models": ["*"], "retention_days": 30}
    (ws / "tunesmith.yaml").write_text(yaml.safe_dump(config))
    made = runner.invoke(
        app, ["keys", "create", "--name", "app1", "--models", "*", "--tenant", "acme",
              "--workspace", str(ws)],
    )  # fmt: skip
    assert made.exit_code == 0, made.output
    store = open_store(f"sqlite:///{ws / '.tunesmith' / 'state.db'}")
    assert [k.tenant for k in list_keys(store)] == ["acme"]

    rules = MemoryConfig(facts=[FactRule(slot="city", pattern=r"I live in ([A-Z][a-z]+)")])
    embedder = load_sentence_model(str(tiny_embedder))
    scope = Scope("acme", "u-7")
    remember(store, embedder, MemoryMasker(masker, "placeholder"), rules, scope, "c-1", "m",
             "I live in Leeds.", "Noted.")  # fmt: skip
    shown = runner.invoke(
        app, ["memory", "show", "--user", "u-7", "--tenant", "acme", "--workspace", str(ws)]
    )
    assert shown.exit_code == 0, shown.output
    assert "Leeds" in shown.output and "city" in shown.output

    expired = runner.invoke(app, ["memory", "expire", "--workspace", str(ws)])
    assert expired.exit_code == 0 and "expired 0 turns and 0 facts" in expired.output
    gone = runner.invoke(
        app, ["memory", "forget", "--user", "u-7", "--tenant", "acme", "--workspace", str(ws)]
    )
    assert gone.exit_code == 0 and "1 turns, 1 facts" in gone.output
    assert count(store, scope) == 0
    log = audit.audit_path(ws / ".tunesmith")
    assert [e.action for e in audit.entries(log)][-1] == "memory.forget"
    assert audit.verify(log).ok
