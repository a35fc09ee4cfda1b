"""`curate_reviewed`: the loop's curate step and `curate --with-feedback` add the same file
with the same held-out share."""

from __future__ import annotations

import json
from pathlib import Path

from tunesmith.config.workspace import Workspace
from tunesmith.review.export import REVIEWED_FILE
from tunesmith.review.to_curate import curate_reviewed


def test_the_reviewed_export_joins_the_next_version_with_its_held_out_share(
    workspace: Path,
) -> None:
    ws = Workspace(workspace)
    config = ws.load_config()
    config = config.model_copy(
        update={"monitor": config.monitor.model_copy(update={"feedback_eval_share": 0.5})}
    )
    records = [
        {
            "messages": [
                {"role": "user", "content": f"Subject: order {i}\n\nMy Voltway Trail {i} rattles"},
                {"role": "assistant", "content": "Queue: technical\n\nWe will look at it."},
            ],
            "meta": {"id": f"fb-chatcmpl-{i}", "interaction_id": f"chatcmpl-{i}"},
        }
        for i in range(40)
    ]
    (workspace / "feedback").mkdir()
    text = "".join(json.dumps(r) + "\n" for r in records)
    (workspace / REVIEWED_FILE).write_text(text, encoding="utf-8")
    ticks: list[str] = []
    result = curate_reviewed(ws, config, progress=lambda stage, n: ticks.append(stage))
    splits = result.manifest["counts"]["splits"]
    held_out = sum(1 for _ in (result.path / "feedback.jsonl").open(encoding="utf-8"))
    assert held_out == splits["feedback"] and 10 <= held_out <= 30  # about half of 40
    assert ticks  # curation's progress reaches the caller
