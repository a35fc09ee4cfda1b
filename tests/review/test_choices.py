"""Pairwise choices: queued blind from a preference file, claimed with a lease, decided once,
exported as preference pairs that `align --with-review` reads."""

from __future__ import annotations

import json
import threading
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy.engine import Engine

from tests.store_rows import add_interaction
from tunesmith.config import TaskConfig
from tunesmith.config.workspace import Workspace
from tunesmith.preference.pairs import read_pairs
from tunesmith.review import choices
from tunesmith.review import queue as review
from tunesmith.review.export import PREFERENCES_FILE, export_feedback
from tunesmith.store import audit
from tunesmith.store.db import open_store

SYSTEM = "Route the ticket to its queue, then reply."
TASK = TaskConfig(
    type="classification",
    labels=["billing", "technical", "returns"],
    label_field="queue",
    answer_prefix="Queue: ",
)


def pair(i: int, source: str = "ai-feedback") -> dict[str, Any]:
    return {
        "prompt": [
            {"role": "system", "content": SYSTEM},
            {"role": "user", "content": f"ticket {i}: I was charged twice"},
        ],
        "chosen": [
            {"role": "assistant", "content": f"Queue: billing\n\nRefund {i} is on its way."}
        ],
        "rejected": [{"role": "assistant", "content": f"Queue: billing\n\nHello! {i} " * 3}],
        "meta": {"source": source, "model": "support-router@champion", "run_id": "run-a"},
    }


def write(path: Path, lines: list[str]) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("".join(line + "\n" for line in lines), encoding="utf-8")
    return path


@pytest.fixture
def ws(tmp_path: Path) -> Workspace:
    return Workspace(tmp_path / "ws")


@pytest.fixture
def store(ws: Workspace) -> Engine:
    return open_store(ws.state_url())


def queue(ws: Workspace, store: Engine, n: int, seed: int = 0) -> choices.Enqueued:
    path = write(
        ws.root / "preferences" / "p1" / "pairs.jsonl", [json.dumps(pair(i)) for i in range(n)]
    )
    return choices.enqueue_pairs(store, path, "preferences/p1/pairs.jsonl", seed=seed)


def test_enqueue_counts_reconcile_and_a_pair_is_queued_once(ws: Workspace, store: Engine) -> None:
    swapped = {**pair(0), "chosen": pair(0)["rejected"], "rejected": pair(0)["chosen"]}
    assistant_last = {**pair(9), "prompt": [*pair(9)["prompt"], pair(9)["chosen"][0]]}
    two_messages = {**pair(8), "chosen": pair(8)["chosen"] * 2}
    lines = [
        json.dumps(pair(0)),
        json.dumps(pair(1)),
        "{not json",
        "",  # blank lines are not records
        json.dumps(assistant_last),
        json.dumps(swapped),  # the same two answers: the same pair
        json.dumps(two_messages),
        json.dumps(pair(2)),
    ]
    path = write(ws.root / "preferences" / "p1" / "pairs.jsonl", lines)
    log = ws.state_dir / "audit.jsonl"
    got = choices.enqueue_pairs(store, path, "preferences/p1/pairs.jsonl", audit_log=log)
    c = got.counts
    assert c == {"read": 7, "queued": 3, "already_queued": 1, "malformed": 3}
    assert c["read"] == c["queued"] + c["already_queued"] + c["malformed"]
    assert [line for line, _ in got.problems] == [3, 5, 7]
    assert "bad JSON" in got.problems[0][1] and "user" in got.problems[1][1]
    entry = audit.entries(log)[-1]
    assert entry.action == "review.queue" and entry.details["queued"] == 3

    again = choices.enqueue_pairs(store, path, "preferences/p1/pairs.jsonl", audit_log=log)
    assert again.counts == {"read": 7, "queued": 0, "already_queued": 4, "malformed": 3}
    assert len(audit.entries(log)) == 1  # nothing queued, nothing to record
    assert choices.counts(store)["open"] == 3

    item = choices.claim_next(store, "ana", 60)
    assert item is not None and item.source == "preferences/p1/pairs.jsonl:1"
    assert (item.model, item.run_id) == ("support-router@champion", "run-a")
    assert item.prompt[-1] == {"role": "user", "content": "ticket 0: I was charged twice"}


def test_limit_stops_reading_once_enough_are_queued(ws: Workspace, store: Engine) -> None:
    path = write(ws.root / "pairs.jsonl", ["{bad", *(json.dumps(pair(i)) for i in range(5))])
    got = choices.enqueue_pairs(store, path, "pairs.jsonl", limit=2)
    assert got.counts == {"read": 3, "queued": 2, "already_queued": 0, "malformed": 1}
    rest = choices.enqueue_pairs(store, path, "pairs.jsonl")
    assert rest.counts == {"read": 6, "queued": 3, "already_queued": 2, "malformed": 1}


