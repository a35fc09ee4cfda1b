"""Stage 1, read: CSV, JSONL, JSON arrays, Parquet and folders of text, streamed, rows numbered.

Row numbers are 1-based and count data rows (CSV header excluded, JSONL lines as lines), so a
person can find the row in the file. A row that cannot be read becomes a Rejection, never an
exception, so one bad line does not cost the rest of the file.
"""

from __future__ import annotations

import csv
import json
import sys
from collections.abc import Collection, Iterator
from pathlib import Path

import pyarrow.parquet as pq

from tunesmith.data.records import Rejection, Row

TEXT_SUFFIXES = {".txt", ".md"}
READ_STAGE = "read"

# Single records of several MB occur in real exports (pasted logs); quality decides on length.
csv.field_size_limit(min(sys.maxsize, 2**31 - 1))


class SourceError(ValueError):
    """A source that cannot be read at all (missing, unknown format)."""


def infer_format(path: Path) -> str:
    if path.is_dir():
        return "text"
    suffix = path.suffix.lower()
    formats = {".csv": "csv", ".jsonl": "jsonl", ".ndjson": "jsonl", ".json": "json"}
    formats |= {".parquet": "parquet", ".pq": "parquet", ".txt": "text", ".md": "text"}
    if suffix not in formats:
        raise SourceError(f"{path}: unknown format '{suffix}'; set `format:` on the source")
    return formats[suffix]


def _undecodable_field(fields: dict[str, str]) -> str | None:
    for name, value in fields.items():
        # surrogateescape turns invalid UTF-8 bytes into lone surrogates, which cannot encode.
        try:
            value.encode("utf-8")
        except UnicodeEncodeError:
            return name
    return None


def _as_text(value: object, ordered: bool = False) -> str:
    if value is None:
        return ""
    if isinstance(value, str):
        return value
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, bytes):
        # Invalid UTF-8 stays visible as surrogates, so the row is quarantined, not garbled.
        return value.decode("utf-8", errors="surrogateescape")
    if isinstance(value, (dict, list)):
        return json.dumps(value, ensure_ascii=False, sort_keys=not ordered, default=str)
    return str(value)


def _make(
    source: str,
    row: int,
    fields: dict[str, object],
    id_field: str | None,
    keep_order: Collection[str] = (),
) -> Row | Rejection:
    text_fields = {str(k): _as_text(v, str(k) in keep_order) for k, v in fields.items()}
    bad = _undecodable_field(text_fields)
    if bad is not None:
        return Rejection(source, row, READ_STAGE, "undecodable: invalid UTF-8 bytes", field=bad)
    record_id = f"{source}:{row}"
    if id_field is not None:
        value = text_fields.get(id_field, "").strip()
        if not value:
            return Rejection(source, row, READ_STAGE, "missing id", field=id_field)
        record_id = value
    return Row(source=source, row=row, id=record_id, fields=text_fields)


def _read_csv(
    path: Path, source: str, id_field: str | None, keep_order: Collection[str] = ()
) -> Iterator[Row | Rejection]:
    with path.open(encoding="utf-8", errors="surrogateescape", newline="") as handle:
        reader = csv.reader(handle)
        header = next(reader, None)
        if header is None:
            return
        header = [name.strip().lstrip("\ufeff") for name in header]
        repeated = sorted({name for name in header if header.count(name) > 1 or not name})
        if repeated:
            raise SourceError(f"{path}: header has empty or repeated column names {repeated}")
        number = 0
        for values in reader:
            if not values:
                continue  # a blank line is not a record
            number += 1
            if len(values) != len(header):
                reason = f"malformed CSV row: expected {len(header)} fields, got {len(values)}"
                yield Rejection(source, number, READ_STAGE, reason)
                continue
            yield _make(source, number, dict(zip(header, values, strict=True)), id_field)


