"""A split's rows as models are asked them: tool-calling references and message shapes."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tunesmith.config import TaskConfig
from tunesmith.data.rows import EvalInputError, read_rows

TOOLS = [
    {"type": "function", "function": {"name": "lookup_order", "parameters": {"type": "object"}}}
]
CALL = {
    "role": "assistant",
    "content": None,
    "tool_calls": [
        {
            "id": "c1",
            "type": "function",
            "function": {"name": "lookup_order", "arguments": '{"order_id": "A"}'},
        }
    ],
}
TOOL_TASK = TaskConfig(type="tool_calling")


def write(tmp_path: Path, *records: dict) -> Path:
    path = tmp_path / "test.jsonl"
    path.write_text("".join(json.dumps(r) + "\n" for r in records))
    return path


def test_a_tool_calling_row_keeps_its_tools_and_its_calls_as_the_reference(tmp_path: Path) -> None:
    user = {"role": "developer", "content": [{"type": "text", "text": "Be brief."}]}
    path = write(
        tmp_path,
        {"messages": [user, {"role": "user", "content": "where is A?"}, CALL], "tools": TOOLS},
        {
            "messages": [
                {"role": "user", "content": "hours?"},
                {"role": "assistant", "content": "9-5"},
            ],
            "tools": TOOLS,
        },
    )
    call_row, text_row = read_rows(path, TOOL_TASK)
    assert json.loads(call_row.reference) == [
        {"name": "lookup_order", "arguments": {"order_id": "A"}}
    ]
    assert call_row.tools == TOOLS and call_row.user_text == "where is A?"
    assert json.loads(text_row.reference) == []


def test_a_tool_calling_row_without_tools_or_with_an_unknown_call_names_the_field(
    tmp_path: Path,
) -> None:
    messages = [{"role": "user", "content": "where is A?"}, CALL]
    with pytest.raises(EvalInputError, match=r"row 1: field 'tools'"):
        read_rows(write(tmp_path, {"messages": messages}), TOOL_TASK)
    other = [{"type": "function", "function": {"name": "refund", "parameters": {}}}]
    with pytest.raises(EvalInputError, match=r"messages\[-1\].tool_calls': no tool 'lookup_order'"):
        read_rows(write(tmp_path, {"messages": messages, "tools": other}), TOOL_TASK)
