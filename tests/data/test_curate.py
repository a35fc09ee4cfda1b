from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
import yaml

from tunesmith.data.curate import curate
from tunesmith.data.normalise import normalise_text
from tunesmith.examples.support_tickets import generate_tickets
from tunesmith.workspace import Workspace

OUTPUTS = ("train.jsonl", "val.jsonl", "test.jsonl", "quarantine.jsonl", "report.md")


def _run(root: Path, workers: int = 1):
    ws = Workspace(root)
    return curate(ws, ws.load_config().data, workers=workers)


def _records(version: Path) -> list[dict]:
    lines = []
    for split in ("train", "val", "test"):
        lines += (version / f"{split}.jsonl").read_text(encoding="utf-8").splitlines()
    return [json.loads(line) for line in lines]


def test_curate_writes_a_reconciled_pii_free_version(workspace: Path) -> None:
    result = _run(workspace)
    assert result.created and result.version == "v1"
    version = workspace / "datasets" / "support-tickets" / "v1"
    for name in (*OUTPUTS, "manifest.json", "lengths.png"):
        assert (version / name).is_file(), name
    manifest = json.loads((version / "manifest.json").read_text())
    counts = manifest["counts"]
    dups = counts["duplicates"]["exact"] + counts["duplicates"]["near"]
    assert counts["read"] == 300
    assert counts["read"] == counts["kept"] + dups + counts["quarantined"]
    assert counts["reconciles"] is True
    assert sum(counts["splits"].values()) == counts["kept"] == len(_records(version))
    quarantine = (version / "quarantine.jsonl").read_text().splitlines()
    assert len(quarantine) == counts["quarantined"] > 0
    assert all({"source", "row", "reason"} <= json.loads(q).keys() for q in quarantine)
    assert counts["duplicates"]["exact"] > 0 and counts["duplicates"]["near"] > 0
    cluster_members = sum(len(c["members"]) for c in manifest["duplicate_clusters"])
    assert cluster_members == dups
    assert manifest["sources"][0]["sha256"] and manifest["sources"][0]["rows_read"] == 300
    for name in OUTPUTS:
        assert manifest["files"][name]["sha256"]

    record = _records(version)[0]
    assert [m["role"] for m in record["messages"]] == ["system", "user", "assistant"]
    assert record["meta"]["source"] == "raw/tickets.csv" and record["meta"]["row"] >= 1
    assert record["messages"][2]["content"].startswith("Queue: ")

    output = "\n".join(json.dumps(r, ensure_ascii=False) for r in _records(version))
    tickets = generate_tickets(300, 0)
    leaked, checked = [], 0
    for ticket in tickets:
        for span in ticket.pii:
            if span.field not in ("subject", "body", "agent_reply"):
                continue
            value = normalise_text(span.value)
            if span.type == "PERSON" and " " not in value:
                continue  # single first names are checked by the benchmark, not by substring
            checked += 1
            if value in output:
                leaked.append((span.type, value))
    assert checked > 200
    assert leaked == []


def test_same_inputs_write_nothing_new_and_reproduce_bytes(workspace: Path, tmp_path) -> None:
    first = _run(workspace)
    again = _run(workspace)
    assert not again.created and again.version == "v1"
    copy = tmp_path / "copy"
    shutil.copytree(workspace, copy, ignore=shutil.ignore_patterns("datasets"))
    other = _run(copy, workers=2)
    for name in (*OUTPUTS, "manifest.json", "lengths.png"):
        assert (first.path / name).read_bytes() == (other.path / name).read_bytes(), name


def test_changed_input_creates_next_version_with_parent(workspace: Path) -> None:
    _run(workspace)
    with (workspace / "raw" / "tickets.csv").open("a", encoding="utf-8") as handle:
        handle.write("TCK-999999,2026-05-01,,,,pro,EU,billing,low,New subject,")
        handle.write(
            "A brand new ticket body about an invoice that never arrived in the mail.,Hi!\n"
        )
    result = _run(workspace)
    assert result.version == "v2" and result.manifest["parent"] == "v1"
    assert result.manifest["counts"]["read"] == 301


def test_bad_inputs_are_quarantined_with_reasons(tmp_path: Path) -> None:
    root = tmp_path / "ws"
    (root / "raw").mkdir(parents=True)
    config = {
        "data": {
            "name": "bad",
            "sources": [{"path": "raw/a.csv"}, {"path": "raw/empty.csv"}],
            "template": {"user": "{{ question }}", "assistant": "{{ answer }}"},
            "quality": {"min_chars": 10, "max_chars": 100_000},
        }
    }
    (root / "tunesmith.yaml").write_text(yaml.safe_dump(config))
    (root / "raw" / "empty.csv").write_text("")
    good = "How do I reset the password of my account?"
    rows = [
        b"question,answer\n",
        f"{good},Use the reset link on the login page.\n".encode(),
        b"broken row with no comma\n",
        b"Invalid \xff bytes in this question here,answer text\n",
        ("x" * 5_000_000 + ",too long\n").encode(),
        b",\n",
        b"Where can I download invoices for last year?,\n",
    ]
    (root / "raw" / "a.csv").write_bytes(b"".join(rows))
    result = _run(root)
    counts = result.manifest["counts"]
    assert counts["read"] == 6 and counts["kept"] == 1 and counts["quarantined"] == 5
    reasons = [
        json.loads(line) for line in (result.path / "quarantine.jsonl").read_text().splitlines()
    ]
    by_row = {r["row"]: r for r in reasons}
    assert "expected 2 fields" in by_row[2]["reason"]
    assert by_row[3]["field"] == "question" and "UTF-8" in by_row[3]["reason"]
    assert by_row[4]["reason"].startswith("too long")
    assert by_row[5]["reason"] == "empty row"
    assert by_row[6]["reason"] == "template assistant: renders empty"


def test_missing_template_field_is_quarantined_not_a_crash(tmp_path: Path) -> None:
    root = tmp_path / "ws"
    (root / "raw").mkdir(parents=True)
    (root / "raw" / "a.jsonl").write_text(
        '{"question": "What are your opening hours on Sunday?", "answer": "We are closed."}\n'
        '{"question": "Do you ship to Norway and Iceland?"}\n'
    )
    config = {
        "data": {
            "name": "qa",
            "sources": [{"path": "raw/a.jsonl"}],
            "template": {"user": "{{ question }}", "assistant": "{{ answer }}"},
        }
    }
    (root / "tunesmith.yaml").write_text(yaml.safe_dump(config))
    result = _run(root)
    (rejected,) = [
        json.loads(x) for x in (result.path / "quarantine.jsonl").read_text().splitlines()
    ]
    assert rejected["row"] == 2 and rejected["field"] == "answer"
    assert result.manifest["counts"]["kept"] == 1


def test_missing_source_fails_with_its_path(tmp_path: Path) -> None:
    root = tmp_path / "ws"
    root.mkdir()
    config = {
        "data": {
            "name": "x",
            "sources": [{"path": "raw/none.csv"}],
            "template": {"user": "{{ a }}"},
        }
    }
    (root / "tunesmith.yaml").write_text(yaml.safe_dump(config))
    with pytest.raises(FileNotFoundError, match=r"raw/none\.csv"):
        _run(root)
    assert not (root / "datasets" / "x" / "v1").exists()
