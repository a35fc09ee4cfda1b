"""Failed and cancelled calls, as the server records them, reach the monitor and the policy."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import sqlalchemy as sa

from tunesmith.config.workspace import Workspace
from tunesmith.examples.scaffold import create_workspace
from tunesmith.loop.policy import evaluate_triggers
from tunesmith.monitor.run import monitor
from tunesmith.serve.capture import Interaction, Recorder
from tunesmith.store.db import open_store, review_items

from ..serve.server import set_config


def _call(status: str, text: str) -> Interaction:
    return Interaction(
        key_name="app",
        model="tiny",
        served={"run_id": None, "registry_name": None, "registry_version": None},
        messages=[{"role": "user", "content": "my parcel is late"}],
        choices=[{"text": text, "finish_reason": status, "tool_calls": None}],
        finish_reason=status,
        prompt_tokens=8,
        completion_tokens=3,
        latency_ms=50.0,
        ttft_ms=10.0,
        mean_logprob=None,
        label=None,
        label_margin=None,
        stream=False,
    )


def test_failures_raise_the_error_rate_alert_and_the_retrain_trigger(tmp_path: Path) -> None:
    root = create_workspace(tmp_path / "ws", "support-tickets", rows=40)
    set_config(
        root,
        monitor={
            "max_error_rate": 0.2,
            "audit_sample_rate": 1.0,  # every answer is sampled for review
            "retrain": {"on_error_rate": True},
        },
    )
    ws = Workspace(root)
    config = ws.load_config()
    recorder = Recorder(open_store(ws.state_url()), None)
    for i in range(6):
        recorder.record(f"ok-{i}", _call("stop", "Queue: shipping"))
    recorder.record("failed", _call("error", ""))
    recorder.record("left", _call("cancelled", ""))
    # the window's end is exclusive at millisecond precision: a call recorded in the same
    # millisecond as `now` belongs to the next window, so the test looks a moment ahead
    now = datetime.now(UTC) + timedelta(seconds=1)
    report = monitor(ws, config, since="1h", now=now).report
    (entry,) = report["models"]
    stats = entry["statistics"]
    assert (stats["failed"], stats["cancelled"], stats["volume"]) == (1, 1, 8)
    assert stats["error_rate"] == 1 / 8 and stats["cancelled_rate"] == 1 / 8
    assert entry["alerts"] == []  # 0.125 is within 0.2
    recorder.record("failed-2", _call("error", ""))
    report = monitor(ws, config, since="1h", now=datetime.now(UTC) + timedelta(seconds=1)).report
    (entry,) = report["models"]
    assert entry["statistics"]["error_rate"] == 2 / 9
    assert entry["alerts"] and "2 failed" in entry["alerts"][0]
    # a call that failed has no answer for a reviewer: it is counted, not queued
    with open_store(ws.state_url()).connect() as conn:
        queued = set(conn.execute(sa.select(review_items.c.interaction_id)).scalars())
    assert queued == {f"ok-{i}" for i in range(6)}
    triggers = {t.name: t for t in evaluate_triggers(ws, config, "tiny", "2000-01-01", now)}
    assert triggers["error_rate"].fired and "2 failed" in triggers["error_rate"].detail
    quiet = config.model_copy(deep=True)
    quiet.monitor.retrain.on_error_rate = False
    assert "error_rate" not in {t.name for t in evaluate_triggers(ws, quiet, "tiny", "2000", now)}
