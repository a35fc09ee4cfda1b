"""Stage 6, format: Jinja2 templates map a row's fields to ChatML messages."""

from __future__ import annotations

from typing import Any

import jinja2
from jinja2 import meta

from tunesmith.config import TemplateConfig
from tunesmith.data.records import Rejection, Row

FORMAT_STAGE = "format"
ROLES = ("system", "user", "assistant")


class ChatTemplate:
    """Compiled templates; a missing field is an error, never an empty string."""

    def __init__(self, config: TemplateConfig) -> None:
        env = jinja2.Environment(undefined=jinja2.StrictUndefined, keep_trailing_newline=False)
        sources = {role: getattr(config, role) for role in ROLES}
        self.templates = {role: env.from_string(text) for role, text in sources.items() if text}
        # Fields in order of first use (system, user, assistant), so masks number in reading order.
        joined = "\n".join(text for text in sources.values() if text)
        names = meta.find_undeclared_variables(env.parse(joined))
        self.fields = sorted(names, key=lambda name: (joined.find(name), name))
        self.verbatim: frozenset[str] = frozenset()  # fields read as they are (none: all text)

    def render(self, row: Row) -> list[dict[str, str]] | Rejection:
        messages = []
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
        return messages

    def prepare(self, row: Row) -> Rejection | None:
        return None  # a row's fields are the template's input as they are

    def record(self, row: Row) -> dict[str, Any] | Rejection:
        """The record's content: its rendered messages, or why they cannot be rendered."""
        messages = self.render(row)
        return messages if isinstance(messages, Rejection) else {"messages": messages}

    def check(self, row: Row) -> Rejection | None:
        """The rejection rendering `row` would give, or None."""
        rendered = self.render(row)
        return rendered if isinstance(rendered, Rejection) else None


def _missing_name(message: str) -> str | None:
    # jinja2 says "'subject' is undefined"
    if message.startswith("'") and "' is undefined" in message:
        return message[1 : message.index("' is undefined")]
    return None
