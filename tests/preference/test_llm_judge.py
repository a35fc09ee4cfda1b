"""The LLM judge: the position-swap rule, and real calls to `tunesmith serve` in-process."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import jsonschema
import pytest
import sqlalchemy as sa
import yaml
from starlette.testclient import TestClient

from tunesmith.config.align import JudgeConfig
from tunesmith.config.serve import ServeConfig
from tunesmith.config.workspace import Workspace
from tunesmith.examples.scaffold import create_workspace
from tunesmith.preference.llm_judge import (
    VERDICT_SCHEMA,
    JudgeError,
    Verdict,
    agreement,
    combine,
    compare,
    judge_client,
    judge_messages,
    parse_verdict,
)
from tunesmith.serve.app import create_app, load_state
from tunesmith.store.db import interactions
from tunesmith.store.keys import create_key

# loopback allowed (the unreachable-endpoint test connects to it); the BPE model writes JSON

KEY_ENV = "TUNESMITH_TEST_JUDGE_KEY"
# room for a 200-character reason even at one token per character
SETTINGS = JudgeConfig(model="base", api_key_env=KEY_ENV, max_tokens=256, timeout_seconds=60)
PROMPT = [
    {"role": "system", "content": "Route the ticket."},
    {"role": "user", "content": "My parcel is late."},
]


def pair(chosen: str, rejected: str) -> dict[str, Any]:
    return {
        "prompt": PROMPT,
        "chosen": [{"role": "assistant", "content": chosen}],
        "rejected": [{"role": "assistant", "content": rejected}],
        "meta": {"source": "review"},
    }


@pytest.mark.parametrize(
    ("first", "second_swapped", "winner"),
    [
        ("A", "B", "a"),  # a first, then a second: both orders pick a
        ("B", "A", "b"),
        ("A", "A", "tie"),  # always the first shown: position bias
        ("B", "B", "tie"),
        ("tie", "B", "tie"),
        ("A", "tie", "tie"),
        ("tie", "tie", "tie"),
        (None, "B", "tie"),  # unparseable verdict
        ("A", None, "tie"),
        (None, None, "tie"),
    ],
)
def test_combine_needs_both_orders_to_agree(
    first: str | None, second_swapped: str | None, winner: str
) -> None:
    assert combine(first, second_swapped) == winner


def test_parse_verdict_refuses_what_the_schema_refuses() -> None:
    assert parse_verdict('{"better": "A", "reason": "names the queue"}') == {
        "better": "A",
        "reason": "names the queue",
    }
    for bad in [None, "", "A", "[1]", '{"better": "C", "reason": ""}', '{"better": "A"}']:
        assert parse_verdict(bad) is None
    assert parse_verdict('{"better": "A", "reason": "' + "x" * 201 + '"}') is None
    extra = '{"better": "tie", "reason": "", "score": 1}'
    assert parse_verdict(extra) is None


def test_judge_messages_show_constitution_task_and_both_answers() -> None:
    system, user = judge_messages(SETTINGS, PROMPT, "first answer", "second answer")
    assert system["role"] == "system" and SETTINGS.constitution in system["content"]
    assert user["role"] == "user"
    text = user["content"]
    assert "Route the ticket." in text and "My parcel is late." in text
    assert text.index("Answer A") < text.index("first answer") < text.index("Answer B")
    assert text.index("Answer B") < text.index("second answer")


def test_missing_key_names_the_variable(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(KEY_ENV, raising=False)
    with pytest.raises(JudgeError, match=KEY_ENV):
        judge_client(SETTINGS, ServeConfig())
    monkeypatch.setenv(KEY_ENV, " ")
    with pytest.raises(JudgeError, match=KEY_ENV):
        judge_client(SETTINGS, ServeConfig())


def test_default_endpoint_is_the_local_server(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(KEY_ENV, "ts-secret")
    client = judge_client(SETTINGS, ServeConfig(host="127.0.0.1", port=8123))
    assert str(client.base_url).rstrip("/") == "http://127.0.0.1:8123/v1"
    assert client.timeout == SETTINGS.timeout_seconds
    everywhere = judge_client(SETTINGS, ServeConfig(host="0.0.0.0", port=8123))
    assert str(everywhere.base_url).startswith("http://127.0.0.1:8123/v1")
    other = SETTINGS.model_copy(update={"base_url": "http://judge:9000/v1"})
    assert str(judge_client(other, ServeConfig()).base_url).startswith("http://judge:9000/v1")


def test_unreachable_endpoint_is_a_judge_error_naming_it(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(KEY_ENV, "ts-secret")
    settings = SETTINGS.model_copy(
        update={"base_url": "http://127.0.0.1:9/v1", "timeout_seconds": 2.0}
    )
    client = judge_client(settings, ServeConfig(), max_retries=0)
    started = time.monotonic()
    with pytest.raises(JudgeError, match=r"127\.0\.0\.1:9/v1"):
        compare(client, settings, PROMPT, "a", "b")
    assert time.monotonic() - started < 5


@pytest.fixture(scope="module")
def served(
    tmp_path_factory: pytest.TempPathFactory,
    bpe_model_dir: Path,
) -> Iterator[dict[str, Any]]:
    """`tunesmith serve`'s app on the tiny BPE model, with a judge key, run in-process."""
    root = create_workspace(tmp_path_factory.mktemp("judge") / "ws", "support-tickets", rows=20)
    config = yaml.safe_load((root / "tunesmith.yaml").read_text())
    config["base_model"] = {"name": "tiny-bpe", "path": str(bpe_model_dir)}
    (root / "tunesmith.yaml").write_text(yaml.safe_dump(config))
    ws = Workspace(root)
    state = load_state(ws, ws.load_config())
    _, secret = create_key(state.store, "judge", ["base"], "ci")
    with TestClient(create_app(state)) as http:
        yield {"state": state, "secret": secret, "http": http}


