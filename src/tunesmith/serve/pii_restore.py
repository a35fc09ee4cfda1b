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


def mask_messages(
    masker: Any, messages: list[dict[str, Any]], invented_text: dict[str, str]
) -> tuple[list[dict[str, Any]], RequestValues]:
    """`messages` with the personal data of user, assistant and tool turns masked as one
    record (one numbering across the conversation), and the request's values."""
    fields = {
        str(i): m["content"]
        for i, m in enumerate(messages)
        if m.get("role") in _ROLES_MASKED and isinstance(m.get("content"), str) and m["content"]
    }
    masked, _, values = masker.mask_with_values(fields) if fields else ({}, None, {})
    out = [
        {**m, "content": masked[str(i)]} if str(i) in masked else m for i, m in enumerate(messages)
    ]
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
    texts = [{"role": m.role, "content": m.text()} for m in request.messages]
    masked, values = mask_messages(maskers.get(pii), texts, invented_text)
    messages = [
        m if t["content"] == m.text() else m.model_copy(update={"content": t["content"]})
        for m, t in zip(request.messages, masked, strict=True)
    ]
    fmt = request.response_format
    values.in_json = fmt is not None and fmt.type != "text"
    return request.model_copy(update={"messages": messages}), values


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
