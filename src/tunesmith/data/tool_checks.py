"""Checks of a tool-use conversation record: its tool list and its messages, in the OpenAI shape.

Each check returns the first `Problem` it finds: the field path a person can follow into the
record (`messages[2].tool_calls[0].function.arguments.amount`) and a reason whose text before
the first colon is its category (the report counts categories). Arguments are validated
against the called tool's `parameters` with JSON Schema Draft 2020-12, the draft the OpenAI
function format and xgrammar's structural tags read.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

from jsonschema import Draft202012Validator
from jsonschema.exceptions import SchemaError, ValidationError, best_match

from tunesmith.models.tools import Call, ToolFormatError, functions, message_calls

ROLES = ("system", "developer", "user", "assistant", "tool")


@dataclass(frozen=True)
class Problem:
    """Why a record cannot be used, and where in it."""

    field: str
    reason: str


@dataclass(frozen=True)
class ToolSet:
    """A record's checked tool list and an arguments validator per function name."""

    tools: list[dict[str, Any]]
    validators: dict[str, Draft202012Validator]


def _path(where: str, parts: Any) -> str:
    out = where
    for part in parts:
        out += f"[{part}]" if isinstance(part, int) else f".{part}"
    return out


@lru_cache(maxsize=256)
def parse_tools(raw: str, where: str) -> ToolSet | Problem:
    """The tool list in a record's field (JSON text; empty for none), checked once per distinct
    list: most records of a dataset share theirs, and compiling schemas is the costly part."""
    if not raw.strip():
        return ToolSet([], {})
    try:
        tools = json.loads(raw)
    except json.JSONDecodeError as err:
        return Problem(where, f"tools not JSON: {err.msg}")
    if tools is None:
        return ToolSet([], {})
    if not isinstance(tools, list):
        return Problem(where, "bad tools: expected a list of tools")
    try:
        listed = functions(tools)
    except ToolFormatError as err:
        field, _, detail = str(err).partition(": ")
        return Problem(_path(where, []) + field.removeprefix("tools"), f"bad tool: {detail}")
    validators: dict[str, Draft202012Validator] = {}
    for i, (tool, function) in enumerate(zip(tools, listed, strict=True)):
        at = f"{where}[{i}]"
        if tool.get("type", "function") != "function":
            return Problem(f"{at}.type", f"bad tool: type {tool.get('type')!r}, not 'function'")
        name = function["name"]
        if not name.strip():
            return Problem(f"{at}.function.name", "bad tool: empty function name")
        if name in validators:
            return Problem(f"{at}.function.name", f"bad tool: '{name}' is listed twice")
        parameters = function.get("parameters", {})
        if not isinstance(parameters, dict):
            return Problem(f"{at}.function.parameters", "bad tool: parameters not an object")
        try:
            Draft202012Validator.check_schema(parameters)
        except SchemaError as err:
            field = _path(f"{at}.function.parameters", err.path)
            return Problem(field, f"bad tool schema: {err.validator}: {err.message}")
        validators[name] = Draft202012Validator(parameters)
    return ToolSet(tools, validators)


def _content_problem(message: dict[str, Any], at: str) -> Problem | None:
    content = message.get("content")
    if isinstance(content, str):
        return None
    if content is None:
        if message.get("role") == "assistant" and message.get("tool_calls"):
            return None
        return Problem(f"{at}.content", "no content: only an assistant turn with calls may omit it")
    if not isinstance(content, list):
        return Problem(f"{at}.content", "bad content: expected a string or a list of text parts")
    for k, part in enumerate(content):
        if not isinstance(part, dict) or not isinstance(part.get("text"), str):
            return Problem(f"{at}.content[{k}]", "bad content: not a text part")
    return None


def _schema_problem(call: Call, validator: Draft202012Validator, at: str) -> Problem | None:
    error: ValidationError | None = best_match(validator.iter_errors(call.arguments))
    if error is None:
        return None
    field = _path(f"{at}.function.arguments", error.absolute_path)
    instance = error.instance if isinstance(error.instance, dict) else {}
    if error.validator == "required":
        missing = [p for p in error.validator_value if p not in instance]
        field += f".{missing[0]}" if missing else ""
    elif error.validator == "additionalProperties":
        known = error.schema.get("properties", {}) if isinstance(error.schema, dict) else {}
        extra = [p for p in instance if p not in known]
        field += f".{extra[0]}" if extra else ""
    return Problem(
        field, f"arguments fail the schema of '{call.name}': {error.validator}: {error.message}"
    )


