"""Pairwise choices through the Typer app: `feedback queue` fills the queue, `review --choices`
works through it in the terminal."""

from __future__ import annotations

import json
from pathlib import Path

from typer.testing import CliRunner

from tunesmith.cli import app
from tunesmith.config.workspace import Workspace
from tunesmith.examples.scaffold import create_workspace
from tunesmith.review import choices
from tunesmith.store import audit
from tunesmith.store.actor import os_login
from tunesmith.store.db import open_store

from .test_choices import pair, write

runner = CliRunner()


def test_feedback_queue_then_review_choices(tmp_path: Path) -> None:
    ws = Workspace(create_workspace(tmp_path / "ws", "support-tickets", rows=20))
    lines = [json.dumps(pair(i)) for i in range(3)] + ['{"prompt": []}']
    write(ws.root / "preferences" / "p1" / "pairs.jsonl", lines)
    w = ["-w", str(ws.root)]

    # a relative path is the workspace's
    first = runner.invoke(
        app, ["feedback", "queue", "preferences/p1/pairs.jsonl", "--limit", "2", *w]
    )
    assert first.exit_code == 0, first.output
    said = " ".join(first.output.split())
    assert "preferences/p1/pairs.jsonl: 2 read, 2 queued, 0 already queued, 0 malformed" in said
    rest = runner.invoke(app, ["feedback", "queue", "preferences/p1/pairs.jsonl", *w])
    assert rest.exit_code == 0, rest.output
    said = " ".join(rest.output.split())
    assert "4 read, 1 queued, 2 already queued, 1 malformed" in said
    assert "line 4: missing or empty 'prompt'" in said
    missing = runner.invoke(app, ["feedback", "queue", "nowhere.jsonl", *w])
    assert missing.exit_code == 1 and "preference file not found" in missing.output

    # pick A on the first (after a key that means nothing), a tie with a note on the second,
    # skip the third: the queue has nothing else for this reviewer. Who decides is the OS
    # user running the command; `--by` is only written beside each decision.
    me = f"user:{os_login()}"
    answers = "x\n1\n\nt\nclose call\ns\n"
    reviewed = runner.invoke(app, ["review", "--choices", "--by", "ana", *w], input=answers)
    assert reviewed.exit_code == 0, reviewed.output
    assert "ticket 0: I was charged twice" in reviewed.output
    assert "answer A" in reviewed.output and "answer B" in reviewed.output
    assert "Refund 0 is on its way." in reviewed.output
    assert f"a recorded for choice 1 by {me}" in reviewed.output
    assert f"tie recorded for choice 2 by {me}" in reviewed.output
    assert "2 decided in this session; 1 open in the choice queue" in reviewed.output
    store = open_store(ws.state_url())
    decided = choices.decided_choices(store)
    assert [(i.choice, i.note, i.decided_by) for i in decided] == [
        ("a", None, me),
        ("tie", "close call", me),
    ]
    entries = [e for e in audit.entries(audit.audit_path(ws.state_dir)) if e.details.get("by")]
    assert [(e.actor, e.details["by"]) for e in entries] == [(me, "ana"), (me, "ana")]
    # with a reviewer key the key decides, within its scope; another key's role is refused
    other = runner.invoke(app, ["keys", "create", "--name", "app", "--models", "*", *w])
    refused = runner.invoke(app, ["review", "--choices", "--key", other.output.split()[-1], *w])
    assert refused.exit_code == 1 and "lacks the 'reviewer' role" in refused.output
    made = runner.invoke(
        app, ["keys", "create", "--name", "eve", "--models", "other", "--role", "reviewer", *w]
    )
    scoped = runner.invoke(app, ["review", "--choices", "--key", made.output.split()[-1], *w])
    assert scoped.exit_code == 0 and "0 decided in this session; 0 open" in scoped.output
    assert choices.counts(store)["claimed"] == 0  # the skipped item went back
    actions = [e.action for e in audit.entries(audit.audit_path(ws.state_dir))]
    assert actions.count("review.queue") == 2 and actions.count("review.choice") == 2
