"""Stage 3, quality: reject rows with nothing to learn from, each with its reason."""

from __future__ import annotations

from tunesmith.config import QualityConfig
from tunesmith.data.records import Rejection, Row

QUALITY_STAGE = "quality"


def check_length(row: Row, fields: list[str], config: QualityConfig) -> Rejection | None:
    """Any output field over max_chars; checked on raw text, before anything costly runs."""
    for name in fields:
        length = len(row.fields.get(name, ""))
        if length > config.max_chars:
            reason = f"too long: field of {length} chars > max_chars {config.max_chars}"
            return Rejection(row.source, row.row, QUALITY_STAGE, reason, name, row.id)
    return None


def check_quality(row: Row, fields: list[str], config: QualityConfig) -> Rejection | None:
    """Empty or too short compared text, or None when the row is usable."""
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
    return None