def _read_jsonl(
    path: Path, source: str, id_field: str | None, keep_order: Collection[str] = ()
) -> Iterator[Row | Rejection]:
    with path.open(encoding="utf-8-sig", errors="surrogateescape") as handle:
        for number, line in enumerate(handle, start=1):
            if not line.strip():
                continue
            try:
                value = json.loads(line)
            except json.JSONDecodeError as err:
                yield Rejection(source, number, READ_STAGE, f"invalid JSON: {err.msg}")
                continue
            if not isinstance(value, dict):
                yield Rejection(source, number, READ_STAGE, "not a JSON object")
                continue
            yield _make(source, number, value, id_field, keep_order)


def _read_json(
    path: Path, source: str, id_field: str | None, keep_order: Collection[str] = ()
) -> Iterator[Row | Rejection]:
    try:
        data = json.loads(path.read_text(encoding="utf-8-sig"))
    except UnicodeDecodeError as err:
        raise SourceError(f"{path}: not UTF-8 ({err.reason} at byte {err.start})") from None
    except json.JSONDecodeError as err:
        raise SourceError(f"{path}: invalid JSON at line {err.lineno}: {err.msg}") from None
    if not isinstance(data, list):
        raise SourceError(f"{path}: expected a JSON array of objects")
    for number, value in enumerate(data, start=1):
        if not isinstance(value, dict):
            yield Rejection(source, number, READ_STAGE, "not a JSON object")
            continue
        yield _make(source, number, value, id_field, keep_order)


def _read_parquet(
    path: Path, source: str, id_field: str | None, keep_order: Collection[str] = ()
) -> Iterator[Row | Rejection]:
    number = 0
    for batch in pq.ParquetFile(path).iter_batches(batch_size=4096):
        for value in batch.to_pylist():
            number += 1
            yield _make(source, number, value, id_field, keep_order)


def _read_text(
    path: Path, source: str, id_field: str | None, keep_order: Collection[str] = ()
) -> Iterator[Row | Rejection]:
    files = sorted(p for p in path.rglob("*") if p.suffix.lower() in TEXT_SUFFIXES)
    if path.is_file():
        files = [path]
    for number, file in enumerate(files, start=1):
        name = file.relative_to(path).as_posix() if path.is_dir() else file.name
        text = file.read_bytes().decode("utf-8", errors="surrogateescape")
        row = _make(source, number, {"path": name, "text": text}, id_field)
        if isinstance(row, Row) and id_field is None:
            row.id = f"{source}/{name}"  # stable when other documents come and go
        yield row


READERS = {
    "csv": _read_csv,
    "jsonl": _read_jsonl,
    "json": _read_json,
    "parquet": _read_parquet,
    "text": _read_text,
}


SUFFIXES = {
    "csv": (".csv",),
    "jsonl": (".jsonl", ".ndjson"),
    "json": (".json",),
    "parquet": (".parquet", ".pq"),
    "text": tuple(TEXT_SUFFIXES),
}


def source_files(path: Path, fmt: str) -> list[Path]:
    """The files a source reads: itself, or its folder's files of that format, sorted."""
    if path.is_file():
        return [path]
    return sorted(p for p in path.rglob("*") if p.is_file() and p.suffix.lower() in SUFFIXES[fmt])


def read_source(
    path: Path,
    source: str,
    fmt: str | None = None,
    id_field: str | None = None,
    keep_order: Collection[str] = (),
) -> Iterator[Row | Rejection]:
    """Stream the rows of one source; `source` is the name recorded on every row.

    A folder holds documents (`text`, the default) or files of one tabular format, read in
    name order, each recorded as `<source>/<relative path>`. Nested values become JSON text
    with sorted keys (the same object reads the same), except in the `keep_order` fields.
    """
    if not path.exists():
        raise SourceError(f"{path}: source not found")
    fmt = fmt or infer_format(path)
    if fmt == "text" or path.is_file():
        return READERS[fmt](path, source, id_field, keep_order)
    return (
        item
        for file in source_files(path, fmt)
        for item in READERS[fmt](
            file, f"{source}/{file.relative_to(path).as_posix()}", id_field, keep_order
        )
    )
