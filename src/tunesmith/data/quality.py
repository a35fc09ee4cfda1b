"""Stage 5, quality: reject rows with nothing to learn from, each with its reason."""

from __future__ import annotations

from tunesmith.config import QualityConfig
from tunesmith.data.records import Rejection, Row

QUALITY_STAGE = "quality"


def check_quality(row: Row, fields: list[str], config: QualityConfig) -> Rejection | None:
    """The first rule `row` breaks, over the compared fields, or None when it is usable."""
    values = [row.fields.get(name, "") for name in fields]
    if not any(value.strip() for value in values):
        if not any(value.strip() for value in row.fields.values()):
            return Rejection(row.source, row.row, QUALITY_STAGE, "empty row", id=row.id)
        missing = next(name for name, value in zip(fields, values, strict=True) if not value)
        return Rejection(row.source, row.row, QUALITY_STAGE, "empty text", missing, row.id)
    length = sum(len(value) for value in values)
    if length < config.min_chars:
        reason = f"too short: {length} chars < min_chars {config.min_chars}"
        return Rejection(row.source, row.row, QUALITY_STAGE, reason, id=row.id)
    if length > config.max_chars:
        longest = max(fields, key=lambda name: len(row.fields.get(name, "")))
        reason = f"too long: {length} chars > max_chars {config.max_chars}"
        return Rejection(row.source, row.row, QUALITY_STAGE, reason, longest, row.id)
    return None
