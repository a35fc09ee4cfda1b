"""Tool calls built from tabular rows: `template.tool_calls` over `template.tool_list`."""

from __future__ import annotations

import csv
import json
from pathlib import Path

import pytest
import yaml
from pydantic import ValidationError

from tunesmith.config import TemplateConfig
from tunesmith.config.workspace import Workspace
from tunesmith.data.curate import curate
from tunesmith.data.template import ChatTemplate

LOOKUP = {
    "type": "function",
    "function": {
        "name": "find_orders",
        "parameters": {
            "type": "object",
            "properties": {
                "email": {"type": "string"},
                "order_id": {"type": "string", "pattern": "^ORD-[0-9]{6}$"},
            },
            "required": ["email", "order_id"],
            "additionalProperties": False,
        },
    },
}
CALL = (
    '{"name": "find_orders", "arguments": '
    '{"email": {{ email | tojson }}, "order_id": {{ order_id | tojson }}}}'
)


def _workspace(root: Path, rows: list[dict[str, str]]) -> Workspace:
    (root / "raw").mkdir(parents=True)
    with (root / "raw" / "requests.csv").open("w", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=["id", "message", "email", "order_id"])
        writer.writeheader()
        writer.writerows(rows)
    config = {
        "data": {
            "name": "calls",
            "sources": [{"path": "raw/requests.csv", "id_field": "id"}],
            "template": {
                "system": "You are the order desk.",
                "user": "{{ message }} (from {{ email }})",
                "tool_calls": CALL,
                "tool_list": [LOOKUP],
            },
            "pii": {"skip_fields": ["id", "order_id"]},
            "split": {"val": 0.0, "test": 0.0},
        }
    }
    (root / "tunesmith.yaml").write_text(yaml.safe_dump(config))
    return Workspace(root)


def test_rows_become_checked_tool_call_records_with_the_same_placeholder(tmp_path: Path) -> None:
    rows = [
        {
            "id": f"r{i}",
            "message": f"Where are my orders, number {i}?",
            "email": f"jane{i}@example.com",
            "order_id": f"ORD-00000{i}",
        }
        for i in range(1, 5)
    ]
    rows.append(
        {
            "id": "bad",
            "message": "Where is my order please?",
            "email": "x@example.com",
            "order_id": "12",
        }
    )
    ws = _workspace(tmp_path / "ws", rows)
    result = curate(ws, ws.load_config().data, workers=1)
    counts = result.manifest["counts"]
    assert counts["kept"] == 4 and counts["quarantined"] == 1 and counts["reconciles"]
    (rejected,) = [json.loads(line) for line in (result.path / "quarantine.jsonl").open()]
    assert rejected["id"] == "bad"
    assert rejected["field"] == "messages[2].tool_calls[0].function.arguments.order_id"
    text = (result.path / "train.jsonl").read_text()
    assert "jane1@example.com" not in text
    record = json.loads(text.splitlines()[0])
    assert record["tools"] == [LOOKUP]
    call = record["messages"][-1]["tool_calls"][0]["function"]
    arguments = json.loads(call["arguments"])
    assert call["name"] == "find_orders" and arguments["email"] in record["messages"][1]["content"]
    assert arguments["email"].startswith("<EMAIL_ADDRESS")


def test_tool_calls_need_their_tool_list_and_a_bad_list_is_named() -> None:
    with pytest.raises(ValidationError, match="go together"):
        TemplateConfig(user="{{ a }}", tool_calls=CALL)
    bad = TemplateConfig(user="{{ a }}", tool_calls=CALL, tool_list=[{"type": "function"}])
    with pytest.raises(ValueError, match=r"data.template.tool_list"):
        ChatTemplate(bad)
