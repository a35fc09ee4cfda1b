"""Conversation mode of the format stage: records that already are OpenAI chats, with tools.

With `data.template.messages` a record's field holds the conversation itself, which is taken
as it is: no template renders it and no text of it is tidied. `prepare` checks it
(`tool_checks`), then lays its text out for the row stages that follow:

- every string leaf a person wrote or a tool returned becomes a field of its own
  (`messages.0.content`, `messages.2.tool_calls.0.function.arguments.email`), which the PII
  stage masks as one record, so a value gets the same placeholder wherever it appears (an
  argument whose schema is an `enum` or `const` is the tool's own value and stays);
- the messages field itself then holds the compared text: the user turns and the calls
  (names and arguments), what dedup and the quality rules read.

`record` puts the masked leaves back into the conversation. The tools are never masked; an
arguments value stays a JSON string, re-encoded only when a value in it was masked.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

from tunesmith.config import DataConfig, TemplateConfig
from tunesmith.data.parallel import ScanFields
from tunesmith.data.records import Rejection, Row
from tunesmith.data.template import FORMAT_STAGE, ChatTemplate
from tunesmith.data.tool_checks import Problem, check_messages, parse_tools
from tunesmith.models.tools import functions, message_calls, message_text

Where = tuple[Any, ...]  # ("content", i) | ("part", i, k) | ("name", i) | ("arg", i, j, *keys)


@dataclass
class Conversation:
    """A checked conversation, its tools, and where each masked field's text goes back."""

    messages: list[dict[str, Any]]
    tools: list[dict[str, Any]]
    leaves: dict[str, Where] = field(default_factory=dict)
    arguments: dict[tuple[int, int], dict[str, Any]] = field(default_factory=dict)


def _subschema(schema: Any, key: str | int) -> Any:
    """The schema of `key` in an object (`properties`) or array (`items`); None if unknown."""
    if not isinstance(schema, dict):
        return None
    if isinstance(key, str):
        properties = schema.get("properties")
        return properties.get(key) if isinstance(properties, dict) else None
    items = schema.get("items")
    return items if isinstance(items, dict) else None


def _argument_leaves(
    value: Any, schema: Any, name: str, where: Where, out: dict[str, Where]
) -> None:
    if isinstance(schema, dict) and ("enum" in schema or "const" in schema):
        return  # a value the tool itself lists is no one's personal data, and masking breaks it
    if isinstance(value, str):
        out[name] = where
    elif isinstance(value, dict):
        for key, item in value.items():
            _argument_leaves(item, _subschema(schema, key), f"{name}.{key}", (*where, key), out)
    elif isinstance(value, list):
        for k, item in enumerate(value):
            _argument_leaves(item, _subschema(schema, k), f"{name}.{k}", (*where, k), out)


def _lay_out(
    messages: list[dict[str, Any]], tools: list[dict[str, Any]], prefix: str
) -> Conversation:
    conversation = Conversation(messages, tools)
    leaves = conversation.leaves
    parameters = {f["name"]: f.get("parameters") for f in functions(tools)}
    for i, message in enumerate(messages):
        at = f"{prefix}.{i}"
        if message["role"] != "tool" and isinstance(message.get("name"), str):
            leaves[f"{at}.name"] = ("name", i)  # a participant's name; a tool turn's is a function
        content = message.get("content")
        if isinstance(content, str):
            leaves[f"{at}.content"] = ("content", i)
        elif isinstance(content, list):
            for k in range(len(content)):
                leaves[f"{at}.content.{k}.text"] = ("part", i, k)
        if message["role"] == "assistant" and message.get("tool_calls"):
            for j, call in enumerate(message_calls(message, at)):
                conversation.arguments[(i, j)] = call.arguments
                name = f"{at}.tool_calls.{j}.function.arguments"
                schema = parameters.get(call.name)
                _argument_leaves(call.arguments, schema, name, ("arg", i, j), leaves)
    return conversation


def compared_text(conversation: Conversation) -> str:
    """The user turns and the calls in order: what dedup compares and quality measures."""
    parts = []
    for i, message in enumerate(conversation.messages):
        if message["role"] == "user":
            parts.append(message_text(message))
        j = 0
        while (i, j) in conversation.arguments:
            name = message["tool_calls"][j]["function"]["name"]
            arguments = json.dumps(
                conversation.arguments[(i, j)], sort_keys=True, ensure_ascii=False
            )
            parts.append(f"{name} {arguments}")
            j += 1
    return "\n".join(parts)


