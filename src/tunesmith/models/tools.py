"""Tools and tool calls in the chat template: the one serialisation that training, evaluation
and the server share, so a model is served in the format it was trained in.

Conversations are in the OpenAI chat shape: a `tools` list of JSON-schema functions, assistant
turns with `tool_calls` (arguments as a JSON string), `tool` turns answering a `tool_call_id`.
A base model whose chat template takes `tools` renders that shape itself. Any other template
(SmolLM2's plain ChatML) gets text turns: the tool list in the system turn as signatures
(`lookup_order(order_id: string): Get an order.`), each call as
`<tool_call>{"name": ..., "arguments": {...}}</tool_call>` in the assistant turn, each result
as `<tool_response name="...">...</tool_response>` in a `tool` turn. The grammar that keeps
calls valid (`tool_call_tag`) is written against the same strings.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from typing import Any

CALL_OPEN, CALL_CLOSE = "<tool_call>", "</tool_call>"
_CALL_BLOCK = re.compile(re.escape(CALL_OPEN) + r"(.*?)(?:" + re.escape(CALL_CLOSE) + r"|$)", re.S)

Tool = dict[str, Any]  # {"type": "function", "function": {"name", "description", "parameters"}}


class ToolFormatError(ValueError):
    """A conversation or tool list this serialisation cannot render; the message names where."""


@dataclass(frozen=True)
class Call:
    """One function call: a name and its parsed arguments."""

    name: str
    arguments: dict[str, Any]

    def text(self) -> str:
        body = json.dumps({"name": self.name, "arguments": self.arguments}, ensure_ascii=False)
        return f"{CALL_OPEN}{body}{CALL_CLOSE}"


@dataclass(frozen=True)
class Answer:
    """An assistant answer read back: its text without the calls, the calls, the unreadable."""

    content: str
    calls: list[Call] = field(default_factory=list)
    malformed: list[str] = field(default_factory=list)


def functions(tools: list[Tool]) -> list[dict[str, Any]]:
    """The function objects of `tools` (name, description, parameters)."""
    out = []
    for i, tool in enumerate(tools):
        function = tool.get("function") if isinstance(tool, dict) else None
        if not isinstance(function, dict) or not isinstance(function.get("name"), str):
            raise ToolFormatError(
                f"tools[{i}]: expected {{'type': 'function', 'function': {{...}}}}"
            )
        out.append(function)
    return out


def schema_text(schema: Any) -> str:
    """A JSON schema as a TypeScript-like type: `string`, `"a" | "b"`, `{id: string, n?: number}`,
    `string[]`; what it cannot shorten stays compact JSON."""
    if not isinstance(schema, dict) or not schema:
        return "any"
    if "enum" in schema:
        return " | ".join(json.dumps(v, ensure_ascii=False) for v in schema["enum"])
    if "const" in schema:
        return json.dumps(schema["const"], ensure_ascii=False)
    for key in ("anyOf", "oneOf"):
        if isinstance(schema.get(key), list):
            return " | ".join(schema_text(s) for s in schema[key])
    kind = schema.get("type")
    if isinstance(kind, list):
        return " | ".join(schema_text({**schema, "type": k}) for k in kind)
    if kind == "array":
        item = schema_text(schema.get("items"))
        return f"({item})[]" if " | " in item else f"{item}[]"
    if kind == "object" or "properties" in schema:
        return "{" + ", ".join(_fields(schema)) + "}"
    if isinstance(kind, str):
        return kind
    return json.dumps(schema, ensure_ascii=False, separators=(",", ":"))


def _fields(schema: dict[str, Any]) -> list[str]:
    required = set(schema.get("required") or [])
    fields = []
    for name, prop in (schema.get("properties") or {}).items():
        text = f"{name}{'' if name in required else '?'}: {schema_text(prop)}"
        if isinstance(prop, dict) and prop.get("description"):
            text += f" /* {prop['description']} */"
        fields.append(text)
    return fields


def signature(function: dict[str, Any]) -> str:
    """One function as a line: `name(arg: type, optional?: type): description`."""
    parameters = function.get("parameters") or {}
    fields = ", ".join(_fields(parameters)) if isinstance(parameters, dict) else ""
    description = str(function.get("description") or "").strip()
    return f"{function['name']}({fields})" + (f": {description}" if description else "")


def tools_text(tools: list[Tool]) -> str:
    """The system-turn description of `tools`: how to call, then one signature per line."""
    # signatures, not JSON schemas: the list is in every prompt, and a signature takes a
    # third of the tokens; patterns and bounds are left to the grammar that constrains calls
    listed = "\n".join(signature(f) for f in functions(tools))
    return (
        "You can call these functions. To call one, answer with "
        f'{CALL_OPEN}{{"name": <function name>, "arguments": <arguments object>}}{CALL_CLOSE}; '
        "several calls go one after another. When no function fits, answer in plain text.\n"
        f"Functions:\n{listed}"
    )


def message_text(message: dict[str, Any]) -> str:
    """A message's content as text (a string, a list of text parts, or none)."""
    content = message.get("content")
    if content is None:
        return ""
    if isinstance(content, str):
        return content
    return "".join(part.get("text", "") for part in content if isinstance(part, dict))


