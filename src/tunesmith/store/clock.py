"""The one time format of audit entries, reports and records."""

from __future__ import annotations

from datetime import UTC, datetime


def utc_timestamp(moment: datetime | None = None, timespec: str = "seconds") -> str:
    """ISO 8601 in UTC with a `Z`, the one time format of audit entries, reports and records."""
    return (moment or datetime.now(UTC)).isoformat(timespec=timespec).replace("+00:00", "Z")