class ConversationTemplate:
    """The format stage for conversation records; the row stages see its fields as text."""

    def __init__(self, config: TemplateConfig) -> None:
        if config.messages is None:
            raise ValueError("a conversation template needs data.template.messages")
        self.messages_field = config.messages
        self.tools_field = config.tools
        self.fields = [config.messages]  # required, length-checked, and compared
        # read without sorting keys: a conversation and its tool schemas keep their order
        self.verbatim = frozenset(f for f in (config.messages, config.tools) if f)

    def _reject(self, row: Row, problem: Problem) -> Rejection:
        return Rejection(row.source, row.row, FORMAT_STAGE, problem.reason, problem.field, row.id)

    def prepare(self, row: Row) -> Rejection | None:
        """Check the row's conversation and lay its text out as fields (see the module)."""
        raw_tools = row.fields.get(self.tools_field, "") if self.tools_field else ""
        toolset = parse_tools(raw_tools, self.tools_field or "tools")
        if isinstance(toolset, Problem):
            return self._reject(row, toolset)
        try:
            messages = json.loads(row.fields[self.messages_field])
        except json.JSONDecodeError as err:
            return self._reject(row, Problem(self.messages_field, f"messages not JSON: {err.msg}"))
        problem = check_messages(messages, toolset, self.messages_field)
        if problem is not None:
            return self._reject(row, problem)
        conversation = _lay_out(messages, toolset.tools, self.messages_field)
        row.data = conversation
        for name, where in conversation.leaves.items():
            row.fields[name] = _get(conversation, where)
        row.fields[self.messages_field] = compared_text(conversation)
        return None

    def check(self, row: Row) -> Rejection | None:
        return None  # `prepare` checked everything there is

    def scan(self, row: Row) -> list[str]:
        """The fields PII masking reads for this row: its conversation's text leaves."""
        assert isinstance(row.data, Conversation)
        return list(row.data.leaves)

    def record(self, row: Row) -> dict[str, Any]:
        """The conversation with the row's (masked) leaves put back, and its tools."""
        conversation = row.data
        assert isinstance(conversation, Conversation)
        changed: set[tuple[int, int]] = set()
        for name, where in conversation.leaves.items():
            value = row.fields[name]
            if value == _get(conversation, where):
                continue
            kind, i = where[0], where[1]
            message = conversation.messages[i]
            if kind in ("content", "name"):
                message[kind] = value
            elif kind == "part":
                message["content"][where[2]]["text"] = value
            else:
                target: Any = conversation.arguments[(i, where[2])]
                for key in where[3:-1]:
                    target = target[key]
                target[where[-1]] = value
                changed.add((i, where[2]))
        for (i, j), arguments in conversation.arguments.items():
            function = conversation.messages[i]["tool_calls"][j]["function"]
            if (i, j) in changed or not isinstance(function.get("arguments"), str):
                function["arguments"] = json.dumps(arguments, ensure_ascii=False)
        out: dict[str, Any] = {"messages": conversation.messages}
        if conversation.tools:
            out["tools"] = conversation.tools
        return out


def _get(conversation: Conversation, where: Where) -> str:
    kind, i = where[0], where[1]
    message = conversation.messages[i]
    if kind in ("content", "name"):
        return message[kind]
    if kind == "part":
        return message["content"][where[2]]["text"]
    value: Any = conversation.arguments[(i, where[2])]
    for key in where[3:]:
        value = value[key]
    return value


Template = ChatTemplate | ConversationTemplate


def make_template(config: DataConfig) -> Template:
    """Conversations taken as they are (`template.messages`), or rows through Jinja2."""
    if config.template.messages is not None:
        return ConversationTemplate(config.template)
    return ChatTemplate(config.template)


def scan_fields(config: DataConfig, template: Template) -> ScanFields:
    """The fields PII masking reads: the template's and meta fields, or per conversation its
    text leaves (never its tools) and the meta fields."""
    skip = config.pii.skip_fields
    if isinstance(template, ChatTemplate):
        required = dict.fromkeys([*template.fields, *config.meta_fields])
        return [f for f in required if f not in skip]
    meta = [f for f in config.meta_fields if f not in skip]
    if template.messages_field in skip:
        return meta
    return lambda row: [*template.scan(row), *meta]
