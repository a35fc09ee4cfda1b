"""Rows of a dataset split as a model is asked them (eval, win rates, preference candidates):
the prompt a model sees, the reference answer, the gold label, the meta."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from tunesmith.config import TaskConfig
from tunesmith.models.labels import parse_json, parse_label
from tunesmith.models.load import ModelInputError
from tunesmith.models.tools import ToolFormatError, functions, message_calls, message_text

ROLES = ("system", "developer", "user", "assistant", "tool")


class EvalInputError(ModelInputError):
    """Evaluation data or settings that cannot be used; the message names file, row and field."""


@dataclass(frozen=True)
class EvalRow:
    id: str
    prompt: list[dict[str, Any]]
    reference: str  # a tool-calling row's: its calls as JSON, [] when it answers in text
    label: str | None
    meta: dict[str, Any]
    tools: list[dict[str, Any]] | None = None

    @property
    def user_text(self) -> str:
        return next(message_text(m) for m in reversed(self.prompt) if m["role"] == "user")


def _is_json_object(text: str) -> bool:
    try:
        return isinstance(parse_json(text), dict)
    except json.JSONDecodeError:
        return False


def _row(record: Any, where: str, task: TaskConfig) -> EvalRow:
    if not isinstance(record, dict) or not isinstance(record.get("messages"), list):
        raise EvalInputError(f"{where}: field 'messages': expected a list of messages")
    messages = record["messages"]
    if (
        not messages
        or not isinstance(messages[-1], dict)
        or messages[-1].get("role") != "assistant"
    ):
        raise EvalInputError(
            f"{where}: field 'messages': the last message must be the assistant's reference answer"
        )
    for i, message in enumerate(messages):
        calls = isinstance(message, dict) and message.get("tool_calls")
        content = message.get("content") if isinstance(message, dict) else None
        parts = isinstance(content, list) and all(isinstance(p, dict) for p in content)
        if not isinstance(content, str) and not parts and not (calls and content is None):
            raise EvalInputError(
                f"{where}: field 'messages[{i}].content': expected a string or text parts"
            )
        if message.get("role") not in ROLES:
            raise EvalInputError(
                f"{where}: field 'messages[{i}].role': expected one of {list(ROLES)}, "
                f"got {message.get('role')!r}"
            )
    if not any(m["role"] == "user" for m in messages[:-1]):
        raise EvalInputError(f"{where}: field 'messages': no user message before the answer")
    meta = record.get("meta") or {}
    if not isinstance(meta, dict):
        raise EvalInputError(f"{where}: field 'meta': expected an object")
    reference = message_text(messages[-1])
    tools = record.get("tools")
    if task.type == "tool_calling":
        reference, tools = _tool_reference(record, where)
    if task.type == "extraction" and not _is_json_object(reference):
        raise EvalInputError(
            f"{where}: field 'messages[-1].content': an extraction reference must be a JSON object"
        )
    label = None
    if task.type == "classification":
        assert task.labels is not None
        if task.label_field:
            label = meta.get(task.label_field)
            if label not in task.labels:
                raise EvalInputError(
                    f"{where}: field 'meta.{task.label_field}': {label!r} is not one of "
                    f"task.labels {task.labels}"
                )
        else:
            label = parse_label(reference, task.labels, task.answer_prefix)
            if label is None:
                raise EvalInputError(
                    f"{where}: field 'messages[-1].content': the reference answer does not start "
                    f"with '{task.answer_prefix}<label>' for any of {task.labels}"
                )
    return EvalRow(str(meta.get("id", where)), messages[:-1], reference, label, meta, tools)


def _tool_reference(record: dict[str, Any], where: str) -> tuple[str, list[dict[str, Any]]]:
    """The gold calls of the last turn as JSON, and the record's tools, both checked."""
    tools = record.get("tools")
    if not isinstance(tools, list) or not tools:
        raise EvalInputError(f"{where}: field 'tools': a tool-calling record needs its tool list")
    try:
        names = {f["name"] for f in functions(tools)}
        calls = message_calls(record["messages"][-1], "messages[-1]")
    except ToolFormatError as err:
        raise EvalInputError(f"{where}: field {err}") from None
    unknown = [c.name for c in calls if c.name not in names]
    if unknown:
        raise EvalInputError(f"{where}: field 'messages[-1].tool_calls': no tool '{unknown[0]}'")
    gold = [{"name": c.name, "arguments": c.arguments} for c in calls]
    return json.dumps(gold, ensure_ascii=False), tools


def read_rows(path: Path, task: TaskConfig) -> list[EvalRow]:
    """Every record of a ChatML JSONL file; the first bad one stops with file, row and field."""
    if not path.is_file():
        raise EvalInputError(f"{path}: not found")
    rows = []
    with path.open("rb") as handle:
        for number, raw in enumerate(handle, start=1):
            where = f"{path}: row {number}"
            try:
                line = raw.decode("utf-8")
            except UnicodeDecodeError as err:
                raise EvalInputError(
                    f"{where}: not UTF-8 ({err.reason} at byte {err.start})"
                ) from None
            if not line.strip():
                continue
            try:
                record = json.loads(line)
            except json.JSONDecodeError as err:
                raise EvalInputError(f"{where}: not valid JSON ({err.msg})") from None
            rows.append(_row(record, where, task))
    if not rows:
        raise EvalInputError(f"{path}: no records to evaluate")
    return rows