def message_calls(message: dict[str, Any], where: str = "message") -> list[Call]:
    """The calls of an assistant message, arguments parsed; ToolFormatError names the bad one."""
    calls = []
    for j, call in enumerate(message.get("tool_calls") or []):
        function = call.get("function") if isinstance(call, dict) else None
        if not isinstance(function, dict) or not isinstance(function.get("name"), str):
            raise ToolFormatError(f"{where}.tool_calls[{j}]: no function name")
        arguments = function.get("arguments", "{}")
        if isinstance(arguments, str):
            try:
                arguments = json.loads(arguments or "{}")
            except json.JSONDecodeError as err:
                raise ToolFormatError(
                    f"{where}.tool_calls[{j}].function.arguments: not JSON ({err.msg})"
                ) from None
        if not isinstance(arguments, dict):
            raise ToolFormatError(f"{where}.tool_calls[{j}].function.arguments: not an object")
        calls.append(Call(function["name"], arguments))
    return calls


def uses_tools(messages: list[dict[str, Any]], tools: list[Tool] | None) -> bool:
    return bool(tools) or any(m.get("tool_calls") or m.get("role") == "tool" for m in messages)


def text_turns(messages: list[dict[str, Any]], tools: list[Tool] | None) -> list[dict[str, str]]:
    """The conversation as plain-text turns for a template that knows no tools."""
    names: dict[str, str] = {}  # tool_call_id -> function name, for the result turns
    turns: list[dict[str, str]] = []
    for i, message in enumerate(messages):
        role = "system" if message.get("role") == "developer" else str(message.get("role"))
        content = message_text(message)
        if role == "assistant" and message.get("tool_calls"):
            calls = message_calls(message, f"messages[{i}]")
            for raw, call in zip(message["tool_calls"], calls, strict=True):
                names[str(raw.get("id", ""))] = call.name
            content = "\n".join([content.strip(), *(c.text() for c in calls)]).strip()
        elif role == "tool":
            name = names.get(str(message.get("tool_call_id", "")), message.get("name") or "")
            content = f'<tool_response name="{name}">{content}</tool_response>'
        turns.append({"role": role, "content": content})
    if tools:
        description = tools_text(tools)
        if turns and turns[0]["role"] == "system":
            turns[0] = {"role": "system", "content": f"{turns[0]['content']}\n\n{description}"}
        else:
            turns.insert(0, {"role": "system", "content": description})
    return turns


def native_tool_template(tokenizer: Any) -> bool:
    """Whether the tokenizer's chat template renders `tools` and `tool_calls` itself."""
    template = getattr(tokenizer, "chat_template", None)
    return isinstance(template, str) and "tools" in template and "tool_calls" in template


