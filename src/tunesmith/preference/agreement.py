"""How far each judge can be trusted: agreement with held-out human preference decisions.

A human pair says the reviewer preferred `chosen` over `rejected`. The LLM judge agrees when it
picks chosen in both answer orders; the rubric judge agrees when it scores chosen higher
(without a reference label: the human's choice is the only reference there is).
"""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from tunesmith.config import ProjectConfig
from tunesmith.data.pii import PiiMasker
from tunesmith.preference.llm_judge import agreement, judge_client
from tunesmith.preference.records import read_pairs
from tunesmith.preference.rubric import pii_counter, score_answer
from tunesmith.workspace import Workspace


def rubric_agreement(config: ProjectConfig, pairs: list[dict[str, Any]]) -> dict[str, Any]:
    """Shares of human pairs where the rubric scores chosen above, below or equal to rejected."""
    count_pii = pii_counter(PiiMasker(config.data.pii)) if config.data.pii.enabled else None
    outcome = {"agree": 0, "disagree": 0, "tie": 0}
    for pair in pairs:
        chosen, rejected = (
            score_answer(
                pair[side][-1]["content"], config.task, config.align.rubric, None, count_pii
            )
            for side in ("chosen", "rejected")
        )
        key = (
            "tie"
            if chosen.score == rejected.score
            else ("agree" if chosen.score > rejected.score else "disagree")
        )
        outcome[key] += 1
    n = max(len(pairs), 1)
    decided = outcome["agree"] + outcome["disagree"]
    return {
        "pairs": len(pairs),
        **{k: v / n for k, v in outcome.items()},
        "agreement_decided": outcome["agree"] / decided if decided else None,
    }


def human_agreement(
    workspace: Workspace,
    config: ProjectConfig,
    path: Path,
    limit: int | None = None,
    on_start: Callable[[int], None] | None = None,
    on_pair: Callable[[], None] | None = None,
) -> dict[str, Any]:
    """Both judges over the human pairs of `path`; written to `feedback/agreement-<time>.json`."""
    pairs = read_pairs([path], workspace.root)
    held_out = pairs.kept[:limit]
    if on_start:
        on_start(len(held_out))
    client = judge_client(config.align.judge, config.serve)
    llm = agreement(client, config.align.judge, held_out, on_pair=on_pair)
    report = {
        "pairs_file": str(path),
        "counts": pairs.counts,
        "judges": {
            f"llm ({config.align.judge.model})": llm,
            "rubric": rubric_agreement(config, held_out),
        },
    }
    out = workspace.root / "feedback" / f"agreement-{datetime.now(UTC):%Y%m%d-%H%M%S}.json"
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(report, indent=2) + "\n")
    report["path"] = str(out)
    return report
