"""The README's monitor commands through the Typer app: monitor, review, curate
--with-feedback, loop --once."""

from __future__ import annotations

from pathlib import Path

from typer.testing import CliRunner

from tests.loop.test_run import _champion_workspace
from tests.store_rows import add_interaction
from tunesmith.cli import app
from tunesmith.examples.new_product import generate_product_line_tickets
from tunesmith.registry import resolve
from tunesmith.review import queue as review
from tunesmith.store.actor import os_login
from tunesmith.store.db import open_store

runner = CliRunner()


def test_monitor_review_curate_and_loop_as_in_the_readme(
    tiny_model_dir: Path, tmp_path: Path
) -> None:
    ws = _champion_workspace(tmp_path / "ws", tiny_model_dir)
    run_id = resolve(ws, "support-router@champion").run_id
    store = open_store(ws.state_url())
    for i, ticket in enumerate(generate_product_line_tickets(6, seed=1)):
        user = f"Subject: {ticket.row['subject']}\n\n{ticket.row['body']}"
        add_interaction(
            store, f"chatcmpl-{i}", user, "Queue: technical\n\nHi", label="technical", margin=0.01,
            run_id=run_id,
        )  # fmt: skip
    w = ["-w", str(ws.root)]

    watched = runner.invoke(app, ["monitor", "--since", "1h", *w])
    assert watched.exit_code == 0, watched.output
    assert "6 added" in watched.output and "report.html" in watched.output
    assert "not judged" in watched.output  # 6 interactions: too few to judge drift

    # correct the first (label 5 = returns, keep the reply), skip the second, accept the third
    answers = "c\n5\n\ns\na\nq\n"
    reviewed = runner.invoke(app, ["review", "--by", "ana", *w], input=answers)
    assert reviewed.exit_code == 0, reviewed.output
    assert "correct recorded" in reviewed.output and "accept recorded" in reviewed.output
    decided = review.decided_items(store)
    me = f"user:{os_login()}"  # who ran the command decides; --by is only written beside it
    assert {(i.decision, i.decided_by) for i in decided} == {("correct", me), ("accept", me)}
    corrected = next(i for i in decided if i.decision == "correct")
    assert corrected.correction.startswith("Queue: returns")

    curated = runner.invoke(app, ["curate", "--with-feedback", *w])
    assert curated.exit_code == 0, curated.output
    # answers of the random audit sample are held out of training (feedback/audit.jsonl)
    audited = sum("audit_sample" in i.reasons for i in decided)
    assert f"reviewed records: {2 - audited}" in curated.output
    assert "support-tickets v2" in curated.output

    looped = runner.invoke(app, ["loop", "--once", *w])
    assert looped.exit_code == 0, looped.output
    assert "trigger corrections: quiet" in looped.output and "nothing to do" in looped.output
