"""Reviewed records joining a dataset version (`tunesmith curate --with-feedback`).

Reviewed records are already ChatML (they come from served conversations), so they skip the
reader and the template but pass the same checks: shape, PII masking with the curate masker,
and deduplication against every record the version already holds and each other. A kept
record lands in `train` or in the separate `feedback` evaluation split by a seeded hash of
its id, so the same record always lands in the same place.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

from tunesmith.config import DataConfig
from tunesmith.data.dedup import DedupIndex
from tunesmith.data.pii import PiiMasker
from tunesmith.data.records import Rejection, Row

FEEDBACK_SPLIT = "feedback"
_ROLES = {"system", "user", "assistant", "tool"}


def last_user_text(messages: list[dict[str, Any]]) -> str:
    """The text of the last user turn: what drift and dedup compare."""
    users = [m.get("content") or "" for m in messages if m.get("role") == "user"]
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
