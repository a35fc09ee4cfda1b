"""Stage 6, format: Jinja2 templates map a row's fields to ChatML messages.

With `tool_calls` a template renders the assistant's calls from the row (JSON: one
`{"name", "arguments"}` object or a list of them) over `tool_list`'s tools; the record gets the
calls in the OpenAI shape and the tools, checked as a source conversation is (`tool_checks`).
"""

from __future__ import annotations

import json
from typing import Any

import jinja2
from jinja2 import meta

from tunesmith.config import TemplateConfig
from tunesmith.data.records import Rejection, Row
from tunesmith.data.tool_checks import Problem, ToolSet, check_messages, parse_tools

FORMAT_STAGE = "format"
ROLES = ("system", "user", "assistant")


class ChatTemplate:
    """Compiled templates; a missing field is an error, never an empty string."""

    def __init__(self, config: TemplateConfig) -> None:
        env = jinja2.Environment(undefined=jinja2.StrictUndefined, keep_trailing_newline=False)
        sources = {role: getattr(config, role) for role in ROLES}
        self.templates = {role: env.from_string(text) for role, text in sources.items() if text}
        self.calls = env.from_string(config.tool_calls) if config.tool_calls else None
        self.tools = config.tool_list or []
        self.toolset: ToolSet | None = None
        if self.calls is not None:
            checked = parse_tools(json.dumps(self.tools), "data.template.tool_list")
            if isinstance(checked, Problem):
                raise ValueError(f"{checked.field}: {checked.reason}")
            self.toolset = checked
        sources["tool_calls"] = config.tool_calls
        # Fields in order of first use (system, user, assistant), so masks number in reading order.
        joined = "\n".join(text for text in sources.values() if text)
        names = meta.find_undeclared_variables(env.parse(joined))
        self.fields = sorted(names, key=lambda name: (joined.find(name), name))
        self.verbatim: frozenset[str] = frozenset()  # fields read as they are (none: all text)

    def render(self, row: Row) -> list[dict[str, Any]] | Rejection:
        messages: list[dict[str, Any]] = []
        for role, template in self.templates.items():
            try:
                content = template.render(row.fields).strip()
            except jinja2.UndefinedError as err:
                missing = _missing_name(str(err.message))
                reason = f"template {role}: {err.message}"
                return Rejection(row.source, row.row, FORMAT_STAGE, reason, missing, row.id)
            except Exception as err:  # a filter on the wrong type, a bad format string...
                reason = f"template {role}: {type(err).__name__}: {err}"
                return Rejection(row.source, row.row, FORMAT_STAGE, reason, id=row.id)
            if not content and role != "system":
                reason = f"template {role}: renders empty"
                return Rejection(row.source, row.row, FORMAT_STAGE, reason, id=row.id)
            if content:
                messages.append({"role": role, "content": content})
        if self.calls is not None:
            return self._with_calls(row, messages)
        return messages

    def _with_calls(
        self, row: Row, messages: list[dict[str, Any]]
    ) -> list[dict[str, Any]] | Rejection:
        """The rendered calls as the assistant turn (its text, if any, as their content)."""
        assert self.calls is not None and self.toolset is not None
        try:
            value = json.loads(self.calls.render(row.fields))
        except jinja2.UndefinedError as err:
            reason = f"template tool_calls: {err.message}"
            missing = _missing_name(str(err.message))
            return Rejection(row.source, row.row, FORMAT_STAGE, reason, missing, row.id)
        except json.JSONDecodeError as err:
            reason = f"template tool_calls: renders no JSON ({err.msg})"
            return Rejection(row.source, row.row, FORMAT_STAGE, reason, id=row.id)
        calls = value if isinstance(value, list) else [value]
        if not calls or not all(isinstance(c, dict) for c in calls):
            reason = "template tool_calls: expected {name, arguments} objects"
            return Rejection(row.source, row.row, FORMAT_STAGE, reason, id=row.id)
        text = (
            messages.pop()["content"] if messages and messages[-1]["role"] == "assistant" else None
        )
        turn = {
            "role": "assistant",
            "content": text,
            "tool_calls": [
                {
                    "id": f"call_{i}",
                    "type": "function",
                    "function": {
                        "name": c.get("name"),
                        "arguments": json.dumps(c.get("arguments", {}), ensure_ascii=False),
                    },
                }
                for i, c in enumerate(calls, start=1)
            ],
        }
        messages.append(turn)
        problem = check_messages(messages, self.toolset)
        if problem is not None:
            return Rejection(
                row.source, row.row, FORMAT_STAGE, problem.reason, problem.field, row.id
            )
        return messages

    def prepare(self, row: Row) -> Rejection | None:
        return None  # a row's fields are the template's input as they are

    def record(self, row: Row) -> dict[str, Any] | Rejection:
        """The record's content: its rendered messages, or why they cannot be rendered."""
        messages = self.render(row)
        if isinstance(messages, Rejection):
            return messages
        return {"messages": messages, **({"tools": self.tools} if self.calls else {})}

    def check(self, row: Row) -> Rejection | None:
        """The rejection rendering `row` would give, or None."""
        rendered = self.render(row)
        return rendered if isinstance(rendered, Rejection) else None


def _missing_name(message: str) -> str | None:
    # jinja2 says "'subject' is undefined"
    if message.startswith("'") and "' is undefined" in message:
        return message[1 : message.index("' is undefined")]
    return None
