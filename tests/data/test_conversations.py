"""Conversation mode of curate: tool-use records in the OpenAI shape, checked, masked, deduped."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
import yaml
from pydantic import ValidationError

from tunesmith.config import PiiConfig, TemplateConfig
from tunesmith.config.workspace import Workspace
from tunesmith.data.conversation import ConversationTemplate
from tunesmith.data.curate import curate
from tunesmith.data.parallel import mask_rows
from tunesmith.data.records import Row

ASSET = Path(__file__).parents[1] / "assets" / "tools" / "conversations.jsonl"
SPLITS = ("train", "val", "test")
BAD = {
    "bad-unknown-function": (
        "messages[1].tool_calls[0].function.name",
        "unknown function: 'cancel_order' is not in the record's tools",
    ),
    "bad-not-json": ("messages[1].tool_calls[0].function.arguments", "bad call: not JSON"),
    "bad-type": (
        "messages[1].tool_calls[0].function.arguments.amount",
        "arguments fail the schema of 'refund': type: 'ten' is not of type 'number'",
    ),
    "bad-required": (
        "messages[1].tool_calls[0].function.arguments.amount",
        "arguments fail the schema of 'refund': required: 'amount' is a required property",
    ),
    "bad-enum": (
        "messages[1].tool_calls[0].function.arguments.reason",
        "arguments fail the schema of 'refund': enum: 'broken' is not one of",
    ),
    "bad-call-id": ("messages[2].tool_call_id", "unmatched tool result: 'c9'"),
    "bad-role": ("messages[1].role", "unknown role: 'robot'"),
    "bad-unanswered": ("messages[1].tool_calls[0].id", "unanswered call: 'c1'"),
    "bad-tool-schema": ("tools[0].function.parameters.type", "bad tool schema: "),
}
GOOD = ("good-simple", "good-parallel", "good-multistep", "good-irrelevant", "other-call")


def _workspace(root: Path) -> Workspace:
    (root / "raw").mkdir(parents=True)
    shutil.copy(ASSET, root / "raw" / "conversations.jsonl")
    config = {
        "data": {
            "name": "tools",
            "sources": [{"path": "raw/conversations.jsonl", "id_field": "id"}],
            "template": {"messages": "messages", "tools": "tools"},
        }
    }
    (root / "tunesmith.yaml").write_text(yaml.safe_dump(config))
    return Workspace(root)


@pytest.fixture(scope="module")
def curated(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict]:
    ws = _workspace(tmp_path_factory.mktemp("tools") / "ws")
    result = curate(ws, ws.load_config().data, workers=1)
    return result.path, result.manifest


def _records(version: Path) -> dict[str, dict]:
    lines = [
        line
        for split in SPLITS
        for line in (version / f"{split}.jsonl").read_text(encoding="utf-8").splitlines()
    ]
    return {r["meta"]["id"]: r for r in map(json.loads, lines)}


def test_bad_conversations_are_quarantined_with_field_paths(curated: tuple[Path, dict]) -> None:
    version, manifest = curated
    quarantine = [json.loads(q) for q in (version / "quarantine.jsonl").read_text().splitlines()]
    found = {q["id"]: q for q in quarantine}
    assert set(found) == set(BAD)
    for record_id, (field, reason) in BAD.items():
        entry = found[record_id]
        assert entry["source"] == "raw/conversations.jsonl" and entry["stage"] == "format"
        assert entry["field"] == field, record_id
        assert entry["reason"].startswith(reason), (record_id, entry["reason"])
    rows = {json.loads(line)["id"]: n for n, line in enumerate(ASSET.open(), start=1)}
    assert all(q["row"] == rows[q["id"]] for q in quarantine)

    assert set(_records(version)) == set(GOOD)
    counts = manifest["counts"]
    assert counts["read"] == 15 and counts["kept"] == 5 and counts["quarantined"] == 9
    assert counts["duplicates"] == {"exact": 1, "near": 0}
    assert counts["reconciles"] is True


def test_records_are_openai_conversations_with_their_tools(curated: tuple[Path, dict]) -> None:
    version, _ = curated
    raw = {json.loads(line)["id"]: json.loads(line) for line in ASSET.open()}
    records = _records(version)
    for record_id, record in records.items():
        assert list(record) == ["messages", "tools", "meta"]
        assert record["tools"] == raw[record_id]["tools"]
        # taken as it is: key order of the schemas too, not the reader's sorted JSON
        params = record["tools"][0]["function"]["parameters"]
        assert list(params["properties"]) == ["order_id", "amount", "reason"]
    simple = records["good-simple"]
    assert simple["messages"] == raw["good-simple"]["messages"]
    assert simple["messages"][-1]["content"] is None
    parallel = records["good-parallel"]["messages"]
    assert [m["role"] for m in parallel] == ["user", "assistant", "tool", "tool", "assistant"]
    assert records["good-irrelevant"]["messages"][-1].keys() == {"role", "content"}


def test_pii_is_masked_in_turns_arguments_and_tool_results(curated: tuple[Path, dict]) -> None:
    version, manifest = curated
    text = "".join((version / f"{s}.jsonl").read_text(encoding="utf-8") for s in SPLITS)
    assert "maria.garcia@example.com" not in text and "Garcia" not in text
    record = _records(version)["good-multistep"]
    messages = record["messages"]
    email = "<EMAIL_ADDRESS_1>"
    assert email in messages[0]["content"] and "<PERSON_1>" in messages[0]["content"]
    lookup = json.loads(messages[1]["tool_calls"][0]["function"]["arguments"])
    assert lookup == {"email": email}  # the same value, the same placeholder
    result = json.loads(messages[2]["content"])
    assert result["email"] == email and result["customer"] == "<PERSON_1>"
    sent = json.loads(messages[3]["tool_calls"][0]["function"]["arguments"])
    assert sent["to"] == email and "<PERSON_1>" in sent["body"]
    assert record["meta"]["pii"]["EMAIL_ADDRESS"] == 4
    # calls without personal data keep their arguments string exactly
    raw = [json.loads(line) for line in ASSET.open()][1]
    assert _records(version)["good-parallel"]["messages"] == raw["messages"]
    assert manifest["pii_found"]["EMAIL_ADDRESS"] == 4


def test_dedup_compares_the_calls(curated: tuple[Path, dict]) -> None:
    _, manifest = curated
    (cluster,) = manifest["duplicate_clusters"]
    assert cluster["kept"]["id"] == "good-simple"
    assert [m["id"] for m in cluster["members"]] == ["dup-of-simple"]
    # "other-call" repeats the user turn with another amount: kept (checked above)


def test_template_is_rows_or_conversations() -> None:
    assert TemplateConfig(user="{{ q }}").messages is None
    assert TemplateConfig(messages="messages", tools="tools").user is None
    for bad in (
        {},
        {"user": "{{ q }}", "messages": "messages"},
        {"user": "{{ q }}", "tools": "tools"},
        {"messages": "messages", "assistant": "{{ a }}"},
    ):
        with pytest.raises(ValidationError):
            TemplateConfig(**bad)
    # an unset conversation mode leaves the config snapshot (and fingerprints) as before
    assert set(TemplateConfig(user="{{ q }}").model_dump()) == {"system", "user", "assistant"}


def test_mask_rows_reads_fields_per_row_in_the_process_pool() -> None:
    rows = [
        Row("s", i, str(i), {"a": f"Mail jo{i}@example.com now", "b": f"jo{i}@example.com"})
        for i in range(6)
    ]
    scan = {i: ["a", "b"] if i % 2 else ["a"] for i in range(6)}
    out = list(mask_rows(rows, PiiConfig(), None, lambda r: scan[r.row], 2, expected=10_000))
    for row in out:
        assert row.fields["a"] == "Mail <EMAIL_ADDRESS_1> now"
        masked = row.fields["b"] == "<EMAIL_ADDRESS_1>"
        assert masked == (row.row % 2 == 1)


def test_an_argument_named_like_a_name_column_is_a_person(masker) -> None:
    leaf = "messages.1.tool_calls.0.function.arguments.customer_name"
    masked, found = masker.mask({"messages.0.content": "Refund Ms Ng please", leaf: "Ng"})
    assert masked[leaf] == "<PERSON_1>" and found["PERSON"] >= 1


def test_an_argument_the_schema_lists_is_not_scanned() -> None:
    tools = [
        {
            "type": "function",
            "function": {
                "name": "assign",
                "parameters": {
                    "type": "object",
                    "properties": {
                        "agent": {"enum": ["Maria Garcia", "John Smith"]},
                        "notes": {"type": "array", "items": {"type": "string"}},
                    },
                },
            },
        }
    ]
    arguments = {"agent": "Maria Garcia", "notes": ["for Maria Garcia"]}
    messages = [
        {"role": "user", "content": "Give my ticket to Maria Garcia please."},
        {
            "role": "assistant",
            "content": None,
            "tool_calls": [
                {
                    "id": "c1",
                    "type": "function",
                    "function": {"name": "assign", "arguments": json.dumps(arguments)},
                }
            ],
        },
    ]
    template = ConversationTemplate(TemplateConfig(messages="messages", tools="tools"))
    row = Row("s", 1, "1", {"messages": json.dumps(messages), "tools": json.dumps(tools)})
    assert template.prepare(row) is None
    arg = "messages.1.tool_calls.0.function.arguments"
    assert template.scan(row) == ["messages.0.content", f"{arg}.notes.0"]
    assert row.fields["messages"].startswith("Give my ticket to Maria Garcia please.\nassign {")
