"""Memory in the state store: scoped reads, superseded facts, masking, forget and expiry."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa

from tunesmith.config.memory import FactRule, MemoryConfig
from tunesmith.data.pii import PiiMasker
from tunesmith.memory.facts import structured_facts
from tunesmith.memory.manage import count, expire, forget, show
from tunesmith.memory.recall import memory_block, recall
from tunesmith.memory.records import Scope
from tunesmith.memory.write import MemoryMasker, remember
from tunesmith.models.sentence import load_sentence_model
from tunesmith.store import audit
from tunesmith.store.db import memory_episodes, memory_facts, open_store

RULES = [
    FactRule(slot="city", pattern=r"(?i)\bI (?:live|moved) (?:in|to) ([A-Z][a-z]+)"),
    FactRule(slot="order_id", pattern=r"\b(ORD-\d{6})\b"),
    FactRule(slot="email", pattern=r"\b(\S+@\S+\.\w+)\b"),
]
CONFIG = MemoryConfig(models=["*"], facts=RULES, multi_slots=["order_id"], min_similarity=-1)


@pytest.fixture
def store(tmp_path: Path) -> Any:
    return open_store(f"sqlite:///{tmp_path / 'state.db'}")


@pytest.fixture(scope="module")
def embedder(tiny_embedder: Path) -> Any:
    return load_sentence_model(str(tiny_embedder))


@pytest.fixture(scope="module")
def memory_masker(masker: PiiMasker) -> MemoryMasker:
    return MemoryMasker(masker, "placeholder")


def _say(store: Any, embedder: Any, mm: MemoryMasker, scope: Scope, text: str, i: int) -> Any:
    return remember(store, embedder, mm, CONFIG, scope, f"chatcmpl-{i}", "m", text, "Noted.")


def test_recall_reads_only_its_own_scope(
    store: Any, embedder: Any, memory_masker: MemoryMasker
) -> None:
    mine, same_user_other_tenant, neighbour = (
        Scope("acme", "u1"),
        Scope("globex", "u1"),
        Scope("acme", "u2"),
    )
    _say(store, embedder, memory_masker, mine, "I live in Leeds, order ORD-111111.", 1)
    _say(
        store,
        embedder,
        memory_masker,
        same_user_other_tenant,
        "I live in Leeds, order ORD-222222.",
        2,
    )
    _say(store, embedder, memory_masker, neighbour, "I live in Leeds, order ORD-333333.", 3)
    got = recall(store, embedder, CONFIG, mine, "what is my order number?")
    assert got, "the user's own memories are found"
    with store.connect() as conn:
        owners = {
            (r.tenant, r.end_user)
            for table, prefix in ((memory_facts, "f"), (memory_episodes, "e"))
            for r in conn.execute(
                sa.select(table).where(
                    table.c.id.in_([int(m.id[1:]) for m in got if m.id[0] == prefix])
                )
            )
        }
    assert owners == {("acme", "u1")}
    texts = " ".join(m.text for m in got)
    assert "ORD-111111" in texts
    assert "ORD-222222" not in texts and "ORD-333333" not in texts


def test_newer_value_supersedes_and_history_is_kept(
    store: Any, embedder: Any, memory_masker: MemoryMasker
) -> None:
    scope = Scope("acme", "u1")
    _say(store, embedder, memory_masker, scope, "I live in Leeds.", 1)
    written = _say(store, embedder, memory_masker, scope, "I moved to Manchester last month.", 2)
    assert written.superseded, "the Leeds fact was superseded"
    facts = [
        m.text
        for m in recall(store, embedder, CONFIG, scope, "where do I live?")
        if m.kind == "fact"
    ]
    assert facts == ["city: Manchester"]
    history = show(store, scope, history=True)["facts"]
    leeds = next(f for f in history if f["value"] == "Leeds")
    assert leeds["superseded_at"] is not None and leeds["superseded_by"] == written.facts[0]
    assert [f["value"] for f in show(store, scope)["facts"]] == ["Manchester"]


def test_multi_valued_slots_accumulate(
    store: Any, embedder: Any, memory_masker: MemoryMasker
) -> None:
    scope = Scope("acme", "u1")
    _say(store, embedder, memory_masker, scope, "About ORD-111111.", 1)
    _say(store, embedder, memory_masker, scope, "And ORD-222222 too.", 2)
    _say(store, embedder, memory_masker, scope, "Again ORD-111111.", 3)  # known: not stored twice
    values = sorted(f["value"] for f in show(store, scope)["facts"])
    assert values == ["ORD-111111", "ORD-222222"]


def test_personal_data_never_enters_memory_in_placeholder_mode(
    store: Any, embedder: Any, memory_masker: MemoryMasker
) -> None:
    scope = Scope("acme", "u1")
    written = _say(
        store,
        embedder,
        memory_masker,
        scope,
        "I'm Jane Porter, mail me at jane.porter@example.com",
        1,
    )
    assert written.dropped_masked == 1  # the email rule matched a value the masker masks
    with store.connect() as conn:
        stored = json.dumps([list(r) for r in conn.execute(sa.select(memory_episodes.c.text))])
        stored += json.dumps([list(r) for r in conn.execute(sa.select(memory_facts.c.value))])
    assert "jane.porter@example.com" not in stored and "Jane Porter" not in stored
    assert "jane.porter" not in stored


def test_forget_removes_everything_of_the_user_only(
    store: Any, embedder: Any, memory_masker: MemoryMasker, tmp_path: Path
) -> None:
    scope, other = Scope("acme", "u1"), Scope("acme", "u2")
    _say(store, embedder, memory_masker, scope, "I live in Leeds, order ORD-111111.", 1)
    _say(store, embedder, memory_masker, scope, "I moved to Manchester.", 2)
    _say(store, embedder, memory_masker, other, "I live in Cardiff.", 3)
    log = tmp_path / "audit.jsonl"
    counts = forget(store, log, scope, actor="user:test")
    assert counts == {"episodes": 2, "facts": 3}  # Leeds (superseded), Manchester, the order id
    assert count(store, scope) == 0
    assert recall(store, embedder, CONFIG, scope, "where do I live?") == []
    assert count(store, other) == 2
    (entry,) = audit.entries(log)
    assert entry.action == "memory.forget" and "u1" not in entry.subject
    assert audit.verify(log).ok


def test_expire_deletes_what_is_older_than_retention(
    store: Any, embedder: Any, memory_masker: MemoryMasker, tmp_path: Path
) -> None:
    scope = Scope("acme", "u1")
    _say(store, embedder, memory_masker, scope, "I live in Leeds.", 1)
    log = tmp_path / "audit.jsonl"
    assert expire(store, log, 30) == {"episodes": 0, "facts": 0}
    assert not log.exists()  # nothing expired, nothing logged
    later = datetime.now(UTC) + timedelta(days=31)
    assert expire(store, log, 30, now=later) == {"episodes": 1, "facts": 1}
    assert count(store, scope) == 0
    assert [e.action for e in audit.entries(log)] == ["memory.expire"]


def test_block_keeps_within_the_token_budget(
    store: Any, embedder: Any, memory_masker: MemoryMasker
) -> None:
    scope = Scope("acme", "u1")
    for i in range(5):
        _say(
            store,
            embedder,
            memory_masker,
            scope,
            f"Order ORD-00000{i} is late, please check it.",
            i,
        )
    found = recall(store, embedder, CONFIG, scope, "my orders")
    words = lambda text: len(text.split())  # noqa: E731
    block, used = memory_block(found, words, 10_000)
    assert len(used) == len(found) and "[M1]" in block
    small, few = memory_block(found, words, 40)
    assert 0 < len(few) < len(found) and words(small) <= 40
    assert memory_block(found, words, 5) == ("", [])


def test_structured_answers_and_calls_become_facts() -> None:
    calls = [{"function": {"name": "update_address", "arguments": '{"city": "Leeds", "n": 2}'}}]
    found = structured_facts('{"product": "webcam", "urgent": true, "items": [1]}', calls)
    assert {(f.slot, f.value, f.method) for f in found} == {
        ("product", "webcam", "answer_json"),
        ("urgent", "true", "answer_json"),
        ("update_address.city", "Leeds", "tool:update_address"),
        ("update_address.n", "2", "tool:update_address"),
    }


def test_a_store_before_memory_gains_its_tables_and_columns(tmp_path: Path) -> None:
    from alembic import command

    from tunesmith.store import migrate
    from tunesmith.store.db import reading

    url = f"sqlite:///{tmp_path / 'state.db'}"
    engine = open_store(url)
    with engine.begin() as conn:
        command.downgrade(migrate.alembic_config(conn), "0006")
    with reading(engine) as conn:
        assert "memory_facts" not in sa.inspect(conn).get_table_names()
    open_store(url)
    with reading(engine) as conn:
        inspector = sa.inspect(conn)
        assert migrate.current(conn) == migrate.head() == "0007"
        assert {"memory_episodes", "memory_facts"} <= set(inspector.get_table_names())
        assert "tenant" in {c["name"] for c in inspector.get_columns("api_keys")}
        assert "memory" in {c["name"] for c in inspector.get_columns("interactions")}
