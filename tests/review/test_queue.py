from __future__ import annotations

import json
import threading
from pathlib import Path

import pytest

from tests.store_rows import add_interaction
from tunesmith.config import TaskConfig
from tunesmith.review import queue as review
from tunesmith.review.export import to_records
from tunesmith.store import audit
from tunesmith.store.db import open_store

TASK = TaskConfig(
    type="classification",
    labels=["billing", "technical", "returns"],
    label_field="queue",
    answer_prefix="Queue: ",
)


@pytest.fixture
def store(tmp_path: Path):
    engine = open_store(f"sqlite:///{tmp_path / 'state.db'}")
    for i in range(6):
        add_interaction(
            engine, f"chatcmpl-{i}", f"ticket {i}", "Queue: technical\n\nHi", margin=i / 10
        )
    review.enqueue(
        engine,
        [review.Candidate(f"chatcmpl-{i}", "m", ["low_confidence"], i / 10) for i in range(6)],
    )
    return engine


def test_enqueue_is_idempotent_and_most_doubtful_comes_first(store) -> None:
    again = [review.Candidate("chatcmpl-0", "m", ["drift"], 0.0)]
    assert review.enqueue(store, again) == 0
    item = review.claim_next(store, "ana", 60)
    assert item is not None and item.interaction_id == "chatcmpl-0"
    assert item.messages[1]["content"] == "ticket 0" and item.output.startswith("Queue: ")
    # asking again returns the item ana already holds
    assert review.claim_next(store, "ana", 60).id == item.id


def test_concurrent_reviewers_never_share_an_item(store) -> None:
    got: dict[str, list[int]] = {}

    def work(name: str) -> None:
        ids = []
        while (item := review.claim_next(store, name, 60)) is not None:
            ids.append(item.id)
            review.decide(store, item.id, name, "accept", task=TASK)
        got[name] = ids

    threads = [threading.Thread(target=work, args=(n,)) for n in ("ana", "ben", "cy")]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    everything = [i for ids in got.values() for i in ids]
    assert sorted(everything) == list(range(1, 7))  # each item decided exactly once
    assert review.counts(store)["done"] == 6


def test_decisions_record_who_and_refuse_others(store, tmp_path: Path) -> None:
    log = tmp_path / "audit.jsonl"
    item = review.claim_next(store, "ana", 60)
    with pytest.raises(review.ReviewError, match="held by ana"):
        review.decide(store, item.id, "ben", "accept", task=TASK)
    with pytest.raises(review.ReviewError, match="label one of"):
        review.decide(store, item.id, "ana", "correct", task=TASK, correction="Queue: nope")
    with pytest.raises(review.ReviewError, match="needs the corrected answer"):
        review.decide(store, item.id, "ana", "correct", task=TASK)
    done = review.decide(
        store,
        item.id,
        "ana",
        "correct",
        task=TASK,
        correction="Queue: returns\n\nSorry",
        audit_log=log,
    )
    assert done.decided_by == "ana" and done.decided_at and done.decision == "correct"
    with pytest.raises(review.ReviewError, match="already decided by ana"):
        review.decide(store, item.id, "ana", "accept", task=TASK)
    entry = audit.entries(log)[-1]
    assert (entry.action, entry.actor, entry.details["decision"]) == ("review", "ana", "correct")


def test_expired_claim_frees_the_item(store) -> None:
    from datetime import UTC, datetime, timedelta

    first = review.claim_next(store, "ana", 10)
    later = datetime.now(UTC) + timedelta(seconds=30)
    assert review.claim_next(store, "ben", 10, now=later).id == first.id


def test_reviewed_items_become_records_and_pairs(store) -> None:
    a = review.claim_next(store, "ana", 60)
    review.decide(store, a.id, "ana", "correct", task=TASK, correction="Queue: returns\n\nOK")
    b = review.claim_next(store, "ana", 60)
    review.decide(store, b.id, "ana", "accept", task=TASK)
    c = review.claim_next(store, "ana", 60)
    review.decide(store, c.id, "ana", "reject", task=TASK)
    records, pairs = to_records(review.decided_items(store), TASK)
    assert len(records) == 2 and len(pairs) == 1  # a bare rejection teaches nothing
    by_decision = {r["meta"]["decision"]: r for r in records}
    assert by_decision["correct"]["meta"]["queue"] == "returns"
    assert by_decision["accept"]["meta"]["queue"] == "technical"
    assert by_decision["correct"]["meta"]["interaction_id"] == a.interaction_id
    assert pairs[0]["chosen"][0]["content"].startswith("Queue: returns")
    assert pairs[0]["rejected"][0]["content"].startswith("Queue: technical")
    json.dumps(records)


