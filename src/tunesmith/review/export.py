"""Reviewed interactions out of the state store, as training records and preference pairs.

A correction becomes a labelled record (chosen = the correction); an accepted answer a
confirmed one; a corrected answer is also a preference pair (chosen = correction, rejected =
what the model said). A rejection without a correction teaches nothing and stays in the store.
A pairwise choice (`choices.py`) is a preference pair too (chosen = the answer picked); a tie
picks nothing and stays in the store. An item of the random audit sample (`review.AUDIT`)
goes to `feedback/audit.jsonl` instead, never into training: it is the loop's independent
comparison of challenger and champion. The files are snapshots, rewritten whole, so a dataset
version or a comparison can name them by sha256.

A tool conversation (tools offered, calls or results in it) is exported in the OpenAI shape,
its final turn read from the answer with `models.tools.parse_answer` (`tool_turns.py`); an
answer that is not valid calls of the offered tools is counted and named, never written.
"""

from __future__ import annotations

import json
import os
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from tunesmith.config import TaskConfig
from tunesmith.config.workspace import Workspace
from tunesmith.models.labels import parse_label
from tunesmith.review.choices import ChoiceItem, decided_choices
from tunesmith.review.queue import AUDIT, ReviewItem, decided_items
from tunesmith.review.tool_turns import tool_record, uses_tools
from tunesmith.store.db import open_store

REVIEWED_FILE = "feedback/reviewed.jsonl"
PREFERENCES_FILE = "feedback/preferences.jsonl"
AUDIT_FILE = "feedback/audit.jsonl"
TOOL_COUNTS = ("invalid_tool_corrections", "invalid_tool_answers", "tool_pairs_skipped")


@dataclass(frozen=True)
class FeedbackExport:
    records: Path
    preferences: Path
    audit: Path  # the reviewed audit sample: evaluation records only
    counts: dict[str, int]
    through: int  # the newest decided review item in the export (0: none)
    # "review item 7: <why>" for each reviewed tool answer left out (see `to_records`)
    refused: list[str] = field(default_factory=list)


def _prompt(item: ReviewItem) -> list[dict[str, str]]:
    """The conversation up to the answer, as plain role/content turns."""
    return [
        {"role": m["role"], "content": m.get("content") or ""}
        for m in item.messages
        if m.get("role") in ("system", "user", "assistant", "tool")
    ]


def _meta(item: ReviewItem, task: TaskConfig, answer: str) -> dict[str, Any]:
    meta: dict[str, Any] = {
        "id": f"fb-{item.interaction_id}",
        "source": "review",
        "row": item.id,
        "interaction_id": item.interaction_id,
        "decision": item.decision,
        "reviewed_by": item.decided_by,
        "reviewed_at": item.decided_at,
        "model": item.model,
        "run_id": item.run_id,
    }
    if task.type == "classification" and task.labels and task.label_field:
        meta[task.label_field] = parse_label(answer, task.labels, task.answer_prefix)
    return meta


def _tool_record(item: ReviewItem, answer: str, meta: dict[str, Any]) -> tuple[Any, str | None]:
    """The OpenAI-shape record of a tool conversation, or None and why its answer is refused.
    An accepted answer keeps its calls' ids; a correction's calls get ids of their own."""
    ids = [str(c.get("id")) for c in item.calls] if item.decision == "accept" else []
    record, problem = tool_record(item.messages, item.tools, answer, ids, f"call_fb{item.id}_")
    return (None, problem) if record is None else ({**record, "meta": meta}, None)


