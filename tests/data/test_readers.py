from __future__ import annotations

import json
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from tunesmith.data.readers import SourceError, read_source
from tunesmith.data.records import Rejection, Row


def _read(path: Path, fmt: str | None = None) -> list[Row | Rejection]:
    return list(read_source(path, path.name, fmt))


def test_csv_broken_rows_are_rejected_with_their_row_number(tmp_path: Path) -> None:
    path = tmp_path / "t.csv"
    path.write_text('a,b\n1,"x, y"\n2\n3,z,extra\n4,"multi\nline"\n', encoding="utf-8")
    items = _read(path)
    assert [type(i).__name__ for i in items] == ["Row", "Rejection", "Rejection", "Row"]
    assert items[1].row == 2 and "expected 2 fields, got 1" in items[1].reason
    assert items[2].row == 3 and "got 3" in items[2].reason
    assert items[3].fields["b"] == "multi\nline"


def test_invalid_utf8_names_the_field(tmp_path: Path) -> None:
    path = tmp_path / "t.csv"
    path.write_bytes(b"id,body\n1,fine\n2,bad \xff\xfe bytes\n")
    items = _read(path)
    assert isinstance(items[0], Row)
    assert isinstance(items[1], Rejection)
    assert (items[1].row, items[1].field) == (2, "body")
    assert "invalid UTF-8" in items[1].reason


def test_empty_file_reads_nothing(tmp_path: Path) -> None:
    path = tmp_path / "empty.csv"
    path.write_text("")
    assert _read(path) == []


def test_five_megabyte_record_is_read_whole(tmp_path: Path) -> None:
    path = tmp_path / "big.csv"
    body = "word " * 1_000_000
    path.write_text(f"id,body\n1,{body}\n")
    (row,) = _read(path)
    assert isinstance(row, Row) and len(row.fields["body"]) == len(body)


def test_jsonl_bad_line_is_rejected_and_others_kept(tmp_path: Path) -> None:
    path = tmp_path / "t.jsonl"
    path.write_text('{"a": 1}\n{oops\n[1, 2]\n\n{"a": {"nested": true}}\n')
    items = _read(path)
    assert [i.row for i in items] == [1, 2, 3, 5]
    assert isinstance(items[1], Rejection) and "invalid JSON" in items[1].reason
    assert isinstance(items[2], Rejection) and items[2].reason == "not a JSON object"
    assert items[3].fields["a"] == '{"nested": true}'


def test_json_array_and_parquet_and_text_folder(tmp_path: Path) -> None:
    (tmp_path / "a.json").write_text(json.dumps([{"q": "one"}, {"q": "two"}]))
    assert [r.fields["q"] for r in _read(tmp_path / "a.json")] == ["one", "two"]
    pq.write_table(pa.table({"q": ["x", "y", None]}), tmp_path / "b.parquet")
    assert [r.fields["q"] for r in _read(tmp_path / "b.parquet")] == ["x", "y", ""]
    docs = tmp_path / "docs"
    (docs / "sub").mkdir(parents=True)
    (docs / "one.md").write_text("# Title\nbody")
    (docs / "sub" / "two.txt").write_text("plain")
    (docs / "skip.bin").write_bytes(b"\x00")
    rows = _read(docs)
    assert [(r.row, r.fields["path"]) for r in rows] == [(1, "one.md"), (2, "sub/two.txt")]


def test_id_field_missing_is_rejected(tmp_path: Path) -> None:
    path = tmp_path / "t.csv"
    path.write_text("id,body\n,text\nT-1,text\n")
    items = list(read_source(path, "t.csv", id_field="id"))
    assert isinstance(items[0], Rejection) and items[0].field == "id"
    assert isinstance(items[1], Row) and items[1].id == "T-1"


def test_unknown_format_and_missing_source(tmp_path: Path) -> None:
    (tmp_path / "x.xlsx").write_text("")
    with pytest.raises(SourceError, match="unknown format"):
        read_source(tmp_path / "x.xlsx", "x")
    with pytest.raises(SourceError, match="not found"):
        read_source(tmp_path / "nope.csv", "nope")
