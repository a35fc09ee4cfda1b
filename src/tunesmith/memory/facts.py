"""Facts found in an answered call by rules: the configured patterns over the user's turn,
and the fields of a structured answer (a JSON object, tool-call arguments)."""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from functools import cache
from typing import Any

from tunesmith.config.memory import FactRule

_MAX_VALUE_CHARS = 200
_SLOT_CHARS = re.compile(r"[^a-z0-9_]+")


@dataclass(frozen=True)
class FoundFact:
    slot: str
    value: str
    confidence: float
    method: str  # rule:<slot>, answer_json or tool:<name>


@cache
def _compiled(pattern: str) -> re.Pattern[str]:
    return re.compile(pattern)


def rule_facts(rules: list[FactRule], text: str) -> list[FoundFact]:
    """Every rule's matches in `text`: the first group, else the whole match."""
    found = []
    for rule in rules:
        for match in _compiled(rule.pattern).finditer(text):
            value = (match.group(1) if match.re.groups else match.group(0)) or ""
            value = value.strip(" \t\n.,;:!?")
            if value:
                found.append(FoundFact(rule.slot, value, rule.confidence, f"rule:{rule.slot}"))
    return found


def _slot(name: str) -> str:
    return _SLOT_CHARS.sub("_", name.lower()).strip("_")[:64] or "field"


def _scalar(value: Any) -> str | None:
    if isinstance(value, bool) or value is None:
        return None if value is None else str(value).lower()
    if isinstance(value, int | float | str):
        text = str(value).strip()
        return text if text and len(text) <= _MAX_VALUE_CHARS else None
    return None


def structured_facts(answer: str, tool_calls: list[dict[str, Any]] | None) -> list[FoundFact]:
    """A JSON-object answer's scalar fields (`answer_json`) and each call's scalar arguments
    (slot `<function>.<argument>`): what the model itself read off the user's words."""
    found = []
    try:
        parsed = json.loads(answer) if answer.lstrip().startswith("{") else None
    except ValueError:
        parsed = None
    if isinstance(parsed, dict):
        for name, value in parsed.items():
            if (text := _scalar(value)) is not None:
                found.append(FoundFact(_slot(name), text, 0.8, "answer_json"))
    for call in tool_calls or []:
        function = call.get("function", {})
        try:
            arguments = json.loads(function.get("arguments") or "{}")
        except ValueError:
            continue
        if not isinstance(arguments, dict):
            continue
        name = _slot(str(function.get("name", "tool")))
        for argument, value in arguments.items():
            if (text := _scalar(value)) is not None:
                found.append(FoundFact(f"{name}.{_slot(argument)}"[:64], text, 0.8, f"tool:{name}"))
    return found
