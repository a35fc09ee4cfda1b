"""Tool calls through the official `openai` client: the prompt in the shared serialisation
(`models.tools`), every answer decoded under the tools' structural tag, calls read back by
`parse_answer`. The base model is random, so whatever it writes is garbage: the grammar is
what makes a required call a valid one."""

from __future__ import annotations

import asyncio
import json
import threading
from collections.abc import Iterator
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import httpx
import jsonschema
import pytest
from openai import OpenAI
from openai.lib.streaming.chat import ChatCompletionStreamState
from openai.types.chat import ChatCompletionChunk

from tunesmith.config.workspace import Workspace
from tunesmith.examples.scaffold import create_workspace
from tunesmith.models import tools as shared
from tunesmith.models.tools import template_inputs, text_turns
from tunesmith.serve import chat, service
from tunesmith.serve.app import create_app, load_state
from tunesmith.serve.engine import Delta, Done
from tunesmith.serve.schemas import ChatRequest
from tunesmith.serve.state import Prepared
from tunesmith.store.keys import create_key

from .server import live_server, set_config

LOOKUP = {
    "type": "function",
    "function": {
        "name": "lookup_order",
        "description": "Find an order",
        "parameters": {
            "type": "object",
            "properties": {"priority": {"enum": ["low", "high"]}},
            "required": ["priority"],
            "additionalProperties": False,
        },
    },
}
WEATHER = {
    "type": "function",
    "function": {
        "name": "weather",
        "parameters": {
            "type": "object",
            "properties": {
                "city": {"type": "string", "pattern": "^[a-z]{1,8}$"},
                "days": {"type": "integer", "minimum": 1, "maximum": 7},
            },
            "required": ["city", "days"],
            "additionalProperties": False,
        },
    },
}
TOOLS = [LOOKUP, WEATHER]
SCHEMAS = {t["function"]["name"]: t["function"]["parameters"] for t in TOOLS}
HISTORY: list[dict[str, Any]] = [
    {"role": "user", "content": "where is order A1?"},
    {
        "role": "assistant",
        "content": None,
        "tool_calls": [
            {
                "id": "call_1",
                "type": "function",
                "function": {"name": "lookup_order", "arguments": '{"priority": "high"}'},
            }
        ],
    },
    {"role": "tool", "tool_call_id": "call_1", "content": '{"status": "shipped"}'},
    {"role": "user", "content": "and the weather there?"},
]


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory, bpe_model_dir: Path) -> Iterator[dict]:
    root = create_workspace(tmp_path_factory.mktemp("tools") / "ws", "support-tickets", rows=40)
    set_config(root, base_model={"name": "tiny-bpe", "path": str(bpe_model_dir)})
    ws = Workspace(root)
    state = load_state(ws, ws.load_config())
    key, secret = create_key(state.store, "app", ["*"], "ci")
    with live_server(create_app(state)) as url:
        yield {"url": url, "state": state, "key": key, "secret": secret}


def api(served: dict[str, Any]) -> OpenAI:
    return OpenAI(base_url=served["url"] + "/v1", api_key=served["secret"], max_retries=0)


def ask(served: dict[str, Any], **fields: Any) -> Any:
    body = {"model": "tiny-bpe", "messages": HISTORY[:1], "tools": TOOLS, "max_tokens": 96}
    return api(served).chat.completions.create(**(body | fields))


def valid_calls(message: Any) -> list[tuple[str, dict[str, Any]]]:
    """Each call's name and arguments, the arguments checked against the tool's schema."""
    out = []
    for call in message.tool_calls or []:
        assert call.type == "function" and call.id.startswith("call_")
        arguments = json.loads(call.function.arguments)
        jsonschema.validate(arguments, SCHEMAS[call.function.name])
        out.append((call.function.name, arguments))
    return out


def joined(chunks: Any) -> Any:
    """One choice's deltas joined by hand, as a client without the helper does."""
    content, finish = "", None
    calls: dict[int, dict[str, Any]] = {}
    for chunk in chunks:
        for choice in chunk.choices:
            content += choice.delta.content or ""
            finish = choice.finish_reason or finish
            for part in choice.delta.tool_calls or []:
                call = calls.setdefault(part.index, {"name": "", "arguments": ""})
                call["id"] = part.id or call.get("id")
                call["name"] += part.function.name or ""
                call["arguments"] += part.function.arguments or ""
    tool_calls = [
        SimpleNamespace(
            id=c["id"],
            type="function",
            function=SimpleNamespace(name=c["name"], arguments=c["arguments"]),
        )
        for _, c in sorted(calls.items())
    ]
    message = SimpleNamespace(content=content or None, tool_calls=tool_calls or None)
    return SimpleNamespace(message=message, finish_reason=finish)


