"""A model tuned on masked data answers the caller by name: the request is masked as the
training data was, the model writes placeholders, the server puts the caller's values back.

The answers are forced by a json_schema (`const`), so the tiny model writes exactly the
placeholders a model tuned on masked tickets writes ("Hi <PERSON_1>,")."""

from __future__ import annotations

import logging
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
import sqlalchemy as sa
from openai import OpenAI

from tunesmith.serve.app import create_app, load_state
from tunesmith.store.db import interactions
from tunesmith.store.keys import create_key

from .server import live_server, trained_workspace

ANSWER = "Hi <PERSON_1>, we wrote to <EMAIL_ADDRESS_1>."
FORCED = {
    "type": "json_schema",
    "json_schema": {"name": "reply", "schema": {"type": "string", "const": ANSWER}},
}


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory, bpe_model_dir: Path) -> Iterator[dict]:
    ws, (run_id,) = trained_workspace(tmp_path_factory.mktemp("pii") / "ws", bpe_model_dir, 1)
    state = load_state(ws, ws.load_config())
    secret = create_key(state.store, "app", ["*"], "ci")[1]
    with live_server(create_app(state)) as url:
        client = OpenAI(base_url=url + "/v1", api_key=secret, max_retries=0)
        yield {"url": url, "state": state, "run": run_id, "client": client, "secret": secret}


def _ask(served: dict[str, Any], user: str, stream: bool) -> tuple[str, str]:
    """(the answer as the caller reads it, the completion id) through the openai client."""
    kwargs: dict[str, Any] = {
        "model": served["run"],
        "messages": [{"role": "user", "content": user}],
        "response_format": FORCED,
        "max_tokens": 60,
    }
    if not stream:
        done = served["client"].chat.completions.create(**kwargs)
        return done.choices[0].message.content or "", done.id
    parts, completion_id = [], ""
    for chunk in served["client"].chat.completions.create(**kwargs, stream=True):
        completion_id = chunk.id
        if chunk.choices and chunk.choices[0].delta.content:
            parts.append(chunk.choices[0].delta.content)
    return "".join(parts), completion_id


def _stored(served: dict[str, Any], completion_id: str) -> str:
    with served["state"].store.connect() as conn:
        row = conn.execute(sa.select(interactions).where(interactions.c.id == completion_id)).one()
    return f"{row.messages} {row.choices} {row.flags}"


@pytest.mark.parametrize("stream", [False, True])
def test_the_caller_is_greeted_by_name_and_nothing_raw_is_stored_or_seen(
    served: dict[str, Any], stream: bool, caplog: pytest.LogCaptureFixture
) -> None:
    user = "Hello, this is Dana Whitfield (dana.w@example.org). I was charged twice."
    with caplog.at_level(logging.DEBUG, logger="tunesmith.serve"):
        answer, completion_id = _ask(served, user, stream)
    assert answer == '"Hi Dana Whitfield, we wrote to dana.w@example.org."'
    model_inputs = [r.getMessage() for r in caplog.records if "model input" in r.getMessage()]
    assert model_inputs and all("Whitfield" not in m and "dana.w@" not in m for m in model_inputs)
    assert any("<PERSON_1>" in m for m in model_inputs)
    row = _stored(served, completion_id)
    assert "Whitfield" not in row and "dana.w@" not in row and "Dana" not in row
    assert "<PERSON_1>" in row and "invented_placeholder" not in row


@pytest.mark.parametrize("stream", [False, True])
def test_a_request_without_a_name_gets_no_placeholder_and_no_name(
    served: dict[str, Any], stream: bool
) -> None:
    answer, completion_id = _ask(served, "My parcel is late, where is it?", stream)
    assert answer == '"Hi, we wrote to your e-mail address."'
    assert "invented_placeholder" in _stored(served, completion_id)
    metrics = httpx.get(served["url"] + "/metrics", timeout=30).text
    invented = [
        line
        for line in metrics.splitlines()
        if line.startswith("tunesmith_pii_placeholders_total") and 'outcome="invented"' in line
    ]
    assert invented and float(invented[0].split()[-1]) >= 2


def test_two_concurrent_callers_each_get_their_own_values(served: dict[str, Any]) -> None:
    people = {
        "Dana Whitfield": "dana.w@example.org",
        "Marcus Oyelaran": "m.oyelaran@example.net",
    }
    answers: dict[str, str] = {}

    def ask(name: str, email: str, stream: bool) -> None:
        answers[name] = _ask(served, f"Hi, {name} here ({email}). Refund please.", stream)[0]

    threads = [
        threading.Thread(target=ask, args=(name, email, i == 1))
        for i, (name, email) in enumerate(people.items())
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    for name, email in people.items():
        other = next(n for n in people if n != name)
        assert answers[name] == f'"Hi {name}, we wrote to {email}."'
        assert other not in answers[name] and people[other] not in answers[name]
