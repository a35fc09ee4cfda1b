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
from secrets import token_hex
from typing import Any

from tunesmith.config import ProjectConfig
from tunesmith.config.workspace import Workspace
from tunesmith.data.curate import pseudonym_key
from tunesmith.data.pii import PiiMasker
from tunesmith.preference.llm_judge import agreement, judge_client
from tunesmith.preference.pairs import held_out as held_out_pair
from tunesmith.preference.pairs import mask_pairs, read_pairs
from tunesmith.preference.rubric import pii_counter, score_answer
from tunesmith.store.files import write_atomic


def rubric_agreement(config: ProjectConfig, pairs: list[dict[str, Any]]) -> dict[str, Any]:
    """Shares of human pairs where the rubric scores chosen above, below or equal to rejected."""
    count_pii = pii_counter(config.data.pii)
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
    every_pair: bool = False,
) -> dict[str, Any]:
    """Both judges over the human pairs of `path` that `align --with-review` holds out (or
    every pair); written to `feedback/agreement-<time>.json`."""
    pairs = read_pairs([path], workspace.root)
    if config.data.pii.enabled:  # the judge may be another team's endpoint: masked text only
        mask_pairs(pairs, PiiMasker(config.data.pii, pseudonym_key(config.data)))
    share = 1.0 if every_pair else config.align.judge_holdout
    held_out = [p for p in pairs.kept if held_out_pair(p, share)][:limit]
    if on_start:
        on_start(len(held_out))
    client = judge_client(config.align.judge, config.serve)
    llm = agreement(client, config.align.judge, held_out, on_pair=on_pair)
    report = {
        "pairs_file": str(path),
        "counts": {**pairs.counts, "judged": len(held_out)},
        "held_out_only": not every_pair,
        "judges": {
            f"llm ({config.align.judge.model})": llm,
            "rubric": rubric_agreement(config, held_out),
        },
    }
    stamp = f"{datetime.now(UTC):%Y%m%d-%H%M%S}-{token_hex(2)}"
    out = workspace.root / "feedback" / f"agreement-{stamp}.json"
    out.parent.mkdir(parents=True, exist_ok=True)
    write_atomic(out, (json.dumps(report, indent=2) + "\n").encode("utf-8"))
    report["path"] = str(out)
    return report
