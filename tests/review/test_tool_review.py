"""A tool-calling answer in the review loop: shown with its calls and results, corrected in
the shared serialisation, exported as an OpenAI-shape record; a bad call is refused."""

from __future__ import annotations

import json
from collections import Counter
from pathlib import Path

import jsonschema
import pytest
import sqlalchemy as sa

from tunesmith.config import TaskConfig
from tunesmith.models.tools import Call
from tunesmith.review import queue as review
from tunesmith.review.export import to_records
from tunesmith.review.terminal import item_panels
from tunesmith.serve.capture import Interaction, Recorder
from tunesmith.store.db import open_store, review_items

TASK = TaskConfig(type="generation")
WEATHER = {
    "type": "function",
    "function": {
        "name": "weather",
        "parameters": {
            "type": "object",
            "properties": {
                "city": {"type": "string"},
                "days": {"type": "integer", "minimum": 1, "maximum": 7},
            },
            "required": ["city", "days"],
            "additionalProperties": False,
        },
    },
}
LOOKUP = {
    "type": "function",
    "function": {"name": "lookup_order", "parameters": {"type": "object", "properties": {}}},
}
TOOLS = [LOOKUP, WEATHER]
HISTORY = [
    {"role": "user", "content": "where is order A1?"},
    {
        "role": "assistant",
        "content": "",
        "tool_calls": [
            {
                "id": "call_1",
                "type": "function",
                "function": {"name": "lookup_order", "arguments": "{}"},
            }
        ],
    },
    {"role": "tool", "tool_call_id": "call_1", "content": '{"city": "oslo"}'},
    {"role": "user", "content": "and the weather there?"},
]
ANSWERED = {
    "id": "call_abc",
    "type": "function",
    "function": {"name": "weather", "arguments": '{"city": "bergen", "days": 9}'},
}


@pytest.fixture
def store(tmp_path: Path):
    engine = open_store(f"sqlite:///{tmp_path / 'state.db'}")
    text = 'Checking.<tool_call>{"name": "weather", "arguments": {"city": "bergen", "days": 9}}'
    for i in range(3):
        Recorder(engine, None).record(
            f"chatcmpl-{i}",
            Interaction(
                key_name="app",
                model="m",
                served={},
                messages=HISTORY,
                choices=[{"text": text, "finish_reason": "tool_calls", "tool_calls": [ANSWERED]}],
                finish_reason="tool_calls",
                prompt_tokens=10,
                completion_tokens=5,
                latency_ms=1.0,
                ttft_ms=None,
                mean_logprob=None,
                label=None,
                label_margin=None,
                stream=False,
                tools=TOOLS,
            ),
        )
    candidates = [review.Candidate(f"chatcmpl-{i}", "m", ["audit"], i) for i in range(3)]
    review.enqueue(engine, candidates)
    return engine


def test_the_item_shows_tools_calls_and_results(store) -> None:
    item = review.claim_next(store, "ana", 60)
    assert item is not None and item.tools == TOOLS and item.calls == [ANSWERED]
    call = Call("weather", {"city": "bergen", "days": 9}).text()
    assert item.output == f"Checking.\n{call}"  # content, then the calls as the model writes
    shown = item.to_json()
    assert shown["tool_names"] == ["lookup_order", "weather"]
    assert shown["messages"][1]["calls_text"] == [Call("lookup_order", {}).text()]
    assert shown["messages"][2]["answers"] == "lookup_order (call_1)"
    (title, given), (_, answer) = item_panels(item)
    assert "lookup_order, weather" in title and answer == item.output
    assert (
        "[tool result: lookup_order (call_1)]" in given and Call("lookup_order", {}).text() in given
    )


def test_a_corrected_call_is_exported_as_an_openai_record(store) -> None:
    item = review.claim_next(store, "ana", 60)
    fixed = Call("weather", {"city": "bergen", "days": 3}).text()
    with pytest.raises(review.ReviewError, match="maximum"):  # the schema caps days at 7
        review.decide(store, item.id, "ana", "correct", task=TASK, correction=item.output)
    review.decide(store, item.id, "ana", "correct", task=TASK, correction=fixed)
    counts: Counter[str] = Counter()
    records, pairs = to_records(review.decided_items(store), TASK, counts)
    (record,) = records
    assert record["tools"] == TOOLS and record["meta"]["decision"] == "correct"
    assert record["messages"][:3] == [
        HISTORY[0],
        {**HISTORY[1], "content": None},
        HISTORY[2],
    ]
    final = record["messages"][-1]
    assert final["role"] == "assistant" and final["content"] is None
    (call,) = final["tool_calls"]
    assert call["type"] == "function" and call["function"]["name"] == "weather"
    arguments = json.loads(call["function"]["arguments"])
    jsonschema.validate(arguments, WEATHER["function"]["parameters"])
    assert arguments == {"city": "bergen", "days": 3}
    assert pairs == [] and counts["tool_pairs_skipped"] == 1


def test_an_invalid_correction_is_counted_not_exported(store) -> None:
    item = review.claim_next(store, "ana", 60)
    review.decide(store, item.id, "ana", "accept", task=TASK)  # days=9: fails the schema too
    bad = {
        2: '<tool_call>{"name": "weather", "arguments": {"city": "bergen"',  # does not parse
        3: Call("delete_everything", {}).text(),  # no such tool
    }
    with store.begin() as conn:  # decided before the check existed, or typed past it
        for item_id, text in bad.items():
            conn.execute(
                sa.update(review_items)
                .where(review_items.c.id == item_id)
                .values(status="done", decision="correct", correction=text, decided_by="ben")
            )
    counts: Counter[str] = Counter()
    refused: list[str] = []
    records, _ = to_records(review.decided_items(store), TASK, counts, refused)
    assert records == []
    assert counts["invalid_tool_corrections"] == 2 and counts["invalid_tool_answers"] == 1
    assert len(refused) == 3 and any("unknown function" in r for r in refused)
    assert any("does not read as a call" in r for r in refused)
