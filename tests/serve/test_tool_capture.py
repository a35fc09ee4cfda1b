"""A served tool call is captured with the tools it was offered, and reaches the review page
with its calls and the history's results shown."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
import sqlalchemy as sa

from tunesmith.config.workspace import Workspace
from tunesmith.examples.scaffold import create_workspace
from tunesmith.models.tools import message_calls
from tunesmith.review import queue as review
from tunesmith.serve.app import create_app, load_state
from tunesmith.store.db import interactions, reading, review_items
from tunesmith.store.keys import create_key

from .server import live_server, set_config
from .test_tool_calls import HISTORY, TOOLS


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory, bpe_model_dir: Path) -> Iterator[dict]:
    root = create_workspace(tmp_path_factory.mktemp("capture") / "ws", "support-tickets", rows=40)
    set_config(root, base_model={"name": "tiny-bpe", "path": str(bpe_model_dir)})
    ws = Workspace(root)
    state = load_state(ws, ws.load_config())
    app = create_key(state.store, "app", ["*"], "ci")[1]
    reviewer = create_key(state.store, "rev", ["*"], "ci", roles=["reviewer"])[1]
    with live_server(create_app(state)) as url:
        yield {"url": url, "state": state, "app": app, "reviewer": reviewer}


def test_a_tool_call_is_captured_with_its_tools_and_reviewed_as_calls(
    served: dict[str, Any],
) -> None:
    body = {
        "model": "tiny-bpe",
        "messages": HISTORY,
        "tools": TOOLS,
        "tool_choice": "required",
        "max_tokens": 96,
        "seed": 0,
    }
    auth = {"Authorization": f"Bearer {served['app']}"}
    answer = httpx.post(f"{served['url']}/v1/chat/completions", json=body, headers=auth).json()
    message = answer["choices"][0]["message"]
    assert message["tool_calls"]
    store = served["state"].store
    with reading(store) as conn:
        row = conn.execute(sa.select(interactions).where(interactions.c.id == answer["id"])).one()
    assert row.tools == TOOLS  # the schemas as offered, not masked
    assert row.messages[1]["tool_calls"][0]["id"] == "call_1"
    assert row.messages[2]["tool_call_id"] == "call_1"
    assert row.choices[0]["tool_calls"] == message["tool_calls"]

    review.enqueue(store, [review.Candidate(answer["id"], "tiny-bpe", ["audit"], 0.0)])
    headers = {"Authorization": f"Bearer {served['reviewer']}"}
    item = httpx.get(f"{served['url']}/v1/review/next", headers=headers).json()["item"]
    assert item["tool_names"] == ["lookup_order", "weather"]
    assert item["calls"] == message["tool_calls"]
    for call in message_calls(message):  # the reviewer sees each call as the model wrote it
        assert call.text() in item["output"]
    assert item["messages"][1]["calls_text"] == [
        '<tool_call>{"name": "lookup_order", "arguments": {"priority": "high"}}</tool_call>'
    ]
    assert item["messages"][2]["answers"] == "lookup_order (call_1)"


def test_the_review_page_shows_calls_and_refuses_a_bad_one(served: dict[str, Any]) -> None:
    from playwright.sync_api import expect, sync_playwright

    from .test_review_page import launch

    store = served["state"].store
    body = {"model": "tiny-bpe", "messages": HISTORY, "tools": TOOLS, "max_tokens": 64}
    auth = {"Authorization": f"Bearer {served['app']}"}
    body |= {"tool_choice": {"type": "function", "function": {"name": "weather"}}, "seed": 1}
    answer = httpx.post(f"{served['url']}/v1/chat/completions", json=body, headers=auth).json()
    with store.begin() as conn:  # only this item in the queue
        conn.execute(sa.delete(review_items))
    review.enqueue(store, [review.Candidate(answer["id"], "tiny-bpe", ["audit"], 0.0)])
    problems: list[str] = []
    with sync_playwright() as pw:
        browser = launch(pw)
        try:
            page = browser.new_page()
            page.set_default_timeout(10_000)
            page.on("pageerror", lambda err: problems.append(str(err)))
            page.goto(served["url"] + "/review")
            page.get_by_test_id("login-key").fill(served["reviewer"])
            page.keyboard.press("Enter")
            expect(page.get_by_test_id("item-tools")).to_have_text("lookup_order, weather")
            expect(page.get_by_test_id("turn-assistant")).to_contain_text(
                '<tool_call>{"name": "lookup_order", "arguments": {"priority": "high"}}'
            )
            expect(page.get_by_test_id("turn-tool")).to_contain_text(
                "tool result · lookup_order (call_1)"
            )
            expect(page.get_by_test_id("output")).to_contain_text('<tool_call>{"name": "weather"')
            page.keyboard.press("c")
            editor = page.get_by_test_id("correction")
            expect(editor).to_have_value(re.compile(r'<tool_call>\{"name": "weather"'))
            editor.fill('<tool_call>{"name": "weather", "arguments": {"city": "OSLO", "days": 2}}')
            page.keyboard.press("Control+Enter")
            # the city pattern is ^[a-z]{1,8}$: refused where the reviewer sees why
            expect(page.get_by_test_id("error")).to_contain_text("correction refused")
            fixed = '<tool_call>{"name": "weather", "arguments": {"city": "oslo", "days": 2}}'
            editor.fill(fixed + "</tool_call>")
            page.keyboard.press("Control+Enter")
            expect(page.get_by_test_id("queue-empty")).to_be_visible()
        finally:
            browser.close()
    assert problems == []
    (item,) = review.decided_items(store)[-1:]
    assert item.decision == "correct" and item.correction == fixed + "</tool_call>"
