"""PII masking across processes: the one stage heavy enough to need both cores."""

from __future__ import annotations

import os
from collections import Counter, deque
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import Future, ProcessPoolExecutor
from itertools import islice

from tunesmith.config import PiiConfig
from tunesmith.data.pii import PiiMasker
from tunesmith.data.records import Row

CHUNK = 256
SERIAL_BELOW = 2_000

_worker_masker: PiiMasker | None = None
ScanFields = list[str] | Callable[[Row], list[str]]  # the same for every row, or per row


def _init_worker(config: PiiConfig, key: bytes | None) -> None:
    global _worker_masker
    _worker_masker = PiiMasker(config, key)


def _mask_chunk(
    chunk: list[tuple[dict[str, str], list[str]]],
) -> list[tuple[dict[str, str], Counter[str]]]:
    assert _worker_masker is not None
    return [_mask_fields(_worker_masker, fields, scan) for fields, scan in chunk]


def _mask_fields(
    masker: PiiMasker, fields: dict[str, str], scan: list[str]
) -> tuple[dict[str, str], Counter[str]]:
    masked, counts = masker.mask({name: fields[name] for name in scan if name in fields})
    return {**fields, **masked}, counts


def default_workers() -> int:
    return max(1, min(os.cpu_count() or 1, 8))


def mask_rows(
    rows: Iterable[Row],
    config: PiiConfig,
    key: bytes | None,
    scan_fields: ScanFields,
    workers: int,
    expected: int,
    on_done: Callable[[int], None] | None = None,
) -> Iterator[Row]:
    """Rows with their scanned fields masked and `findings` set, in input order; the scanned
    fields are a list for all rows or a function of the row (a conversation's text leaves)."""
    if not config.enabled:
        yield from rows
        return
    fixed = scan_fields if isinstance(scan_fields, list) else None

    def scan(row: Row) -> list[str]:
        return fixed if fixed is not None else scan_fields(row)  # type: ignore[operator]

    if workers <= 1 or expected < SERIAL_BELOW:
        masker = PiiMasker(config, key)
        for row in rows:
            row.fields, row.findings = _mask_fields(masker, row.fields, scan(row))
            if on_done:
                on_done(1)
            yield row
        return
    iterator = iter(rows)
    with ProcessPoolExecutor(workers, initializer=_init_worker, initargs=(config, key)) as pool:
        pending: deque[tuple[list[Row], Future]] = deque()
        while True:
            while len(pending) < workers * 3:
                chunk = list(islice(iterator, CHUNK))
                if not chunk:
                    break
                # Only the scanned fields cross the process boundary, and only they come back.
                payload = []
                for row in chunk:
                    names = scan(row)
                    payload.append(({n: row.fields[n] for n in names if n in row.fields}, names))
                pending.append((chunk, pool.submit(_mask_chunk, payload)))
            if not pending:
                return
            chunk, future = pending.popleft()
            for row, (fields, counts) in zip(chunk, future.result(), strict=True):
                row.fields, row.findings = {**row.fields, **fields}, counts
                yield row
            if on_done:
                on_done(len(chunk))
