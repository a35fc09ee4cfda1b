"""Interactions written straight into a real state store, as the server's Recorder writes them."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from sqlalchemy.engine import Engine

from tunesmith.store.clock import utc_timestamp
from tunesmith.store.db import interactions

SYSTEM = "Route the ticket to its queue, then reply."


def add_interaction(
    engine: Engine,
    row_id: str,
    user: str,
    output: str,
    *,
    label: str | None = None,
    margin: float | None = None,
    flags: list[str] | None = None,
    run_id: str | None = "run-a",
    registry_name: str | None = "support-router",
    at: datetime | None = None,
    retrieval: dict | None = None,
) -> None:
    moment = at or datetime.now(UTC) - timedelta(minutes=1)
    with engine.begin() as conn:
        conn.execute(
            interactions.insert().values(
                id=row_id,
                created_at=utc_timestamp(moment, "milliseconds"),
                key_name="app",
                model="support-router@champion",
                run_id=run_id,
                registry_name=registry_name,
                registry_version=1,
                messages=[
                    {"role": "system", "content": SYSTEM},
                    {"role": "user", "content": user},
                ],
                choices=[{"text": output, "finish_reason": "stop", "tool_calls": None}],
                finish_reason="stop",
                prompt_tokens=10,
                completion_tokens=5,
                latency_ms=100.0,
                ttft_ms=20.0,
                mean_logprob=-0.5,
                label=label,
                label_margin=margin,
                pii_masked=True,
                stream=False,
                flags=flags or [],
                retrieval=retrieval,
            )
        )
