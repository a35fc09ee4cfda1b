"""Tool calls in the review loop: shown, edited and exported in the shared serialisation.

A reviewer sees an answer's calls as the model writes them (`models.tools.Call.text()`, after
any content) and edits them in that form; the export reads a correction back with
`parse_answer` into the OpenAI shape and checks the whole record with `data.tool_checks`, as
curate will, so a correction that does not parse, names an unknown tool or breaks a tool's
schema is refused with its reason instead of becoming a training record.
"""

from __future__ import annotations

import json
from typing import Any

from tunesmith.data.tool_checks import Problem, check_messages, parse_tools
from tunesmith.models.tools import (
    Call,
    ToolFormatError,
    functions,
    message_calls,
    message_text,
    openai_tool_calls,
    parse_answer,
)

_KEPT = ("role", "content", "name", "tool_calls", "tool_call_id")


def calls_text(calls: list[dict[str, Any]] | None) -> list[str]:
    """Each OpenAI call as `<tool_call>{...}</tool_call>`; one that does not read, as its JSON."""
    try:
        return [c.text() for c in message_calls({"tool_calls": calls or []})]
    except ToolFormatError:
        return [json.dumps(c, ensure_ascii=False) for c in calls or []]


def answer_text(content: str, calls: list[dict[str, Any]] | None) -> str:
    """An answer as the model writes it: its content, then one line per call."""
    return "\n".join([content.strip(), *calls_text(calls)]).strip()


def stored_output(choice: dict[str, Any]) -> str:
    """The answer a reviewer sees of a stored choice: its text, with its calls (if any) in the
    shared serialisation after the content the calls were read out of."""
    text = choice.get("text") or ""
    calls = choice.get("tool_calls")
    if not calls:
        return text
    return answer_text(parse_answer(text).content, calls)


def tool_names(tools: list[dict[str, Any]] | None) -> list[str]:
    try:
        return [f["name"] for f in functions(tools or [])]
    except ToolFormatError:
        return []


def shown_messages(messages: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The conversation with what a reviewer reads added: `calls_text` on a turn with calls,
    `answers` (the function name and call id) on a tool result."""
    called: dict[str, str] = {}
    out = []
    for message in messages:
        shown = dict(message)
        if message.get("tool_calls"):
            shown["calls_text"] = calls_text(message["tool_calls"])
            for call in message["tool_calls"]:
                if isinstance(call, dict) and isinstance(call.get("function"), dict):
                    called[str(call.get("id"))] = str(call["function"].get("name"))
        if message.get("role") == "tool":
            call_id = str(message.get("tool_call_id"))
            shown["answers"] = f"{called.get(call_id, '?')} ({call_id})"
        out.append(shown)
    return out


def conversation_text(messages: list[dict[str, Any]]) -> str:
    """The conversation as plain text for a terminal: one block per turn, calls and results
    labelled."""
    blocks = []
    for message in shown_messages(messages):
        role = message.get("role")
        head = f"[tool result: {message['answers']}]" if role == "tool" else f"[{role}]"
        body = "\n".join([message_text(message).strip(), *message.get("calls_text", [])])
        blocks.append(f"{head}\n{body.strip()}")
    return "\n\n".join(blocks)


def uses_tools(tools: list[dict[str, Any]] | None, messages: list[dict[str, Any]]) -> bool:
    """Whether an item is a tool conversation: tools offered, or calls or results in it."""
    return bool(tools) or any(m.get("tool_calls") or m.get("role") == "tool" for m in messages)


def history(messages: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The stored conversation in the OpenAI shape: calls and the ids they answer kept, an
    empty content beside calls as null."""
    out = []
    for message in messages:
        turn = {k: message[k] for k in _KEPT if message.get(k) is not None}
        turn.setdefault("content", None if turn.get("tool_calls") else "")
        if turn.get("tool_calls") and turn["content"] == "":
            turn["content"] = None
        out.append(turn)
    return out


def final_turn(
    text: str, ids: list[str], prefix: str = "call_review_"
) -> tuple[dict[str, Any] | None, str | None]:
    """The assistant turn `text` writes (content, calls in the OpenAI shape; `ids` for its
    calls, then `prefix` + its number), or None and why it does not read as calls."""
    answer = parse_answer(text)
    if answer.malformed:
        return None, f"invalid tool call: {answer.malformed[0][:120]!r} does not read as a call"
    calls: list[Call] = answer.calls
    ids = [*ids[: len(calls)], *(f"{prefix}{k}" for k in range(len(ids), len(calls)))]
    turn: dict[str, Any] = {"role": "assistant", "content": answer.content or None}
    if calls:
        turn["tool_calls"] = openai_tool_calls(calls, ids)
    elif not answer.content:
        return None, "empty answer: no content and no call"
    return turn, None


def tool_record(
    messages: list[dict[str, Any]],
    tools: list[dict[str, Any]] | None,
    text: str,
    ids: list[str],
    prefix: str = "call_review_",
) -> tuple[dict[str, Any] | None, str | None]:
    """(`{"messages", "tools"}`, None) for a reviewed tool conversation answered by `text`, or
    (None, the first problem): a call that does not parse, an unknown tool, arguments that
    fail the tool's schema, a history that does not hold together."""
    turn, problem = final_turn(text, ids, prefix)
    if turn is None:
        return None, problem
    conversation = [*history(messages), turn]
    toolset = parse_tools(json.dumps(tools or []), "tools")
    if isinstance(toolset, Problem):
        return None, f"{toolset.field}: {toolset.reason}"
    found = check_messages(conversation, toolset)
    if found is not None:
        return None, f"{found.field}: {found.reason}"
    return {"messages": conversation, "tools": tools or []}, None
