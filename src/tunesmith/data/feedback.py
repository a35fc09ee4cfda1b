"""Reviewed records joining a dataset version (`tunesmith curate --with-feedback`).

Reviewed records are already ChatML (they come from served conversations), so they skip the
reader and the template but pass the same checks: shape, PII masking with the curate masker,
and deduplication against every record the version already holds and each other. A tool
conversation (a `tools` list, calls or tool results) goes through the conversation mode of
the format stage (`conversation.py`): checked with `tool_checks` like a source record (a
failing one is quarantined with its reason), masked leaf by leaf (contents, call arguments,
tool results; never the tools), its calls and `tools` kept. A kept
record lands in `train` or in the separate `feedback` evaluation split by a seeded hash of
its id, so the same record always lands in the same place.
"""

from __future__ import annotations

import hashlib
import json
from collections import Counter
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

from tunesmith.config import DataConfig, TemplateConfig
from tunesmith.data.conversation import Conversation, ConversationTemplate
from tunesmith.data.dedup import DedupIndex
from tunesmith.data.pii import PiiMasker
from tunesmith.data.records import Rejection, Row
from tunesmith.models.tools import message_text, uses_tools

FEEDBACK_SPLIT = "feedback"
_ROLES = {"system", "user", "assistant", "tool"}
# a reviewed tool record's fields: the conversation and its tool list, as a source's would be
_TOOLS = ConversationTemplate(TemplateConfig(messages="messages", tools="tools"))


def last_user_text(messages: list[dict[str, Any]]) -> str:
    """The text of the last user turn: what drift and dedup compare."""
    users = [message_text(m) for m in messages if m.get("role") == "user"]
    return users[-1] if users else ""


def _problem(record: Any) -> tuple[str, str | None] | None:
    """What is wrong with a reviewed record's shape, and in which field."""
    if not isinstance(record, dict):
        return "not a JSON object", None
    messages = record.get("messages")
    if not isinstance(messages, list) or not messages:
        return "no messages", "messages"
    for i, message in enumerate(messages):
        if not isinstance(message, dict) or message.get("role") not in _ROLES:
            return f"message {i} has no valid role", f"messages[{i}].role"
        if not isinstance(message.get("content"), str):
            return f"message {i} has no text content", f"messages[{i}].content"
    if messages[-1]["role"] != "assistant" or not messages[-1]["content"].strip():
        return "the last message is not a non-empty assistant answer", "messages"
    if not isinstance(record.get("meta"), dict) or not record["meta"].get("id"):
        return "meta.id is missing", "meta.id"
    return None


def _is_tool_record(record: Any) -> bool:
    messages = record.get("messages") if isinstance(record, dict) else None
    if not isinstance(messages, list) or not all(isinstance(m, dict) for m in messages):
        return False
    return "tools" in record or uses_tools(messages, None)


def _tool_row(
    source: str, number: int, record: dict[str, Any], reject: Callable[[Rejection], None]
) -> Row | None:
    """The row of a reviewed tool conversation, its text leaves laid out as fields; None (and
    the reason in quarantine) when it fails the checks a source conversation passes."""
    meta = record.get("meta")
    if not isinstance(meta, dict) or not meta.get("id"):
        reject(Rejection(source, number, "feedback", "meta.id is missing", "meta.id"))
        return None
    tools = record.get("tools")
    fields = {
        "messages": json.dumps(record["messages"], ensure_ascii=False),
        "tools": json.dumps(tools, ensure_ascii=False) if tools else "",
    }
    row = Row(source, number, str(meta["id"]), fields)
    rejection = _TOOLS.prepare(row)
    if rejection is not None:
        reject(Rejection(source, number, "feedback", rejection.reason, rejection.field, row.id))
        return None
    if record["messages"][-1].get("role") != "assistant":
        reason = "the last message is not an assistant answer"
        reject(Rejection(source, number, "feedback", reason, "messages", row.id))
        return None
    return row


def read_feedback(
    path: Path, source: str, reject: Callable[[Rejection], None]
) -> Iterator[tuple[Row, dict[str, Any]]]:
    """Rows (message texts as fields) and records of the reviewed-records file; malformed
    lines go to quarantine."""
    with path.open(encoding="utf-8") as handle:
        for number, line in enumerate(handle, start=1):
            try:
                record = json.loads(line)
            except json.JSONDecodeError as err:
                reject(Rejection(source, number, "feedback", f"bad JSON: {err.msg}"))
                continue
            if _is_tool_record(record):
                row = _tool_row(source, number, record, reject)
                if row is not None:
                    yield row, record
                continue
            problem = _problem(record)
            if problem is not None:
                reject(Rejection(source, number, "feedback", problem[0], problem[1]))
                continue
            fields = {f"m{i}": m["content"] for i, m in enumerate(record["messages"])}
            yield Row(source, number, str(record["meta"]["id"]), fields), record


def seed_index(config: DataConfig, records_path: Path) -> DedupIndex:
    """A dedup index over the user inputs of the records kept so far."""
    index = DedupIndex(config.dedup, ["text"])
    with records_path.open(encoding="utf-8") as handle:
        for line in handle:
            record = json.loads(line)
            meta = record["meta"]
            text = last_user_text(record["messages"])
            index.check(Row(meta["source"], meta["row"], meta["id"], {"text": text}))
    return index


def masked_record(
    row: Row, record: dict[str, Any], masker: PiiMasker | None
) -> tuple[dict[str, Any], dict[str, int]]:
    """The record with every message masked (and its place in the source), and what was
    found."""
    meta = {**record["meta"], "source": row.source, "row": row.row}
    if isinstance(row.data, Conversation):  # a tool conversation: masked leaf by leaf
        found: Counter[str] = Counter()
        if masker is not None:
            masked, found = masker.mask({name: row.fields[name] for name in _TOOLS.scan(row)})
            row.fields.update(masked)
        if found:
            meta["pii"] = dict(sorted(found.items()))
        return {**_TOOLS.record(row), "meta": meta}, dict(found)
    if masker is None:
        return {"messages": record["messages"], "meta": meta}, {}
    masked, found = masker.mask(row.fields)
    messages = [{**m, "content": masked[f"m{i}"]} for i, m in enumerate(record["messages"])]
    if found:
        meta["pii"] = dict(sorted(found.items()))
    return {"messages": messages, "meta": meta}, dict(found)


def feedback_split(record_id: str, seed: int, eval_share: float) -> str:
    """`feedback` (held out for evaluation) or `train`, stable for the id and seed."""
    value = int(hashlib.sha256(f"{seed}\x00fb\x00{record_id}".encode()).hexdigest()[:8], 16)
    return FEEDBACK_SPLIT if value / 0xFFFFFFFF < eval_share else "train"
