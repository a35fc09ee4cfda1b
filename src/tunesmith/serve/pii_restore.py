"""Masking a request as the training data was masked, and restoring the caller's own values.

A model tuned on masked data writes what it learned: "Hi <PERSON_1>,". The server masks each
request with the curate masker in the training data's mode, so the model sees text in the
distribution it learned and never the raw personal data, and keeps the request's mapping
(replacement -> the caller's value) in memory for that request only. In the answer every
replacement the mapping holds becomes the caller's value again; a placeholder the request
never had (the model invented it) is rendered neutrally and counted, never filled with a value
of another request or of a training record. Streams hold back text that may be the start of a
placeholder until it is complete.
"""

from __future__ import annotations

import json
import os
import re
import threading
from dataclasses import dataclass, field
from typing import Any

from tunesmith.serve.schemas import ChatRequest

# what a placeholder looks like: `<PERSON_1>`, `<ACCOUNT_ID_2>`
PLACEHOLDER = re.compile(r"<[A-Z][A-Z0-9_]*_\d+>")
# a prefix of one, held back at the end of a streamed chunk
_PARTIAL_PLACEHOLDER = re.compile(r"<(?:[A-Z][A-Z0-9_]*(?:_\d*)?)?")
_LONGEST_PLACEHOLDER = 64
_ROLES_MASKED = ("user", "assistant", "tool")


@dataclass
class RequestValues:
    """One request's replacements and the values they stand for; lives as long as the request."""

    values: dict[str, str] = field(default_factory=dict)
    invented_text: dict[str, str] = field(default_factory=dict)  # entity -> neutral rendering
    invented: int = 0  # placeholders the answer held that the request never had
    restored: int = 0
    in_json: bool = False  # the answer is JSON: values go in escaped, as string content

    def pattern(self) -> re.Pattern[str]:
        keys = sorted(self.values, key=len, reverse=True)
        known = "|".join(re.escape(k) for k in keys)
        return re.compile(f"{known}|{PLACEHOLDER.pattern}" if known else PLACEHOLDER.pattern)

    def replacement(self, found: str) -> str:
        if found in self.values:
            self.restored += 1
            value = self.values[found]
        else:
            self.invented += 1
            value = self.invented_text.get(found[1:-1].rsplit("_", 1)[0], "")
        return json.dumps(value)[1:-1] if self.in_json else value


Path = tuple[Any, ...]  # keys from a call's arguments object down to one string value


def _string_leaves(value: Any, schema: Any, path: Path, out: list[Path]) -> None:
    """The string values of a call's arguments, as curate lays them out: a value the tool's
    schema lists (`enum`, `const`) is the tool's own, not personal data, and stays."""
    if isinstance(schema, dict) and ("enum" in schema or "const" in schema):
        return
    if isinstance(value, str):
        out.append(path)
    elif isinstance(value, dict | list):
        keyed = value.items() if isinstance(value, dict) else enumerate(value)
        for key, item in keyed:
            sub = None
            if isinstance(schema, dict):
                sub = (schema.get("properties") or {}).get(key) if isinstance(key, str) else None
                sub = schema.get("items") if isinstance(key, int) else sub
            _string_leaves(item, sub, (*path, key), out)


def _call_fields(
    messages: list[dict[str, Any]], schemas: dict[str, Any]
) -> dict[str, tuple[int, int, dict[str, Any], Path]]:
    """Field name -> (message, call, parsed arguments, path) of every string argument of the
    history's calls; arguments that are not a JSON object are left as they are."""
    found = {}
    for i, message in enumerate(messages):
        for j, call in enumerate(message.get("tool_calls") or []):
            function = call.get("function") or {}
            try:
                arguments = json.loads(function.get("arguments") or "{}")
            except json.JSONDecodeError:
                continue
            if not isinstance(arguments, dict):
                continue
            paths: list[Path] = []
            _string_leaves(arguments, schemas.get(function.get("name")), (), paths)
            for path in paths:
                found[f"{i}.tool_calls.{j}." + ".".join(map(str, path))] = (i, j, arguments, path)
    return found


def _put_back(
    messages: list[dict[str, Any]], calls: dict[str, Any], masked: dict[str, str]
) -> list[dict[str, Any]]:
    """`messages` with masked contents and, in each call with a masked argument, its
    arguments re-encoded (a call nothing was found in keeps its caller's JSON text)."""
    out = [
        {**m, "content": masked[str(i)]} if str(i) in masked else dict(m)
        for i, m in enumerate(messages)
    ]
    changed: dict[tuple[int, int], dict[str, Any]] = {}
    for name, (i, j, arguments, path) in calls.items():
        target = arguments
        for key in path[:-1]:
            target = target[key]
        if masked.get(name, target[path[-1]]) != target[path[-1]]:
            target[path[-1]] = masked[name]
            changed[(i, j)] = arguments
    for (i, j), arguments in changed.items():
        tool_calls = [dict(c) for c in out[i]["tool_calls"]]
        text = json.dumps(arguments, ensure_ascii=False)
        tool_calls[j] = {
            **tool_calls[j],
            "function": {**tool_calls[j]["function"], "arguments": text},
        }
        out[i]["tool_calls"] = tool_calls
    return out