def template_inputs(
    tokenizer: Any, messages: list[dict[str, Any]], tools: list[Tool] | None
) -> tuple[list[dict[str, Any]], dict[str, Any]]:
    """Messages and extra keyword arguments for `apply_chat_template`."""
    if not uses_tools(messages, tools):
        if all(isinstance(m.get("content"), str) for m in messages):
            return messages, {}
        return [{**m, "content": message_text(m)} for m in messages], {}  # text parts
    if not native_tool_template(tokenizer):
        return text_turns(messages, tools), {}
    shaped = []
    for i, message in enumerate(messages):
        if message.get("tool_calls"):
            calls = message_calls(message, f"messages[{i}]")
            raw = message["tool_calls"]
            message = {
                **message,
                "content": message_text(message),
                "tool_calls": [
                    {**r, "function": {"name": c.name, "arguments": c.arguments}}
                    for r, c in zip(raw, calls, strict=True)
                ],
            }
        shaped.append(message)
    return shaped, ({"tools": tools} if tools else {})


def parse_answer(text: str, names: set[str] | None = None) -> Answer:
    """Calls in a generated answer: tagged blocks, or the whole answer as one bare call object
    (the shape some native templates use); a block that does not read as a call is malformed."""
    calls: list[Call] = []
    malformed: list[str] = []
    bodies = [m.group(1).strip() for m in _CALL_BLOCK.finditer(text)]
    content = _CALL_BLOCK.sub("", text).strip()
    if not bodies and text.strip().startswith("{"):
        bodies, content = [text.strip()], ""
    for body in bodies:
        try:
            value = json.loads(
                body, strict=False
            )  # the grammar lets raw control characters into strings
        except json.JSONDecodeError:
            malformed.append(body)
            continue
        arguments = (
            value.get("arguments", value.get("parameters")) if isinstance(value, dict) else None
        )
        name = value.get("name") if isinstance(value, dict) else None
        if isinstance(arguments, str):
            try:
                arguments = json.loads(arguments)
            except json.JSONDecodeError:
                arguments = None
        known = isinstance(name, str) and (names is None or name in names)
        if not known or not isinstance(arguments, dict):
            malformed.append(body)
        else:
            calls.append(Call(name, arguments))
    return Answer(content, calls, malformed)


def openai_tool_calls(calls: list[Call], ids: list[str]) -> list[dict[str, Any]]:
    """Calls in the OpenAI message shape (arguments as a JSON string)."""
    return [
        {
            "id": call_id,
            "type": "function",
            "function": {"name": c.name, "arguments": json.dumps(c.arguments, ensure_ascii=False)},
        }
        for c, call_id in zip(calls, ids, strict=True)
    ]


def tool_call_tag(
    tools: list[Tool], required: bool = False, only: str | None = None, single: bool = False
) -> dict[str, Any]:
    """An xgrammar structural tag: free text, and every `<tool_call>` that starts is a call of
    one of `tools` (or `only`) whose arguments follow its JSON schema. `required` asks for at
    least one call; `single` ends the answer after the first."""
    tags = [
        {
            "begin": f'{CALL_OPEN}{{"name": {json.dumps(f["name"])}, "arguments": ',
            # one space at most between JSON tokens, as json.dumps writes them: a model
            # cannot pad a call until it runs out of tokens
            "content": {
                "type": "json_schema",
                "json_schema": f.get("parameters") or {},
                "max_whitespace_cnt": 1,
            },
            "end": f"}}{CALL_CLOSE}",
        }
        for f in functions(tools)
        if only is None or f["name"] == only
    ]
    if not tags:
        raise ToolFormatError(f"no tool named '{only}'")
    return {
        "type": "structural_tag",
        "format": {
            "type": "triggered_tags",
            "triggers": [CALL_OPEN],
            "tags": tags,
            "at_least_one": required,
            "stop_after_first": single,
        },
    }