def test_a_required_call_is_always_a_valid_call(served: dict[str, Any]) -> None:
    for seed in range(4):
        done = ask(served, tool_choice="required", temperature=1.0, seed=seed)
        choice = done.choices[0]
        assert valid_calls(choice.message) and choice.finish_reason == "tool_calls"


def test_a_named_choice_calls_that_function(served: dict[str, Any]) -> None:
    named = {"type": "function", "function": {"name": "weather"}}
    for seed in range(3):
        done = ask(served, tool_choice=named, temperature=1.0, seed=seed)
        calls = valid_calls(done.choices[0].message)
        assert calls and {name for name, _ in calls} == {"weather"}


def test_parallel_false_makes_one_call_and_ends(served: dict[str, Any]) -> None:
    for seed in range(3):
        done = ask(
            served, tool_choice="required", parallel_tool_calls=False, temperature=1.0, seed=seed
        )
        choice = done.choices[0]
        assert len(valid_calls(choice.message)) == 1
        # the grammar ends the answer after its one call: nothing follows it
        assert choice.message.content is None and choice.finish_reason == "tool_calls"
    parallel = ask(served, tool_choice="required", parallel_tool_calls=True, seed=0)
    assert len(valid_calls(parallel.choices[0].message)) >= 1


def test_auto_calls_validate_and_content_stays_text(served: dict[str, Any]) -> None:
    for seed in range(4):
        done = ask(served, tool_choice="auto", temperature=1.0, seed=seed)
        message = done.choices[0].message
        calls = valid_calls(message)
        assert isinstance(message.content, str) or calls
        assert (done.choices[0].finish_reason == "tool_calls") == bool(calls)


def test_none_returns_no_calls(served: dict[str, Any]) -> None:
    for seed in range(3):
        done = ask(served, tool_choice="none", temperature=1.0, seed=seed, max_tokens=24)
        choice = done.choices[0]
        assert choice.message.tool_calls is None and isinstance(choice.message.content, str)
        assert choice.finish_reason in ("stop", "length")


@pytest.mark.parametrize(
    "fields",
    [
        {"tool_choice": "required"},
        {"tool_choice": {"type": "function", "function": {"name": "weather"}}},
        {"tool_choice": "required", "parallel_tool_calls": False},
        {"tool_choice": "auto"},
    ],
)
def test_a_stream_accumulates_to_the_answer_not_streamed(
    served: dict[str, Any], fields: dict[str, Any]
) -> None:
    body = {"model": "tiny-bpe", "messages": HISTORY, "tools": TOOLS, "max_tokens": 96}
    body |= {**fields, "temperature": 0}
    whole = api(served).chat.completions.create(**body).choices[0]
    accumulated = [joined(api(served).chat.completions.create(**body, stream=True))]
    if whole.finish_reason != "length":  # the helper refuses an answer cut by max_tokens
        with api(served).chat.completions.stream(**body) as events:
            accumulated.append(events.get_final_completion().choices[0])
    for streamed in accumulated:
        assert streamed.finish_reason == whole.finish_reason
        assert (streamed.message.content or None) == (whole.message.content or None)
        assert valid_calls(streamed.message) == valid_calls(whole.message)


def test_a_history_with_calls_renders_in_the_shared_format(served: dict[str, Any]) -> None:
    tokenizer = served["state"].tokenizer
    request = ChatRequest.model_validate(
        {"model": "tiny-bpe", "messages": HISTORY, "tools": TOOLS, "tool_choice": "auto"}
    )
    ids = chat.prompt_ids(tokenizer, request, 2048)
    shown = tokenizer.decode(ids)
    expected = tokenizer.apply_chat_template(
        text_turns(HISTORY, TOOLS), tokenize=False, add_generation_prompt=True
    )
    assert shown == expected
    assert template_inputs(tokenizer, HISTORY, TOOLS) == (text_turns(HISTORY, TOOLS), {})
    assert '<tool_call>{"name": "lookup_order", "arguments": {"priority": "high"}}' in shown
    assert '<tool_response name="lookup_order">{"status": "shipped"}</tool_response>' in shown
    assert shared.tools_text(TOOLS) in shown  # the tool list, in the system turn
    # tool_choice none: the history still renders, the tools are not described
    quiet = request.model_copy(update={"tool_choice": "none"})
    unlisted = tokenizer.decode(chat.prompt_ids(tokenizer, quiet, 2048))
    assert "<tool_response" in unlisted
    assert shared.tools_text(TOOLS).splitlines()[0] not in unlisted
    done = ask(served, messages=HISTORY, tool_choice="required", seed=0)
    assert valid_calls(done.choices[0].message)


def post(served: dict[str, Any], **fields: Any) -> httpx.Response:
    body = {"model": "tiny-bpe", "messages": HISTORY[:1]}
    return httpx.post(
        served["url"] + "/v1/chat/completions",
        json=body | fields,
        headers={"Authorization": f"Bearer {served['secret']}"},
        timeout=60,
    )


