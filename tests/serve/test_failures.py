"""Failed and cancelled calls are recorded and counted; the client hears no exception text;
the engine's queue and a caller's schema are bounded.

The server runs on the word-level test model: its tokenizer cannot write `{`, so a
`json_object` request fails in the engine for real (every token is masked)."""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
import sqlalchemy as sa

from tunesmith.config.workspace import Workspace
from tunesmith.examples.scaffold import create_workspace
from tunesmith.monitor.window import load_window, statistics
from tunesmith.serve.app import create_app, load_state
from tunesmith.store.db import interactions
from tunesmith.store.keys import create_key

from .server import live_server, set_config

JSON = {"type": "json_object"}


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory, tiny_model_dir: Path) -> Iterator[dict]:
    root = create_workspace(tmp_path_factory.mktemp("fail") / "ws", "support-tickets", rows=60)
    set_config(
        root,
        base_model={"name": "tiny-word", "path": str(tiny_model_dir)},
        serve={"max_tokens": 4000},
    )
    ws = Workspace(root)
    state = load_state(ws, ws.load_config())
    secret = create_key(state.store, "app", ["*"], "ci")[1]
    with live_server(create_app(state)) as url:
        yield {"url": url, "state": state, "headers": {"Authorization": f"Bearer {secret}"}}


def ask(served: dict[str, Any], **fields: Any) -> httpx.Response:
    body = {"model": "tiny-word", "messages": [{"role": "user", "content": "late parcel"}]}
    return httpx.post(
        served["url"] + "/v1/chat/completions",
        json=body | fields,
        headers=served["headers"],
        timeout=60,
    )


def stored(served: dict[str, Any], row_id: str) -> Any:
    with served["state"].store.connect() as conn:
        return conn.execute(sa.select(interactions).where(interactions.c.id == row_id)).first()


def error_rate(served: dict[str, Any]) -> float | None:
    now = datetime.now(UTC)
    items = load_window(served["state"].store, now - timedelta(hours=1), now + timedelta(hours=1))
    return statistics(items, 0.3)["error_rate"]


def test_a_failed_generation_is_recorded_counted_and_not_told(
    served: dict[str, Any], caplog: pytest.LogCaptureFixture
) -> None:
    """The engine fails the choice (the format cannot be written): the client gets a 500 with
    a request id and no exception text, the server's log has the detail, the store has the
    call as an error (no answer text), the window's error rate counts it, /metrics too."""
    with caplog.at_level(logging.ERROR, logger="tunesmith.serve"):
        reply = ask(served, response_format=JSON, temperature=0)
    assert reply.status_code == 500
    message = reply.json()["error"]["message"]
    assert "cannot follow" not in message and "Error" not in message
    request_id = message.split("request id ")[1].rstrip(")")
    assert request_id.startswith("chatcmpl-")
    assert any(
        request_id in r.getMessage() and "cannot follow" in r.getMessage() for r in caplog.records
    )
    row = stored(served, request_id)
    assert row is not None and row.finish_reason == "error"
    assert row.choices[0]["text"] == "" and "cannot follow" in row.choices[0]["error"]
    assert row.messages[-1]["content"] == "late parcel"
    assert (error_rate(served) or 0) > 0
    metrics = httpx.get(served["url"] + "/metrics").text
    assert 'tunesmith_completions_total{model="tiny-word",outcome="error"}' in metrics


def test_a_sampled_failure_ends_its_request_only(served: dict[str, Any]) -> None:
    """Sampling over a fully masked row cannot draw a token: that request fails while the
    stream decoding beside it in the same batch goes on to its end."""
    engine = served["state"].engine
    eos, engine.eos = engine.eos, set()
    body = {"model": "tiny-word", "messages": [{"role": "user", "content": "invoice"}]}
    url = served["url"] + "/v1/chat/completions"
    stream = body | {"stream": True, "max_tokens": 300, "temperature": 0}
    try:
        with httpx.stream("POST", url, json=stream, headers=served["headers"], timeout=60) as reply:
            events = sse(reply)
            next(events), next(events)  # decoding
            failing = ask(served, response_format=JSON, temperature=1.0, n=2)
            last = [json.loads(e) for e in events if e != "[DONE]"][-1]
    finally:
        engine.eos = eos
    assert failing.status_code == 500
    assert last["choices"][0]["finish_reason"] == "length"
    request_id = failing.json()["error"]["message"].split("request id ")[1].rstrip(")")
    choices = stored(served, request_id).choices
    assert [c["finish_reason"] for c in choices] == ["error", "error"]
    assert all("cannot follow" in c["error"] for c in choices)  # not torch's NaN message


def sse(reply: httpx.Response) -> Iterator[str]:
    for line in reply.iter_lines():
        if line.startswith("data: "):
            yield line[len("data: ") :]


def test_a_failed_stream_is_recorded_before_its_error_chunk(served: dict[str, Any]) -> None:
    body = {
        "model": "tiny-word",
        "messages": [{"role": "user", "content": "refund"}],
        "stream": True,
        "response_format": JSON,
    }
    url = served["url"] + "/v1/chat/completions"
    with httpx.stream("POST", url, json=body, headers=served["headers"], timeout=60) as reply:
        events = sse(reply)
        first = json.loads(next(events))
        for data in events:
            chunk = json.loads(data)
            if "error" in chunk:
                assert "cannot follow" not in chunk["error"]["message"]
                assert first["id"] in chunk["error"]["message"]
                # the client has not read [DONE] yet: the failure is already committed
                row = stored(served, first["id"])
                assert row is not None and row.finish_reason == "error" and row.stream
                break
        else:
            pytest.fail("no error chunk")
        assert next(events) == "[DONE]"