def test_sides_are_blind_and_seeded(ws: Workspace, store: Engine, tmp_path: Path) -> None:
    assert queue(ws, store, 200).counts["queued"] == 200
    first = {i.pair_key: i for i in _all(store)}
    on_a = sum(i.ai_pick == "a" for i in first.values())
    assert 70 <= on_a <= 130  # about half the AI-chosen answers on each side
    for item in first.values():
        shown = item.answer_a if item.ai_pick == "a" else item.answer_b
        assert shown.startswith("Queue: billing\n\nRefund")  # ai_pick names the AI's answer

    same = open_store(f"sqlite:///{tmp_path / 'same.db'}")
    queue(ws, same, 200)
    assert {i.pair_key: i.ai_pick for i in _all(same)} == {k: i.ai_pick for k, i in first.items()}
    other = open_store(f"sqlite:///{tmp_path / 'other.db'}")
    queue(ws, other, 200, seed=1)
    assert {i.pair_key: i.ai_pick for i in _all(other)} != {k: i.ai_pick for k, i in first.items()}

    # a pair a person made has no AI pick; no reviewer view carries the field at all
    human = write(ws.root / "human.jsonl", [json.dumps(pair(500, source="review"))])
    choices.enqueue_pairs(store, human, "human.jsonl")
    (made,) = [i for i in _all(store) if i.source == "human.jsonl:1"]
    assert made.ai_pick is None
    assert "ai_pick" not in made.to_json() and "ai_pick" not in next(iter(first.values())).to_json()


def _all(store: Engine) -> list[choices.ChoiceItem]:
    import sqlalchemy as sa

    from tunesmith.store.db import choice_items

    with store.connect() as conn:
        return [choices.ChoiceItem(**r._mapping) for r in conn.execute(sa.select(choice_items))]


def test_concurrent_reviewers_never_share_an_item(ws: Workspace, store: Engine) -> None:
    queue(ws, store, 6)
    got: dict[str, list[int]] = {}

    def work(name: str) -> None:
        ids = []
        while (item := choices.claim_next(store, name, 60)) is not None:
            ids.append(item.id)
            choices.decide(store, item.id, name, "a")
        got[name] = ids

    threads = [threading.Thread(target=work, args=(n,)) for n in ("ana", "ben", "cy")]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(i for ids in got.values() for i in ids) == list(range(1, 7))
    assert choices.counts(store) == {"open": 0, "claimed": 0, "done": 6, "a": 6, "b": 0, "tie": 0}


def test_claims_lease_and_skip(ws: Workspace, store: Engine) -> None:
    queue(ws, store, 3)
    first = choices.claim_next(store, "ana", 10)
    second = choices.claim_next(store, "ben", 10)
    assert first is not None and second is not None and first.id != second.id
    assert choices.claim_next(store, "ana", 10).id == first.id  # asking again: the same item
    assert choices.counts(store)["claimed"] == 2
    later = datetime.now(UTC) + timedelta(seconds=30)
    assert choices.claim_next(store, "cy", 10, now=later).id == first.id  # ana's lease ran out
    choices.release(store, second.id, "ben")
    third = choices.claim_next(store, "ben", 10, skip={second.id})
    assert third is not None and third.id not in (first.id, second.id)


def test_a_choice_is_made_once_by_its_holder(ws: Workspace, store: Engine) -> None:
    queue(ws, store, 2)
    log = ws.state_dir / "audit.jsonl"
    item = choices.claim_next(store, "ana", 60)
    with pytest.raises(choices.ChoiceError, match="held by ana"):
        choices.decide(store, item.id, "ben", "b")
    with pytest.raises(choices.ChoiceError, match="one of"):
        choices.decide(store, item.id, "ana", "both")
    done = choices.decide(store, item.id, "ana", "tie", "  both fine  ", audit_log=log)
    assert (done.status, done.choice, done.note, done.decided_by) == (
        "done",
        "tie",
        "both fine",
        "ana",
    )
    assert done.decided_at and done.claimed_by is None
    with pytest.raises(choices.ChoiceError, match="already decided by ana"):
        choices.decide(store, item.id, "ana", "a")
    with pytest.raises(choices.ChoiceError, match="does not exist"):
        choices.decide(store, 999, "ana", "a")
    entry = audit.entries(log)[-1]
    assert (entry.action, entry.actor, entry.subject) == (
        "review.choice",
        "ana",
        f"choice/{item.id}",
    )
    assert entry.details["choice"] == "tie"