def test_bad_tool_input_is_a_clear_400(served: dict[str, Any]) -> None:
    history = json.loads(json.dumps(HISTORY))
    history[1]["tool_calls"][0]["function"]["arguments"] = '{"priority": '
    reply = post(served, messages=history, tools=TOOLS)
    assert reply.status_code == 400, reply.text
    error = reply.json()["error"]
    assert error["param"] == "messages"
    assert error["message"].startswith("messages[1].tool_calls[0].function.arguments: not JSON")
    broken = {"type": "function", "function": {"name": "f", "parameters": {"type": "foo"}}}
    reply = post(served, tools=[broken], tool_choice="auto")
    assert reply.status_code == 400 and reply.json()["error"]["param"] == "tools"
    reply = post(served, tools=TOOLS, tool_choice={"type": "function", "function": {"name": "x"}})
    assert reply.status_code == 400 and "not in tools" in reply.text


def test_forced_call_wins_over_response_format_auto_does_not(served: dict[str, Any]) -> None:
    fmt = {"type": "json_schema", "json_schema": {"name": "s", "schema": SCHEMAS["weather"]}}
    forced = ask(served, tool_choice="required", response_format=fmt, seed=1)
    assert valid_calls(forced.choices[0].message)
    auto = ask(served, tool_choice="auto", response_format=fmt, seed=1, max_tokens=48)
    message = auto.choices[0].message
    assert message.tool_calls is None and message.content.startswith("{")


def test_answer_calls_and_streamable_prefix() -> None:
    request = ChatRequest.model_validate(
        {"model": "m", "messages": HISTORY[:1], "tools": TOOLS, "tool_choice": "auto"}
    )
    call = '<tool_call>{"name": "weather", "arguments": {"city": "oslo", "days": 2}}</tool_call>'
    content, calls = chat.answer_calls(f" Let me look. {call}{call}", request)
    assert content == "Let me look." and len(calls) == 2
    assert json.loads(calls[0]["function"]["arguments"]) == {"city": "oslo", "days": 2}
    single = request.model_copy(update={"parallel_tool_calls": False})
    assert len(chat.answer_calls(call + call, single)[1]) == 1
    cut = "Sure <tool_call>" + call[len("<tool_call>") : 30]  # cut by max_tokens
    assert chat.answer_calls(cut, request) == (cut, [])
    assert chat.streamable_prefix(" Let me look. <tool") == "Let me look."
    assert chat.streamable_prefix("Let me look. " + call + "more") == "Let me look."
    assert chat.streamable_prefix('{"name": "weather"') == ""


def test_content_before_a_call_streams_and_the_call_follows(served: dict[str, Any]) -> None:
    """A model that writes text, then a call: fed to `service` as engine events, the stream's
    content chunks come before the call's, and it accumulates to the whole answer."""
    state = served["state"]
    request = ChatRequest.model_validate(
        {"model": "tiny-bpe", "messages": HISTORY[:1], "tools": TOOLS, "tool_choice": "auto"}
    )
    pieces = ["Let me", " look.", " <tool", '_call>{"name": "weather", "arguments": ']
    pieces += ['{"city": "oslo", "days": 2}}</tool_call>']

    async def run(streamed: bool) -> Any:
        job = Prepared(
            request,
            served["key"],
            state.catalog.resolve("tiny-bpe"),
            [1, 2, 3],
            False,
            [chat.ChoiceState(0)],
            [SimpleNamespace(cancelled=threading.Event())],  # type: ignore[list-item]
            asyncio.Queue(),
            0.0,
            chat.completion_id(),
        )
        for piece in pieces:
            job.queue.put_nowait((0, Delta(piece, [])))
        job.queue.put_nowait((0, Done("stop", len(pieces), None)))
        if not streamed:
            return await service.complete(state, job)
        return [chunk async for chunk in service.stream(state, job)]

    whole = asyncio.run(run(False))["choices"][0]
    chunks = asyncio.run(run(True))
    deltas = [c["choices"][0]["delta"] for c in chunks]
    texts = [d["content"] for d in deltas if d.get("content")]
    assert texts == ["Let me", " look."]  # the space before the call is held, then dropped
    assert "tool_calls" in deltas[-1] and chunks[-1]["choices"][0]["finish_reason"] == "tool_calls"
    assert whole["message"]["content"] == "Let me look." and whole["finish_reason"] == "tool_calls"
    state_ = ChatCompletionStreamState()
    for chunk in chunks:
        state_.handle_chunk(ChatCompletionChunk.model_validate(chunk))
    joined = state_.get_final_completion().choices[0].message
    assert joined.content == "Let me look."
    assert [(c.function.name, c.function.arguments) for c in joined.tool_calls] == [
        (c["function"]["name"], c["function"]["arguments"]) for c in whole["message"]["tool_calls"]
    ]
