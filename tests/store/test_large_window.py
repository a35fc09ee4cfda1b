"""A monitor window of 50,000 interactions: no query binds one parameter per interaction.

SQLite's default cap on bound parameters is 32,766 (999 before 3.32; Debian's build raises it
to 250,000), so the cap is set to the upstream default here: `IN (<every id in the window>)`
fails with "too many SQL variables" under it.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
import sqlalchemy as sa
from sqlalchemy.engine import Engine

from tunesmith.config.workspace import Workspace
from tunesmith.monitor.run import monitor
from tunesmith.review import queue as review
from tunesmith.store.clock import utc_timestamp
from tunesmith.store.db import interactions, open_store, ratings

N = 50_000
UPSTREAM_CAP = 32_766


@pytest.fixture
def capped() -> Iterator[None]:
    def cap(dbapi: object, _: object) -> None:
        if isinstance(dbapi, sqlite3.Connection):
            dbapi.setlimit(sqlite3.SQLITE_LIMIT_VARIABLE_NUMBER, UPSTREAM_CAP)

    sa.event.listen(Engine, "connect", cap)
    yield
    sa.event.remove(Engine, "connect", cap)


def _bulk(engine: Engine, now: datetime) -> None:
    start = now - timedelta(minutes=50)
    rows = [
        {
            "id": f"chatcmpl-{i:05d}",
            "created_at": utc_timestamp(start + timedelta(milliseconds=50 * i), "milliseconds"),
            "key_name": "app",
            "model": "support-router@champion",
            "run_id": None,
            "registry_name": "support-router",
            "registry_version": 1,
            "messages": [{"role": "user", "content": f"ticket {i}"}],
            "choices": [{"text": "Queue: billing\n\nHi", "finish_reason": "stop"}],
            "finish_reason": "stop",
            "prompt_tokens": 10,
            "completion_tokens": 5,
            "latency_ms": 100.0,
            "ttft_ms": 20.0,
            "mean_logprob": -0.5,
            "label": "billing",
            "label_margin": 0.9,
            "pii_masked": True,
            "stream": False,
            "flags": [],
        }
        for i in range(N)
    ]
    down = [
        {
            "interaction_id": f"chatcmpl-{i:05d}",
            "key_name": "app",
            "rating": "down",
            "created_at": utc_timestamp(now),
        }
        for i in range(0, N, 10)
    ]
    with engine.begin() as conn:
        conn.execute(interactions.insert(), rows)
        conn.execute(ratings.insert(), down)


def test_monitor_reads_and_queues_a_window_of_50000(workspace: Path, capped) -> None:
    ws = Workspace(workspace)
    now = datetime.now(UTC)
    store = open_store(ws.state_url())
    _bulk(store, now)
    result = monitor(ws, ws.load_config(), since="1h", now=now)
    model = result.report["models"][0]
    assert result.report["interactions"] == N
    assert model["statistics"]["volume"] == N
    assert model["review_candidates"]["thumbs_down"] == N // 10
    assert result.enqueued >= N // 10
    assert review.counts(store)["open"] == result.enqueued
    # the whole window offered again: only the items not queued yet are added
    every = [review.Candidate(f"chatcmpl-{i:05d}", "m", ["audit_sample"], 2.0) for i in range(N)]
    assert review.enqueue(store, every, now) == N - result.enqueued
