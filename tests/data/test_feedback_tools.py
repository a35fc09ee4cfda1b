"""Reviewed tool conversations through `curate --with-feedback`: checked like source records,
masked in contents, call arguments and tool results, their tools and calls kept."""

from __future__ import annotations

import json
from pathlib import Path

from tunesmith.config.workspace import Workspace
from tunesmith.data.curate import FeedbackInput, curate
from tunesmith.data.tool_checks import check_messages, parse_tools

EMAIL = "jane.doe@example.com"
FIND = {
    "type": "function",
    "function": {
        "name": "find_customer",
        "description": "Look a customer up",
        "parameters": {
            "type": "object",
            "properties": {"email": {"type": "string"}, "tier": {"enum": ["gold", "basic"]}},
            "required": ["email"],
            "additionalProperties": False,
        },
    },
}


def _call(call_id: str, arguments: dict) -> dict:
    return {
        "id": call_id,
        "type": "function",
        "function": {"name": "find_customer", "arguments": json.dumps(arguments)},
    }


def _reviewed(i: int, arguments: dict, result: str = '{"found": true}') -> dict:
    return {
        "messages": [
            {"role": "user", "content": f"Ticket {i}: my order {i} of the Voltway Trail is late"},
            {
                "role": "assistant",
                "content": None,
                "tool_calls": [_call(f"call_{i}", {"email": "someone@example.net"})],
            },
            {"role": "tool", "tool_call_id": f"call_{i}", "content": result},
            {
                "role": "assistant",
                "content": None,
                "tool_calls": [_call(f"call_fb{i}_0", arguments)],
            },
        ],
        "tools": [FIND],
        "meta": {
            "id": f"fb-chatcmpl-{i}",
            "interaction_id": f"chatcmpl-{i}",
            "decision": "correct",
        },
    }


def test_reviewed_tool_records_keep_tools_and_calls_and_lose_their_pii(workspace: Path) -> None:
    ws = Workspace(workspace)
    config = ws.load_config().data
    curate(ws, config)
    records = [_reviewed(i, {"email": f"c{i}@example.org", "tier": "gold"}) for i in range(6)]
    records.append(_reviewed(50, {"email": EMAIL}, result=f'{{"owner": "{EMAIL}"}}'))
    records.append(_reviewed(51, {"email": 7}))  # fails the tool's schema
    unknown = _reviewed(52, {"email": "x@example.org"})
    unknown["messages"][3]["tool_calls"][0]["function"]["name"] = "delete_everything"
    records.append(unknown)
    (workspace / "feedback").mkdir()
    lines = "\n".join(json.dumps(r) for r in records) + "\n"
    (workspace / "feedback" / "reviewed.jsonl").write_text(lines)

    second = curate(ws, config, feedback=FeedbackInput("feedback/reviewed.jsonl", 0.3))
    text = "".join((second.path / f"{s}.jsonl").read_text() for s in ("train", "feedback"))
    kept = [json.loads(x) for x in text.splitlines() if json.loads(x)["meta"]["id"][:3] == "fb-"]
    assert sorted(r["meta"]["id"] for r in kept) == sorted(
        f"fb-chatcmpl-{i}" for i in [*range(6), 50]
    )
    assert EMAIL not in text and "someone@example.net" not in text
    for record in kept:
        assert record["tools"] == [FIND]
        toolset = parse_tools(json.dumps(record["tools"]), "tools")
        assert check_messages(record["messages"], toolset) is None  # still a valid conversation
        call = record["messages"][-1]["tool_calls"][0]
        arguments = json.loads(call["function"]["arguments"])
        assert call["id"].startswith("call_fb") and "@" not in arguments["email"]
        if "tier" in arguments:
            assert arguments["tier"] == "gold"  # the tool's own value is not masked
    masked = next(r for r in kept if r["meta"]["id"] == "fb-chatcmpl-50")
    assert masked["meta"]["pii"] and "EMAIL_ADDRESS" in masked["messages"][2]["content"]
    quarantine = [json.loads(x) for x in (second.path / "quarantine.jsonl").open()]
    fb = {q["id"]: q for q in quarantine if q["source"] == "feedback/reviewed.jsonl"}
    assert set(fb) == {"fb-chatcmpl-51", "fb-chatcmpl-52"}
    assert fb["fb-chatcmpl-51"]["reason"].startswith("arguments fail the schema")
    assert fb["fb-chatcmpl-51"]["field"] == "messages[3].tool_calls[0].function.arguments.email"
    assert fb["fb-chatcmpl-52"]["reason"].startswith("unknown function")