def test_a_stream_the_client_leaves_is_recorded_as_cancelled(served: dict[str, Any]) -> None:
    engine = served["state"].engine
    eos, engine.eos = engine.eos, set()  # a long answer, so the client leaves mid-way
    try:
        body = {
            "model": "tiny-word",
            "messages": [{"role": "user", "content": "password login"}],
            "stream": True,
            "max_tokens": 4000,
        }
        url = served["url"] + "/v1/chat/completions"
        with httpx.stream("POST", url, json=body, headers=served["headers"], timeout=60) as reply:
            events = sse(reply)
            request_id = json.loads(next(events))["id"]
            json.loads(next(events))  # a first token arrived: generation runs
        deadline = time.monotonic() + 30
        while (row := stored(served, request_id)) is None and time.monotonic() < deadline:
            time.sleep(0.05)
    finally:
        engine.eos = eos
    assert row is not None and row.finish_reason == "cancelled"
    assert row.choices[0]["text"] == "" and row.completion_tokens < 4000
    metrics = httpx.get(served["url"] + "/metrics").text
    assert 'tunesmith_completions_total{model="tiny-word",outcome="cancelled"}' in metrics


def test_a_full_engine_queue_is_a_503_with_retry_after(served: dict[str, Any]) -> None:
    engine = served["state"].engine
    bound, engine.max_queue = engine.max_queue, 1
    try:
        refused = ask(served, n=2, max_tokens=2)  # two sequences, one place
        assert ask(served, max_tokens=2).status_code == 200
    finally:
        engine.max_queue = bound
    assert refused.status_code == 503
    assert refused.headers["Retry-After"] == str(served["state"].settings.retry_after_seconds)
    assert refused.json()["error"]["code"] == "overloaded"


def nested(depth: int) -> dict[str, Any]:
    schema: dict[str, Any] = {"type": "string"}
    for _ in range(depth - 1):
        schema = {"type": "object", "properties": {"a": schema}, "required": ["a"]}
    return schema


def schema_format(schema: dict[str, Any]) -> dict[str, Any]:
    return {"type": "json_schema", "json_schema": {"name": "s", "schema": schema}}


def test_a_schema_over_the_limits_is_a_clear_400(served: dict[str, Any]) -> None:
    """Too large, too deep, or too slow to compile: 400 naming the limit, before any work."""
    grammars = served["state"].grammars
    large = {"enum": [f"value-{i:05d}" for i in range(4000)]}  # ~60 kB
    for schema, words in [(large, "bytes"), (nested(40), "deep")]:
        reply = ask(served, response_format=schema_format(schema))
        assert reply.status_code == 400, reply.text
        error = reply.json()["error"]
        assert words in error["message"] and error["param"] == "response_format"
    # a microsecond: no compile finishes in it, however fast the machine (1 ms was flaky)
    limit, grammars.compile_seconds = grammars.compile_seconds, 1e-6
    slow = schema_format({"type": "array", "items": {"type": "string"}, "maxItems": 400})
    try:
        first = ask(served, response_format=slow)
        started = time.monotonic()
        again = ask(served, response_format=slow)  # known slow: refused without compiling
        elapsed = time.monotonic() - started
    finally:
        grammars.compile_seconds = limit
    for reply in (first, again):
        assert reply.status_code == 400 and "to compile" in reply.json()["error"]["message"]
    assert elapsed < 5


def test_a_schema_xgrammar_refuses_is_a_400_without_server_paths(served: dict[str, Any]) -> None:
    reply = ask(served, response_format=schema_format({"type": "foo"}))
    assert reply.status_code == 400
    message = reply.json()["error"]["message"]
    assert 'Unsupported type "foo"' in message and ".cc" not in message


def test_stop_strings_cannot_cut_a_constrained_answer(served: dict[str, Any]) -> None:
    reply = ask(served, response_format=JSON, stop=["}"])
    assert reply.status_code == 400 and reply.json()["error"]["param"] == "stop"


def test_a_call_the_client_gives_up_on_is_recorded_as_cancelled(served: dict[str, Any]) -> None:
    """Not streamed: the client times out and closes; the server stops generating for it."""
    engine = served["state"].engine
    eos, engine.eos = engine.eos, set()
    since = datetime.now(UTC) - timedelta(seconds=1)
    body = {
        "model": "tiny-word",
        "messages": [{"role": "user", "content": "gave up waiting"}],
        "max_tokens": 4000,
    }
    try:
        with pytest.raises(httpx.ReadTimeout):
            httpx.post(
                served["url"] + "/v1/chat/completions",
                json=body,
                headers=served["headers"],
                timeout=httpx.Timeout(60, read=0.3),
            )
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            now = datetime.now(UTC) + timedelta(seconds=1)
            rows = [
                i
                for i in load_window(served["state"].store, since, now)
                if i.user_text == "gave up waiting"
            ]
            if rows:
                break
            time.sleep(0.05)
    finally:
        engine.eos = eos
    assert [r.finish_reason for r in rows] == ["cancelled"]