def mask_messages(
    masker: Any,
    messages: list[dict[str, Any]],
    invented_text: dict[str, str],
    tools: list[dict[str, Any]] | None = None,
) -> tuple[list[dict[str, Any]], RequestValues]:
    """`messages` with the personal data of user, assistant and tool turns masked as one
    record (one numbering across the conversation), the string arguments of the history's
    calls included (as curate masks them, `tools` telling which values the tool lists), and
    the request's values."""
    fields = {
        str(i): m["content"]
        for i, m in enumerate(messages)
        if m.get("role") in _ROLES_MASKED and isinstance(m.get("content"), str) and m["content"]
    }
    schemas = {
        (t.get("function") or {}).get("name"): (t.get("function") or {}).get("parameters")
        for t in tools or []
    }
    calls = _call_fields(messages, schemas)
    for name, (_, _, arguments, path) in calls.items():
        value: Any = arguments
        for key in path:
            value = value[key]
        if value:
            fields[name] = value
    masked, _, values = masker.mask_with_values(fields) if fields else ({}, None, {})
    out = _put_back(messages, calls, masked)
    return out, RequestValues(values=values, invented_text=dict(invented_text))


class Maskers:
    """One curate masker per training-data masking config, built on first use (Presidio's
    analyzer takes a while to build) and shared by the requests of every model that has it."""

    def __init__(self) -> None:
        self._maskers: dict[str, Any] = {}
        self._lock = threading.Lock()

    def get(self, pii: Any) -> Any:
        """The masker for a PiiConfig; pseudonyms need the same key from the environment that
        curate used (PiiKeyError without it)."""
        from tunesmith.data.pii import PiiMasker

        name = pii.model_dump_json()
        with self._lock:
            if name not in self._maskers:
                key = os.environ.get(pii.pseudonym_key_env, "") if pii.mode == "pseudonym" else ""
                self._maskers[name] = PiiMasker(pii, key.encode() or None)
            return self._maskers[name]


def mask_request(
    maskers: Maskers, request: ChatRequest, pii: Any, invented_text: dict[str, str]
) -> tuple[ChatRequest, RequestValues]:
    """The request masked as the model's training data was (`pii`), and the values it held."""
    texts = [
        {"role": m.role, "content": m.text()}
        | ({"tool_calls": [c.model_dump() for c in m.tool_calls]} if m.tool_calls else {})
        for m in request.messages
    ]
    tools = [t.model_dump() for t in request.tools or []]
    masked, values = mask_messages(maskers.get(pii), texts, invented_text, tools)
    messages = [
        m if t == t_in else m.model_copy(update=_changes(m, t))
        for m, t, t_in in zip(request.messages, masked, texts, strict=True)
    ]
    fmt = request.response_format
    values.in_json = fmt is not None and fmt.type != "text"
    return request.model_copy(update={"messages": messages}), values


def _changes(message: Any, masked: dict[str, Any]) -> dict[str, Any]:
    """What masking changed in one message: its content, its calls' arguments."""
    update: dict[str, Any] = {}
    if masked["content"] != message.text():
        update["content"] = masked["content"]
    if message.tool_calls:
        update["tool_calls"] = [
            c.model_copy(update={"function": c.function.model_copy(update=m["function"])})
            for c, m in zip(message.tool_calls, masked["tool_calls"], strict=True)
        ]
    return update


def restore_json(text: str, values: RequestValues) -> str:
    """Restored inside JSON text (a tool call's arguments): values go in escaped."""
    in_json, values.in_json = values.in_json, True
    try:
        return restore(text, values)
    finally:
        values.in_json = in_json


def restore(text: str, values: RequestValues) -> str:
    """The whole answer with the caller's values back and invented placeholders neutral."""
    restorer = Restorer(values)
    return restorer.feed(text) + restorer.flush()


class Restorer:
    """Restores a streamed answer chunk by chunk; what may be a placeholder's start waits."""

    def __init__(self, values: RequestValues) -> None:
        self.values = values
        self._pattern = values.pattern()
        self._held = ""
        self._keys = list(values.values)
        # how far back a replacement may still be growing: computed once, not per chunk
        self._reach = max([_LONGEST_PLACEHOLDER, *map(len, self._keys)])

    def feed(self, text: str) -> str:
        """What can be sent now of everything received so far."""
        buffer = self._held + text
        out: list[str] = []
        position = 0
        for match in self._pattern.finditer(buffer):
            out.append(buffer[position : match.start()])
            replacement = self.values.replacement(match.group(0))
            if not replacement:  # "Hi <PERSON_1>," -> "Hi,"
                out[-1] = out[-1].rstrip(" \t")
            out.append(replacement)
            position = match.end()
        tail = buffer[position:]
        hold = self._hold_from(tail)
        out.append(tail[:hold])
        self._held = tail[hold:]
        return "".join(out)

    def flush(self) -> str:
        """The end of the answer: what was held is sent as it is (it never completed)."""
        held, self._held = self._held, ""
        return held

    def _hold_from(self, tail: str) -> int:
        """Where the part of `tail` that may still become a replacement begins."""
        start = max(0, len(tail) - self._reach)
        for i in range(start, len(tail)):
            suffix = tail[i:]
            if _PARTIAL_PLACEHOLDER.fullmatch(suffix) or any(
                k.startswith(suffix) for k in self._keys
            ):
                # spaces before it wait too: a dropped name takes its space along
                while i > 0 and tail[i - 1] in " \t":
                    i -= 1
                return i
        # trailing spaces wait for the next chunk, which may begin with a name to drop
        return len(tail.rstrip(" \t"))