def _calls_problem(
    message: dict[str, Any], at: str, toolset: ToolSet, call_ids: set[str]
) -> tuple[Problem | None, list[tuple[str | None, str]]]:
    """A problem with an assistant turn's calls, else None and each call's id (None without
    one) and the path of its id: the answers they wait for."""
    raw = message.get("tool_calls")
    if raw is None:
        return None, []
    if not isinstance(raw, list):
        return Problem(f"{at}.tool_calls", "bad call: expected a list of calls"), []
    for j, call in enumerate(raw):
        if isinstance(call, dict) and call.get("type", "function") != "function":
            return Problem(f"{at}.tool_calls[{j}].type", "bad call: type is not 'function'"), []
    try:
        calls = message_calls(message, at)
    except ToolFormatError as err:
        field, _, detail = str(err).partition(": ")
        return Problem(field, f"bad call: {detail}"), []
    ids = []
    for j, (entry, call) in enumerate(zip(raw, calls, strict=True)):
        where = f"{at}.tool_calls[{j}]"
        validator = toolset.validators.get(call.name)
        if validator is None:
            names = ", ".join(toolset.validators) or "none"
            reason = f"unknown function: '{call.name}' is not in the record's tools ({names})"
            return Problem(f"{where}.function.name", reason), []
        problem = _schema_problem(call, validator, where)
        if problem is not None:
            return problem, []
        call_id = entry.get("id")
        if call_id is not None:  # a call without one cannot be answered: fine in the last turn
            if not isinstance(call_id, str) or not call_id:
                return Problem(f"{where}.id", "bad call: id must be a non-empty string"), []
            if call_id in call_ids:
                return Problem(f"{where}.id", f"repeated call id: '{call_id}'"), []
            call_ids.add(call_id)
        ids.append((call_id, f"{where}.id"))
    return None, ids


def check_messages(messages: Any, toolset: ToolSet, where: str = "messages") -> Problem | None:
    """The first problem of a conversation: shape, roles, calls against the tools, and every
    result answering an earlier call, each call answered before the next assistant turn."""
    if not isinstance(messages, list) or not messages:
        return Problem(where, "not a conversation: expected a non-empty list of messages")
    pending: list[tuple[str | None, str]] = []  # calls of the last assistant turn unanswered
    call_ids: set[str] = set()
    answered: set[str] = set()
    assistant = False
    for i, message in enumerate(messages):
        at = f"{where}[{i}]"
        if not isinstance(message, dict):
            return Problem(at, "not a message: expected an object")
        role = message.get("role")
        if role not in ROLES:
            return Problem(f"{at}.role", f"unknown role: {role!r} (known: {', '.join(ROLES)})")
        problem = _content_problem(message, at)
        if problem is not None:
            return problem
        if role != "assistant" and message.get("tool_calls"):
            return Problem(f"{at}.tool_calls", f"bad call: a {role} turn cannot call tools")
        if role == "assistant":
            assistant = True
            if pending:
                call_id, field = pending[0]
                named = f"'{call_id}'" if call_id else "without an id"
                return Problem(field, f"unanswered call: {named} has no tool result before {at}")
            problem, pending = _calls_problem(message, at, toolset, call_ids)
            if problem is not None:
                return problem
        elif role == "tool":
            call_id = message.get("tool_call_id")
            if not isinstance(call_id, str):
                reason = "unmatched tool result: tool_call_id is not a string"
                return Problem(f"{at}.tool_call_id", reason)
            if call_id in answered:
                return Problem(f"{at}.tool_call_id", f"unmatched tool result: '{call_id}' again")
            waiting = [k for k, (c, _) in enumerate(pending) if c is not None and c == call_id]
            if not waiting:
                reason = f"unmatched tool result: {call_id!r} answers no earlier call"
                return Problem(f"{at}.tool_call_id", reason)
            del pending[waiting[0]]
            answered.add(call_id)
    if not assistant:
        return Problem(where, "no assistant turn: nothing to learn from")
    return None