def captured(served: dict[str, Any]) -> dict[str, Any]:
    with served["state"].store.connect() as conn:
        return {r.id: r for r in conn.execute(sa.select(interactions)).all()}


def test_compare_asks_twice_and_gets_valid_verdicts(
    served: dict[str, Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv(KEY_ENV, served["secret"])
    client = judge_client(SETTINGS, ServeConfig(), http_client=served["http"])
    before = captured(served)
    verdict = compare(client, SETTINGS, PROMPT, "Queue: shipping. Sorry!", "no idea")
    assert isinstance(verdict, Verdict) and verdict.winner in ("a", "b", "tie")
    # the grammar guarantees the shape, whatever the random model picks
    for raw in (verdict.first, verdict.second):
        assert raw is not None
        jsonschema.validate(raw, VERDICT_SCHEMA)
    assert verdict.winner == combine(verdict.first["better"], verdict.second["better"])
    rows = [r for i, r in captured(served).items() if i not in before]
    assert len(rows) == 2 and all(r.key_name == "judge" and r.model == "base" for r in rows)
    # the same two answers, shown in both orders
    shown = [r.messages[-1]["content"] for r in rows]
    orders = sorted(text.index("Queue: shipping") < text.index("no idea") for text in shown)
    assert orders == [False, True]


def test_agreement_shares_sum_to_one(
    served: dict[str, Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv(KEY_ENV, served["secret"])
    client = judge_client(SETTINGS, ServeConfig(), http_client=served["http"])
    ticks: list[int] = []
    pairs = [pair("Queue: shipping.", "hi"), pair("Queue: billing.", "what?")]
    result = agreement(client, SETTINGS, pairs, on_pair=lambda: ticks.append(1))
    assert result["pairs"] == 2 and len(ticks) == 2
    assert result["agree"] + result["disagree"] + result["tie"] == pytest.approx(1.0)
    decided = result["agree"] + result["disagree"]
    expected = result["agree"] / decided if decided else None
    assert result["agreement_decided"] == expected


def test_http_error_is_a_judge_error_naming_the_endpoint(
    served: dict[str, Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv(KEY_ENV, "ts-not-a-key")
    client = judge_client(SETTINGS, ServeConfig(port=8765), http_client=served["http"])
    with pytest.raises(JudgeError, match=r"127\.0\.0\.1:8765/v1.*HTTP 401"):
        compare(client, SETTINGS, PROMPT, "a", "b")


def scripted(replies: list[str], seen: list[dict[str, Any]]) -> httpx.Client:
    """An endpoint that answers the n-th chat request with the n-th canned verdict text."""

    def handle(request: httpx.Request) -> httpx.Response:
        seen.append(json.loads(request.content))
        message = {"role": "assistant", "content": replies[len(seen) - 1]}
        choice = {"index": 0, "message": message, "finish_reason": "stop"}
        body = {"id": "c", "object": "chat.completion", "created": 0, "model": "m"}
        return httpx.Response(200, json={**body, "choices": [choice]})

    return httpx.Client(transport=httpx.MockTransport(handle))


@pytest.mark.parametrize(
    ("replies", "winner", "consistent"),
    [
        (['{"better": "A", "reason": "first"}'] * 2, "tie", False),  # position bias
        (['{"better": "A", "reason": ""}', '{"better": "B", "reason": ""}'], "a", True),
        (['{"better": "B", "reason": ""}', '{"better": "A", "reason": ""}'], "b", True),
        (['{"better": "tie", "reason": ""}'] * 2, "tie", True),
        (["no verdict", '{"better": "B", "reason": ""}'], "tie", False),
    ],
)
def test_compare_maps_the_swapped_verdict_back(
    replies: list[str], winner: str, consistent: bool, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv(KEY_ENV, "ts-secret")
    seen: list[dict[str, Any]] = []
    client = judge_client(SETTINGS, ServeConfig(), http_client=scripted(replies, seen))
    verdict = compare(client, SETTINGS, PROMPT, "answer one", "answer two")
    assert (verdict.winner, verdict.consistent) == (winner, consistent)
    assert verdict.texts == tuple(replies)
    assert [v is None for v in (verdict.first, verdict.second)] == [
        parse_verdict(r) is None for r in replies
    ]
    assert len(seen) == 2
    for body in seen:
        assert body["temperature"] == 0 and body["max_tokens"] == SETTINGS.max_tokens
        assert body["model"] == SETTINGS.model
        assert body["response_format"]["json_schema"]["schema"] == VERDICT_SCHEMA
    first, second = (body["messages"][-1]["content"] for body in seen)
    assert first.index("answer one") < first.index("answer two")
    assert second.index("answer two") < second.index("answer one")


def test_the_win_rate_judge_asks_both_orders(monkeypatch: pytest.MonkeyPatch) -> None:
    from tunesmith.preference import winrate

    monkeypatch.delenv(KEY_ENV, raising=False)
    with pytest.raises(JudgeError, match=KEY_ENV):  # no key: refused before any answer
        winrate.pairwise_judge(SETTINGS, ServeConfig())
    monkeypatch.setenv(KEY_ENV, "ts-secret")
    seen: list[dict[str, Any]] = []
    replies = ['{"better": "B", "reason": ""}', '{"better": "A", "reason": ""}']
    http = scripted(replies, seen)
    monkeypatch.setattr(
        winrate, "judge_client", lambda settings, serve: judge_client(settings, serve, http)
    )
    judge = winrate.pairwise_judge(SETTINGS, ServeConfig())
    assert judge(PROMPT, "answer one", "answer two") == "b" and len(seen) == 2
