"""`tunesmith curate --with-feedback`: reviewed records join the next version."""

from __future__ import annotations

import json
from pathlib import Path

from tunesmith.config.workspace import Workspace
from tunesmith.data.curate import FeedbackInput, curate

SYSTEM = "Route the ticket to its queue, then reply."


def _ids(path: Path) -> set[str]:
    return {json.loads(line)["meta"]["id"] for line in path.open(encoding="utf-8")}


def _reviewed(i: int, user: str, queue: str = "returns") -> dict:
    return {
        "messages": [
            {"role": "system", "content": SYSTEM},
            {"role": "user", "content": user},
            {"role": "assistant", "content": f"Queue: {queue}\n\nHi, we will take care of it."},
        ],
        "meta": {"id": f"fb-chatcmpl-{i}", "interaction_id": f"chatcmpl-{i}", "queue": queue},
    }


def test_feedback_joins_train_and_a_held_out_split_keeping_old_splits(workspace: Path) -> None:
    ws = Workspace(workspace)
    config = ws.load_config().data
    first = curate(ws, config)
    existing = json.loads((first.path / "train.jsonl").open().readline())
    copied_user = next(m for m in existing["messages"] if m["role"] == "user")["content"]
    records = [
        _reviewed(
            i,
            f"Subject: Voltway Trail battery\n\nMy Voltway Trail e-bike number {i} stopped "
            f"charging after {i + 3} rides; the display shows error E{i:02d} and won't reset.",
        )
        for i in range(30)
    ]
    records.append(_reviewed(99, copied_user, "billing"))  # already in the dataset
    records.append(_reviewed(98, "Subject: hi\n\nMail me at jane.doe@example.com about ACC-123456"))
    lines = [json.dumps(r) for r in records] + ["{not json", json.dumps({"messages": []})]
    (workspace / "feedback").mkdir()
    (workspace / "feedback" / "reviewed.jsonl").write_text("\n".join(lines) + "\n")

    second = curate(ws, config, feedback=FeedbackInput("feedback/reviewed.jsonl", 0.4))
    assert second.version == "v2" and second.manifest["parent"] == "v1"
    counts = second.manifest["counts"]
    assert counts["reconciles"]
    assert counts["read"] == first.manifest["counts"]["read"] + len(lines)
    # the old test set is the new test set, row for row
    assert _ids(second.path / "test.jsonl") == _ids(first.path / "test.jsonl")
    assert _ids(first.path / "train.jsonl") <= _ids(second.path / "train.jsonl")
    held_out = _ids(second.path / "feedback.jsonl")
    trained = _ids(second.path / "train.jsonl") - _ids(first.path / "train.jsonl")
    assert held_out and trained and not held_out & trained
    assert len(held_out | trained) == 31  # 30 new + the masked one; the copy was a duplicate
    assert "fb-chatcmpl-99" not in held_out | trained
    text = (second.path / "feedback.jsonl").read_text() + (second.path / "train.jsonl").read_text()
    assert "jane.doe@example.com" not in text and "ACC-123456" not in text
    assert "feedback.jsonl" in second.manifest["files"]
    quarantine = [json.loads(x) for x in (second.path / "quarantine.jsonl").open()]
    fb = [q for q in quarantine if q["source"] == "feedback/reviewed.jsonl"]
    assert {q["reason"].split(":")[0] for q in fb} == {"bad JSON", "no messages"}
    record = json.loads((second.path / "feedback.jsonl").open().readline())
    assert record["meta"]["interaction_id"].startswith("chatcmpl-")  # lineage to the call
    # the same reviewed file again: nothing new is written
    again = curate(ws, config, feedback=FeedbackInput("feedback/reviewed.jsonl", 0.4))
    assert not again.created and again.version == "v2"