def test_a_skipped_item_is_not_offered_again_to_the_same_reviewer(store) -> None:
    first = review.claim_next(store, "ana", 60)
    review.release(store, first.id, "ana")
    second = review.claim_next(store, "ana", 60, skip={first.id})
    assert second.id != first.id
    assert review.claim_next(store, "ben", 60).id == first.id  # free for everyone else


def _broken_log(tmp_path: Path) -> Path:
    """An audit log whose last line was edited: every append refuses, as on a damaged disk."""
    log = tmp_path / "audit.jsonl"
    audit.append(log, "review", "interaction/x", actor="ana")
    log.write_text(log.read_text().replace('"ana"', '"eve"'))
    return log


def test_a_decision_whose_audit_entry_fails_is_not_recorded(store, tmp_path: Path) -> None:
    """The entry is written before the decision commits: never a decision without it."""
    item = review.claim_next(store, "ana", 60)
    with pytest.raises(audit.AuditError):
        review.decide(store, item.id, "ana", "accept", task=TASK, audit_log=_broken_log(tmp_path))
    after = review.get_item(store, item.id)
    assert (after.status, after.decision, after.decided_by) == ("open", None, None)
    assert after.claimed_by == "ana"  # still ana's, to decide again once the log is mended
    good = tmp_path / "good.jsonl"
    assert (
        review.decide(store, item.id, "ana", "accept", task=TASK, audit_log=good).status == "done"
    )
    (entry,) = audit.entries(good)
    assert (entry.actor, entry.details["item"], entry.details["decision"]) == (
        "ana",
        item.id,
        "accept",
    )


def test_a_scoped_reviewer_claims_and_counts_only_its_models(tmp_path: Path) -> None:
    engine = open_store(f"sqlite:///{tmp_path / 'state.db'}")
    models = ["support-router@champion", "support-router/2", "other@champion", "support-routerx"]
    for i, model in enumerate(models):
        add_interaction(engine, f"c-{i}", f"ticket {i}", "Queue: billing\n\nHi")
        review.enqueue(engine, [review.Candidate(f"c-{i}", model, ["low_confidence"], i / 10)])
    scope = ["support-router"]
    claimed = []
    while (item := review.claim_next(engine, "rev", 60, models=scope)) is not None:
        claimed.append(item.model)
        review.decide(engine, item.id, "rev", "accept", task=TASK)
    assert claimed == ["support-router@champion", "support-router/2"]
    assert review.counts(engine, scope) == {
        **review.counts(engine, ["nothing"]),
        "done": 2,
        "accept": 2,
    }
    assert review.counts(engine)["open"] == 2  # the other models' items wait for their reviewers
    assert review.claim_next(engine, "all", 60, models=["*"]).model == "other@champion"


def test_the_scope_rule_in_sql_is_the_keys_rule(tmp_path: Path) -> None:
    import sqlalchemy as sa

    from tunesmith.review.lease import in_scope
    from tunesmith.store.db import review_items
    from tunesmith.store.keys import ApiKey

    engine = open_store(f"sqlite:///{tmp_path / 'state.db'}")
    # `_` and `%` are LIKE wildcards: a_b must not cover aXb
    models = ["a", "a/1", "a@champion", "ab", "a_b/1", "aXb/1", "a%/1", "b@x", "ba"]
    review.enqueue(engine, [review.Candidate(f"i{n}", m, ["x"], 0.0) for n, m in enumerate(models)])
    for scope in (["a"], ["a_b"], ["a%"], ["b", "a@champion"], ["*"], []):
        key = ApiKey("k", "ts-", scope, ["reviewer"], None, "", "", None)
        with engine.connect() as conn:
            query = sa.select(review_items.c.model).where(in_scope(review_items, scope))
            got = set(conn.execute(query).scalars())
        assert got == {m for m in models if key.allows(m)}, scope
