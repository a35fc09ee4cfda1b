"""The audit sample: answers drawn at random (seeded) from served traffic, whatever flags them,
kept out of training and used as the loop's independent comparison."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import sqlalchemy as sa

from tests.store_rows import add_interaction
from tunesmith.config.workspace import Workspace
from tunesmith.examples.scaffold import create_workspace
from tunesmith.loop.steps import _verdict
from tunesmith.monitor.run import monitor
from tunesmith.review import queue as review
from tunesmith.review.export import AUDIT_FILE, PREFERENCES_FILE, REVIEWED_FILE, export_feedback
from tunesmith.store.db import open_store, review_items

from ..serve.server import set_config

N = 300


def _served(root: Path, seed: int) -> Workspace:
    """Half the answers doubtful (margin 0.05), half confident (0.9); one monitor pass."""
    root = create_workspace(root, "support-tickets", rows=20)
    set_config(root, monitor={"audit_sample_rate": 0.3, "audit_seed": seed, "min_window": 5})
    ws = Workspace(root)
    store = open_store(ws.state_url())
    for i in range(N):
        add_interaction(
            store,
            f"chatcmpl-{i}",
            f"Subject: order {i}\n\nWhere is my parcel {i}?",
            "Queue: shipping\n\nOn its way.",
            label="shipping",
            margin=0.05 if i % 2 else 0.9,
            run_id=None,
        )
    monitor(ws, ws.load_config(), since="1h")
    return ws


def _queue(ws: Workspace) -> list[review.ReviewItem]:
    """The open queue in the order reviewers are given it."""
    store, items = open_store(ws.state_url()), []
    while (item := review.claim_next(store, "ana", 60, skip=[i.id for i in items])) is not None:
        review.release(store, item.id, "ana")
        items.append(item)
    return items


def _audited(ws: Workspace) -> set[str]:
    with open_store(ws.state_url()).connect() as conn:
        rows = conn.execute(sa.select(review_items.c.interaction_id, review_items.c.reasons))
        return {r.interaction_id for r in rows if review.AUDIT in r.reasons}


@pytest.fixture(scope="module")
def drawn(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Workspace]:
    base = tmp_path_factory.mktemp("audit")
    return {name: _served(base / name, seed) for name, seed in (("a", 7), ("b", 7), ("c", 8))}


def test_the_audit_sample_is_drawn_at_random_not_by_doubt(drawn: dict[str, Workspace]) -> None:
    queue = _queue(drawn["a"])
    audit = [i for i in queue if review.AUDIT in i.reasons]
    doubtful = [i for i in audit if i.label_margin == 0.05]
    confident = [i for i in audit if i.label_margin == 0.9]
    # about 30% of each half, confident answers included (no doubt sent them to review)
    assert 0.2 * N / 2 < len(confident) < 0.4 * N / 2
    assert 0.2 * N / 2 < len(doubtful) < 0.4 * N / 2
    assert all(i.reasons == [review.AUDIT] for i in confident)
    assert all(i.reasons == ["low_confidence", review.AUDIT] for i in doubtful)
    # the whole sample comes first, all alike, so a queue worked only in part still leaves a
    # random sample; the doubtful rest after it
    assert queue[: len(audit)] == audit
    assert all(i.label_margin == 0.05 for i in queue[len(audit) :])


def test_the_audit_sample_is_reproducible_by_its_seed(drawn: dict[str, Workspace]) -> None:
    a, b, c = (_audited(drawn[name]) for name in "abc")
    assert a == b  # same seed, same traffic: the same answers
    assert a != c and 0.2 < len(a & c) / len(a) < 0.5  # another seed: an independent draw


def test_audit_answers_are_held_out_of_training(drawn: dict[str, Workspace]) -> None:
    ws = drawn["c"]
    store, task = open_store(ws.state_url()), ws.load_config().task
    audited: set[str] = set()
    while (item := review.claim_next(store, "ben", 60)) is not None:
        wrong = item.label_margin == 0.05
        review.decide(
            store,
            item.id,
            "ben",
            "correct" if wrong else "accept",
            task=task,
            correction="Queue: returns\n\nWe take it back." if wrong else None,
        )
        if review.AUDIT in item.reasons:
            audited.add(item.interaction_id)
    exported = export_feedback(ws, task)
    assert exported.counts["audit_records"] == exported.counts["audit_decided"] == len(audited)

    def ids(name: str) -> set[str]:
        lines = (ws.root / name).read_text().splitlines()
        return {json.loads(line)["meta"]["interaction_id"] for line in lines}

    assert ids(AUDIT_FILE) == audited
    assert not ids(REVIEWED_FILE) & audited and not ids(PREFERENCES_FILE) & audited
    assert len(ids(REVIEWED_FILE)) == N // 2 - sum(int(i.split("-")[1]) % 2 for i in audited)


def _compared(feedback: tuple[float, float], audit: tuple[float, float] | None) -> dict:
    out = {"metric": "accuracy", "feedback_rows": 20, "audit_rows": 0}
    out["feedback_challenger"], out["feedback_champion"] = feedback
    if audit is not None:
        out["audit_rows"] = 40
        out["audit_challenger"], out["audit_champion"] = audit
    return out


def test_a_challenger_that_trails_on_the_audit_sample_loses(tmp_path: Path) -> None:
    root = create_workspace(tmp_path / "ws", "support-tickets", rows=20)
    config = Workspace(root).load_config()
    # wins the biased feedback split, loses the independent audit sample
    wins, why = _verdict(config, _compared((0.95, 0.05), (0.70, 0.80)))
    assert not wins and why.startswith("audit-sample accuracy 0.700 (40 random answers) trails")
    assert _verdict(config, _compared((0.95, 0.05), (0.80, 0.80)))[0]  # a tie may go through
    assert _verdict(config, _compared((0.95, 0.05), None))[0]  # no audit reviewed yet
    lenient = config.model_copy(deep=True)
    lenient.monitor.retrain.max_audit_loss = 0.15
    assert _verdict(lenient, _compared((0.95, 0.05), (0.70, 0.80)))[0]
    off = config.model_copy(deep=True)
    off.monitor.retrain.max_audit_loss = None
    assert _verdict(off, _compared((0.95, 0.05), (0.0, 1.0)))[0]
