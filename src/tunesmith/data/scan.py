"""`tunesmith data scan FILE`: the curate findings for one file, writing nothing."""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from tunesmith.config import DedupConfig, PiiConfig, QualityConfig
from tunesmith.data.dedup import DedupIndex
from tunesmith.data.normalise import normalise_row
from tunesmith.data.pii import PiiMasker
from tunesmith.data.quality import check_quality
from tunesmith.data.readers import read_source
from tunesmith.data.records import Rejection

_ID_NAME = re.compile(r"(?:^|_)id$", re.IGNORECASE)


@dataclass
class ScanResult:
    """Findings over one file; counts reconcile like a manifest's."""

    path: Path
    rows: int = 0
    clean: int = 0
    duplicates: Counter[str] = field(default_factory=Counter)
    quarantined: Counter[str] = field(default_factory=Counter)
    pii: Counter[str] = field(default_factory=Counter)
    pii_by_field: Counter[str] = field(default_factory=Counter)
    rows_with_pii: int = 0


def scan_file(
    path: Path,
    pii: PiiConfig | None = None,
    dedup: DedupConfig | None = None,
    quality: QualityConfig | None = None,
    fmt: str | None = None,
    on_row: Callable[[], None] | None = None,
) -> ScanResult:
    """Read, check, dedup and detect PII in every text field of `path`."""
    pii = pii or PiiConfig()
    masker = PiiMasker(pii.model_copy(update={"mode": "placeholder"}))
    result = ScanResult(path=path)
    index: DedupIndex | None = None
    for item in read_source(path, path.name, fmt):
        result.rows += 1
        if on_row:
            on_row()
        if isinstance(item, Rejection):
            result.quarantined[f"{item.stage}: {item.reason.split(':')[0]}"] += 1
            continue
        row = normalise_row(item)
        fields = [name for name in row.fields if name not in pii.skip_fields]
        if index is None:
            dedup = dedup or DedupConfig()
            # Ids differ on every row; comparing them would hide every duplicate.
            compared = dedup.fields or [f for f in fields if not _ID_NAME.search(f)]
            index = DedupIndex(dedup, compared)
        rejection = check_quality(row, index.fields, quality or QualityConfig())
        if rejection is not None:
            result.quarantined[f"{rejection.stage}: {rejection.reason.split(':')[0]}"] += 1
            continue
        duplicate = index.check(row)
        if duplicate is not None:
            result.duplicates[duplicate.kind] += 1
            continue
        result.clean += 1
        findings = masker.detect({name: row.fields[name] for name in fields})
        if findings:
            result.rows_with_pii += 1
            result.pii.update(f.entity for f in findings)
            result.pii_by_field.update(f.field for f in findings)
    return result
