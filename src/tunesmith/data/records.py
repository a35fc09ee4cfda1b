"""The two things a stage passes on: a row that goes on, or a row rejected with a reason."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any


@dataclass
class Row:
    """One raw record on its way through curation; `fields` are strings after reading."""

    source: str
    row: int
    id: str
    fields: dict[str, str]
    findings: dict[str, int] = field(default_factory=dict)
    data: Any = None  # a stage's parsed form of the row (a conversation), never sent to workers


@dataclass(frozen=True)
class Rejection:
    """A row that left the pipeline at `stage`, kept in quarantine.jsonl with its reason."""

    source: str
    row: int
    stage: str
    reason: str
    field: str | None = None
    id: str | None = None

    def to_json(self) -> dict[str, object]:
        data: dict[str, object] = {
            "source": self.source,
            "row": self.row,
            "stage": self.stage,
            "reason": self.reason,
        }
        if self.field is not None:
            data["field"] = self.field
        if self.id is not None:
            data["id"] = self.id
        return data
