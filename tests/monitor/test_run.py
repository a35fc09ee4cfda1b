"""`tunesmith monitor`: statistics, drift against the served run's training inputs, the queue."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.store_rows import add_interaction
from tunesmith.config.workspace import Workspace
from tunesmith.data.curate import curate
from tunesmith.data.pii import PiiMasker
from tunesmith.examples.new_product import generate_product_line_tickets
from tunesmith.examples.scaffold import create_workspace
from tunesmith.examples.support_tickets import generate_tickets
from tunesmith.monitor.run import monitor
from tunesmith.review import queue as review
from tunesmith.store.db import open_store, ratings
from tunesmith.train.run import train

from ..serve.server import set_config
from ..train.test_run import TRAIN


@pytest.fixture(scope="module")
def served(tiny_model_dir: Path, tmp_path_factory: pytest.TempPathFactory) -> tuple[Workspace, str]:
    root = create_workspace(tmp_path_factory.mktemp("watch") / "ws", "support-tickets", rows=300)
    set_config(
        root,
        base_model={"name": "tiny", "path": str(tiny_model_dir)},
        train={**TRAIN, "max_steps": 1, "eval_steps": 1, "save_steps": 1},
        monitor={"drift_review_top": 5, "audit_sample_rate": 0.1},
    )
    ws = Workspace(root)
    curate(ws, ws.load_config().data)
    return ws, train(ws, ws.load_config()).run_id


def _window(ws: Workspace, run_id: str, tickets: list, prefix: str) -> None:
    masker = PiiMasker(ws.load_config().data.pii)
    store = open_store(ws.state_url())
    for i, ticket in enumerate(tickets):
        user = f"Subject: {ticket.row['subject']}\n\n{ticket.row['body']}"
        masked, _ = masker.mask({"text": user})
        add_interaction(
            store,
            f"{prefix}-{i}",
            masked["text"],
            f"Queue: {ticket.row['queue']}\n\nHi",
            label=ticket.row["queue"],
            margin=0.05 if i == 0 else 0.9,
            flags=["pii_in_output"] if i == 1 else [],
            run_id=run_id,
        )


def test_quiet_on_the_training_distribution_and_flags_a_new_product(served) -> None:
    ws, run_id = served
    config = ws.load_config()
    usual = [t for t in generate_tickets(160, seed=5) if t.defect is None and t.dup_of is None][:80]
    _window(ws, run_id, usual, "usual")
    quiet = monitor(ws, config, since="1h")
    model = quiet.report["models"][0]
    assert model["model"] == "support-router" and model["statistics"]["volume"] == 80
    assert model["reference_run"] == run_id
    assert not model["input_drift"], model["checks"]
    reasons = model["review_candidates"]
    assert reasons["low_confidence"] == 1 and reasons["pii_in_output"] == 1
    assert "drift" not in reasons
    for name in ("report.json", "report.md", "report.html", "support-router-inputs.png"):
        assert (quiet.path / name).is_file()

    with open_store(ws.state_url()).begin() as conn:  # the reset: a new window
        conn.execute(review.review_items.delete())
        conn.execute(review.interactions.delete())
    shifted = [t for t in generate_tickets(100, seed=6) if t.defect is None and t.dup_of is None][
        :56
    ]
    shifted += generate_product_line_tickets(24, seed=6)
    _window(ws, run_id, shifted, "shifted")
    with open_store(ws.state_url()).begin() as conn:
        conn.execute(
            ratings.insert().values(
                interaction_id="shifted-3", key_name="app", rating="down", created_at="x"
            )
        )
    flagged = monitor(ws, config, since="1h")
    model = flagged.report["models"][0]
    assert model["input_drift"] and model["drifted"]
    assert model["review_candidates"]["drift"] == 5
    assert model["review_candidates"]["thumbs_down"] == 1
    queued = review.counts(open_store(ws.state_url()))["open"]
    assert queued == flagged.enqueued >= 5 + 2
    # the items sent for drift are mostly the new product's
    store = open_store(ws.state_url())
    drift_items = [i for i in _all(store) if "drift" in i.reasons]
    assert sum("Voltway" in i.messages[1]["content"] for i in drift_items) >= 4
    saved = json.loads((flagged.path / "report.json").read_text())
    assert saved["models"][0]["checks"][0]["name"] == "domain_classifier"


def _all(store) -> list[review.ReviewItem]:
    items = []
    while (item := review.claim_next(store, "t", 60)) is not None:
        items.append(item)
        review.decide(store, item.id, "t", "reject", task=_task())
    return items


def _task():
    from tunesmith.config import TaskConfig

    return TaskConfig(type="generation")
