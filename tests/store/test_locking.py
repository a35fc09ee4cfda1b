"""Reads of the state store take no write lock: a capture's commit and a monitor or review read
proceed together (SQLite WAL), where a read that began IMMEDIATE waited for the writer."""

from __future__ import annotations

import threading
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy.engine import Engine

from tests.store_rows import add_interaction
from tunesmith.monitor.window import load_window, thumbs_down
from tunesmith.review import choices
from tunesmith.review import queue as review
from tunesmith.serve.capture import Interaction, Recorder
from tunesmith.store.db import interactions, open_store, reading


def _within(seconds: float, work: Callable[[], Any]) -> Any:
    """Run `work` in a thread; fail if it has not finished after `seconds`."""
    out: dict[str, Any] = {}

    def target() -> None:
        try:
            out["value"] = work()
        except BaseException as err:  # handed to the test below
            out["error"] = err

    thread = threading.Thread(target=target, daemon=True)
    thread.start()
    thread.join(seconds)
    assert not thread.is_alive(), f"still waiting after {seconds} s: it waited for a lock"
    if "error" in out:
        raise out["error"]
    return out.get("value")


@pytest.fixture
def store(tmp_path: Path) -> Engine:
    engine = open_store(f"sqlite:///{tmp_path / 'state.db'}")
    add_interaction(engine, "old-1", "My invoice is wrong", "Queue: billing", label="billing")
    return engine


def _capture(engine: Engine, row_id: str) -> None:
    Recorder(engine, None).record(
        row_id,
        Interaction(
            key_name="app",
            model="support-router@champion",
            served={"run_id": "run-a", "registry_name": "support-router", "registry_version": 1},
            messages=[{"role": "user", "content": "Where is my parcel?"}],
            choices=[{"text": "Queue: shipping", "finish_reason": "stop"}],
            finish_reason="stop",
            prompt_tokens=5,
            completion_tokens=3,
            latency_ms=50.0,
            ttft_ms=10.0,
            mean_logprob=None,
            label="shipping",
            label_margin=0.8,
            stream=False,
        ),
    )


def test_monitor_and_review_reads_finish_while_a_capture_holds_the_write_lock(store) -> None:
    now = datetime.now(UTC)
    writer = store.connect()
    pending = writer.begin()  # BEGIN IMMEDIATE: the write lock, held like a capture mid-commit
    writer.execute(
        interactions.insert().values(
            id="pending",
            created_at="2000-01-01T00:00:00.000Z",
            key_name="app",
            model="m",
            messages=[],
            choices=[],
            finish_reason="stop",
            prompt_tokens=0,
            completion_tokens=0,
            latency_ms=0.0,
            pii_masked=True,
            stream=False,
        )
    )
    try:
        window = _within(5, lambda: load_window(store, now - timedelta(hours=1), now))
        assert [i.id for i in window] == ["old-1"]  # the uncommitted row is not seen
        assert _within(5, lambda: thumbs_down(store, now - timedelta(hours=1), now)) == set()
        assert _within(5, lambda: review.counts(store))["open"] == 0
        assert _within(5, lambda: review.decided_items(store)) == []
        assert _within(5, lambda: choices.counts(store))["done"] == 0
        assert _within(5, lambda: choices.decided_choices(store)) == []
    finally:
        pending.rollback()
        writer.close()


def test_a_capture_commits_while_a_read_transaction_is_open(store) -> None:
    with reading(store) as reader:
        # a read transaction under way (a monitor reading its window)
        assert reader.execute(interactions.select()).first() is not None
        _within(5, lambda: _capture(store, "chatcmpl-new"))
    with reading(store) as conn:
        ids = set(
            conn.execute(interactions.select().with_only_columns(interactions.c.id)).scalars()
        )
    assert ids == {"old-1", "chatcmpl-new"}
