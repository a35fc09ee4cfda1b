"""The rows of `tunesmith run`'s summary table, and the numbers they quote."""

from __future__ import annotations

import time
from dataclasses import dataclass, replace
from typing import Any

from tunesmith.config import ProjectConfig
from tunesmith.models.labels import parse_label
from tunesmith.pipeline import simulate


@dataclass(frozen=True)
class StageRow:
    """One line of the summary: the stage, what it did, its key number, where the evidence is."""

    stage: str
    did: str
    number: str
    evidence: str
    seconds: float = 0.0  # the stage's own wall time (since the row before it)


class TimedRows(list[StageRow]):
    """Rows stamped with the seconds since the previous one, so the summary shows where the
    job's time goes."""

    def __init__(self) -> None:
        super().__init__()
        self._last = time.monotonic()

    def append(self, row: StageRow) -> None:
        now = time.monotonic()
        super().append(replace(row, seconds=now - self._last))
        self._last = now


def accuracy(sent: list[simulate.Sent], config: ProjectConfig, drifted: bool) -> float:
    """The share of answers routed right, among the new-product tickets or the usual ones."""
    labels, prefix = config.task.labels or [], config.task.answer_prefix
    chosen = [s for s in sent if s.ticket.drifted == drifted]
    right = sum(
        parse_label(s.answer, labels, prefix) == parse_label(s.ticket.truth, labels, prefix)
        for s in chosen
    )
    return right / len(chosen) if chosen else 0.0


def compared_text(comparison: dict[str, Any]) -> str:
    """Challenger vs champion, each number named by its split: the feedback split favours the
    challenger (reviewed because the champion was doubtful or wrong); the audit sample is
    drawn at random from served traffic."""
    if not comparison:
        return "no comparison"
    nan = float("nan")
    text = (
        f"{comparison['metric']} challenger vs champion: feedback split (biased) "
        f"{comparison.get('feedback_challenger', nan):.3f} vs "
        f"{comparison.get('feedback_champion', nan):.3f}"
    )
    if not comparison.get("audit_rows"):
        return text + "; no audit sample"
    return text + (
        f"; audit sample (n={comparison['audit_rows']}, random) "
        f"{comparison['audit_challenger']:.3f} vs {comparison['audit_champion']:.3f}"
    )