def test_export_turns_choices_into_pairs_align_reads(ws: Workspace, store: Engine) -> None:
    # one corrected review item first: its pair and `through` are as before
    add_interaction(store, "chatcmpl-1", "ticket x", "Queue: technical\n\nHi", margin=0.1)
    review.enqueue(store, [review.Candidate("chatcmpl-1", "m", ["low_confidence"], 0.1)])
    held = review.claim_next(store, "ana", 60)
    review.decide(store, held.id, "ana", "correct", task=TASK, correction="Queue: returns\n\nOK")

    queue(ws, store, 4)
    picks: dict[int, str] = {}
    for how in ("agree", "disagree", "tie"):
        item = choices.claim_next(store, "ben", 60)
        other = "b" if item.ai_pick == "a" else "a"
        picks[item.id] = {"agree": item.ai_pick, "disagree": other, "tie": "tie"}[how]
        choices.decide(store, item.id, "ben", picks[item.id])

    exported = export_feedback(ws, TASK)
    c = exported.counts
    assert (c["pairs"], c["choices"], c["choice_pairs"], c["choice_ties"]) == (1, 3, 2, 1)
    assert exported.through == held.id
    rows = [json.loads(line) for line in (ws.root / PREFERENCES_FILE).read_text().splitlines()]
    assert len(rows) == 3 and rows[0]["meta"]["source"] == "review"
    made = {r["meta"]["row"]: r for r in rows[1:]}
    decided = {i.id: i for i in choices.decided_choices(store)}
    for row_id, row in made.items():
        item = decided[row_id]
        picked = item.answer_a if picks[row_id] == "a" else item.answer_b
        other = item.answer_b if picks[row_id] == "a" else item.answer_a
        assert row["chosen"] == [{"role": "assistant", "content": picked}]
        assert row["rejected"] == [{"role": "assistant", "content": other}]
        assert row["prompt"] == item.prompt
        meta = row["meta"]
        assert meta["id"] == f"choice-{row_id}" and meta["source"] == "review-choice"
        assert (meta["reviewed_by"], meta["reviewed_at"]) == ("ben", item.decided_at)
        assert meta["origin"] == item.source
        assert meta["ai_pick_agreed"] is (picks[row_id] == item.ai_pick)
    assert sorted(m["meta"]["ai_pick_agreed"] for m in made.values()) == [False, True]

    # align --with-review reads the file: every line kept, nothing quarantined
    read = read_pairs([ws.root / PREFERENCES_FILE], ws.root)
    assert read.counts == {"read": 3, "kept": 3, "quarantined": 0}
    assert {p["meta"]["pair_source"] for p in read.kept} == {PREFERENCES_FILE}


def test_a_choice_whose_audit_entry_fails_is_not_recorded(
    ws: Workspace, store: Engine, tmp_path: Path
) -> None:
    """The entry is written before the choice commits: never a choice without it."""
    from .test_queue import _broken_log

    queue(ws, store, 1)
    item = choices.claim_next(store, "ana", 60)
    with pytest.raises(audit.AuditError):
        choices.decide(store, item.id, "ana", "a", audit_log=_broken_log(tmp_path))
    after = choices.get_choice(store, item.id)
    assert (after.status, after.choice, after.decided_by, after.claimed_by) == (
        "open",
        None,
        None,
        "ana",
    )
    good = tmp_path / "good.jsonl"
    assert choices.decide(store, item.id, "ana", "b", audit_log=good, by="Ana B.").choice == "b"
    (entry,) = audit.entries(good)
    assert (entry.action, entry.actor, entry.details["choice"], entry.details["by"]) == (
        "review.choice",
        "ana",
        "b",
        "Ana B.",
    )


def test_a_scoped_reviewer_sees_only_its_models_pairs(ws: Workspace, store: Engine) -> None:
    lines = []
    for i, model in enumerate(["support-router@champion", "other@champion", None]):
        record = pair(i)
        record["meta"]["model"] = model
        lines.append(json.dumps(record))
    choices.enqueue_pairs(store, write(ws.root / "mixed.jsonl", lines), "mixed.jsonl")
    scope = ["support-router"]
    item = choices.claim_next(store, "rev", 60, models=scope)
    assert item is not None and item.model == "support-router@champion"
    choices.decide(store, item.id, "rev", "a")
    assert choices.claim_next(store, "rev", 60, models=scope) is None
    assert choices.counts(store, scope)["done"] == 1 and choices.counts(store)["open"] == 2
    # a pair that names no model is for a reviewer of every model only
    assert choices.claim_next(store, "rev", 60, models=["other"]).model == "other@champion"
    assert choices.claim_next(store, "all", 60, models=["*"]).model is None