def to_records(
    items: list[ReviewItem],
    task: TaskConfig,
    counts: Counter[str] | None = None,
    refused: list[str] | None = None,
) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """(training records, preference pairs) from decided review items. A tool conversation
    becomes an OpenAI-shape record (`tools`, calls and the ids they answer kept); one whose
    answer does not read as valid calls is left out, counted in `counts`
    (`invalid_tool_corrections`; `invalid_tool_answers` for an accepted one) and named with
    its reason in `refused`. Its preference pair is left out and counted too
    (`tool_pairs_skipped`): align reads chosen and rejected answers as text."""
    records, pairs = [], []
    counts = Counter() if counts is None else counts
    refused = [] if refused is None else refused
    for item in items:
        answer = item.output if item.decision == "accept" else item.correction
        if not answer:
            continue
        meta = _meta(item, task, answer)
        if uses_tools(item.tools, item.messages):
            record, problem = _tool_record(item, answer, meta)
            if record is None:
                counts[
                    "invalid_tool_answers"
                    if item.decision == "accept"
                    else "invalid_tool_corrections"
                ] += 1
                refused.append(f"review item {item.id}: {problem}")
                continue
            records.append(record)
            if item.decision != "accept" and answer.strip() != item.output.strip():
                counts["tool_pairs_skipped"] += 1
            continue
        prompt = _prompt(item)
        records.append(
            {"messages": [*prompt, {"role": "assistant", "content": answer}], "meta": meta}
        )
        if item.decision != "accept" and answer.strip() != item.output.strip():
            pairs.append(
                {
                    "prompt": prompt,
                    "chosen": [{"role": "assistant", "content": answer}],
                    "rejected": [{"role": "assistant", "content": item.output}],
                    "meta": meta,
                }
            )
    return records, pairs


def choice_pairs(items: list[ChoiceItem]) -> tuple[list[dict[str, Any]], int]:
    """(preference pairs, ties) from decided choices: the picked answer is chosen."""
    pairs, ties = [], 0
    for item in items:
        if item.choice not in ("a", "b"):
            ties += 1
            continue
        picked, other = (
            (item.answer_a, item.answer_b) if item.choice == "a" else (item.answer_b, item.answer_a)
        )
        agreed = None if item.ai_pick is None else item.ai_pick == item.choice
        pairs.append(
            {
                "prompt": item.prompt,
                "chosen": [{"role": "assistant", "content": picked}],
                "rejected": [{"role": "assistant", "content": other}],
                "meta": {
                    "id": f"choice-{item.id}",
                    "source": "review-choice",
                    "row": item.id,
                    "reviewed_by": item.decided_by,
                    "reviewed_at": item.decided_at,
                    "ai_pick_agreed": agreed,
                    "origin": item.source,
                    "model": item.model,
                    "run_id": item.run_id,
                },
            }
        )
    return pairs, ties


def _write(path: Path, rows: list[dict[str, Any]]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    staging = path.with_name(f".{path.name}.{os.getpid()}")
    with staging.open("w", encoding="utf-8") as handle:
        for row in rows:
            handle.write(json.dumps(row, ensure_ascii=False, sort_keys=True) + "\n")
        handle.flush()
        os.fsync(handle.fileno())
    os.replace(staging, path)


def export_feedback(ws: Workspace, task: TaskConfig) -> FeedbackExport:
    """Write feedback/reviewed.jsonl and feedback/preferences.jsonl from the review queue and
    the decided pairwise choices (`pairs` counts the review queue's pairs, `choice_pairs` the
    choices' after them in the same file), and feedback/audit.jsonl from the audit sample."""
    store = open_store(ws.state_url())
    decided, choices = decided_items(store), decided_choices(store)
    items = [i for i in decided if AUDIT not in i.reasons]
    tools: Counter[str] = Counter()
    refused: list[str] = []
    records, pairs = to_records(items, task, tools, refused)
    audit_records, _ = to_records([i for i in decided if AUDIT in i.reasons], task, tools, refused)
    chosen, ties = choice_pairs(choices)
    records_path, pairs_path = ws.resolve(REVIEWED_FILE), ws.resolve(PREFERENCES_FILE)
    audit_path = ws.resolve(AUDIT_FILE)
    _write(records_path, records)
    _write(pairs_path, pairs + chosen)
    _write(audit_path, audit_records)
    decisions = {d: sum(i.decision == d for i in decided) for d in ("accept", "correct", "reject")}
    counts = {
        "decided": len(decided),
        **decisions,
        "records": len(records),
        "pairs": len(pairs),
        "choices": len(choices),
        "choice_pairs": len(chosen),
        "choice_ties": ties,
        "audit_decided": len(decided) - len(items),
        "audit_records": len(audit_records),
        # tool conversations whose answer was refused (named in `refused`), pairs not written
        **{k: tools[k] for k in TOOL_COUNTS},
    }
    # `through` stays about review items: the loop's triggers count corrections after it
    through = max((i.id for i in decided), default=0)
    return FeedbackExport(records_path, pairs_path, audit_path, counts, through, refused)
