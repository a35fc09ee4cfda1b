from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
import yaml

from tunesmith.config.workspace import Workspace
from tunesmith.data.curate import curate
from tunesmith.data.normalise import normalise_text
from tunesmith.examples.support_tickets import generate_tickets

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
            "sources": [{"path": "raw/a.csv"}],
            "template": {"user": "{{ question }}", "assistant": "{{ answer }}"},
            "quality": {"min_chars": 10, "max_chars": 100_000},
        }
    }
    (root / "tunesmith.yaml").write_text(yaml.safe_dump(config))
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


def _qa_workspace(root: Path, data: dict, files: dict[str, bytes | str]) -> Path:
    (root / "raw").mkdir(parents=True)
    for name, content in files.items():
        target = root / "raw" / name
        target.parent.mkdir(parents=True, exist_ok=True)
        if isinstance(content, bytes):
            target.write_bytes(content)
        else:
            target.write_text(content, encoding="utf-8")
    template = {"user": "{{ question }}", "assistant": "{{ answer }}"}
    (root / "tunesmith.yaml").write_text(
        yaml.safe_dump({"data": {"name": "qa", "template": template, **data}})
    )
    return root


def test_empty_source_and_config_typos_are_clear_errors(tmp_path: Path) -> None:
    from tunesmith.data.readers import SourceError

    empty = _qa_workspace(tmp_path / "a", {"sources": [{"path": "raw/e.csv"}]}, {"e.csv": ""})
    with pytest.raises(SourceError, match="no rows"):
        _run(empty)
    typo = _qa_workspace(
        tmp_path / "b",
        {"sources": [{"path": "raw/q.csv"}], "dedup": {"fields": ["questoin"]}},
        {"q.csv": "question,answer\nWhere is my parcel from last week?,On its way.\n"},
    )
    with pytest.raises(SourceError, match=r"data.dedup.fields\[0\] 'questoin' is not a column"):
        _run(typo)
    assert not list((typo / "datasets" / "qa").glob(".staging-*"))


def test_a_row_that_fails_its_template_never_hides_its_duplicate(tmp_path: Path) -> None:
    root = _qa_workspace(
        tmp_path / "ws",
        {"sources": [{"path": "raw/q.csv"}], "dedup": {"fields": ["question"]}},
        {
            "q.csv": "question,answer\nMy parcel never arrived please help,\n"
            "My parcel never arrived please help,We resent it today.\n"
        },
    )
    result = _run(root)
    counts = result.manifest["counts"]
    assert counts["kept"] == 1 and counts["quarantined"] == 1
    (record,) = _records(result.path)
    assert record["messages"][-1]["content"] == "We resent it today."


def test_exact_copy_of_a_near_duplicate_joins_the_kept_rows_cluster(tmp_path: Path) -> None:
    base = "The invoice for March shows the wrong amount and the VAT number is missing again"
    rows = [base, base + " today", base + " today"]
    csv = "question,answer\n" + "".join(f"{q},Fixed it.\n" for q in rows)
    root = _qa_workspace(
        tmp_path / "ws",
        {"sources": [{"path": "raw/q.csv"}], "dedup": {"fields": ["question"]}},
        {"q.csv": csv},
    )
    clusters = _run(root).manifest["duplicate_clusters"]
    assert len(clusters) == 1 and clusters[0]["kept"]["row"] == 1
    assert [(m["row"], m["kind"]) for m in clusters[0]["members"]] == [(2, "near"), (3, "exact")]


def test_folder_of_csvs_bom_jsonl_and_template_errors(tmp_path: Path) -> None:
    root = _qa_workspace(
        tmp_path / "ws",
        {
            "sources": [{"path": "raw/parts", "format": "csv"}, {"path": "raw/b.jsonl"}],
            "template": {"user": "{{ question }}", "assistant": "{{ '%.2f' | format(answer) }}"},
        },
        {
            "parts/1.csv": "question,answer\nHow much is the premium plan per month?,12\n",
            "parts/2.csv": "question,answer\nHow much is the basic plan per month?,5\n",
            "b.jsonl": "\ufeff"
            + json.dumps({"question": "And the enterprise plan, per year?", "answer": 99.5}),
        },
    )
    # Every field is text, so the float format fails on all three rows: quarantined, not a crash.
    result = _run(root)
    counts = result.manifest["counts"]
    assert counts["read"] == 3 and counts["kept"] == 0 and counts["quarantined"] == 3
    quarantine = [
        json.loads(x) for x in (result.path / "quarantine.jsonl").read_text().splitlines()
    ]
    sources = {q["source"] for q in quarantine}
    assert sources == {"raw/parts/1.csv", "raw/parts/2.csv", "raw/b.jsonl"}
    assert all("TypeError" in q["reason"] for q in quarantine)  # the BOM line parsed


def test_personal_data_in_the_id_field_is_refused(workspace: Path) -> None:
    from tunesmith.data.readers import SourceError

    raw = yaml.safe_load((workspace / "tunesmith.yaml").read_text())
    raw["data"]["sources"][0]["id_field"] = "customer_email"
    (workspace / "tunesmith.yaml").write_text(yaml.safe_dump(raw))
    with pytest.raises(SourceError, match="holds personal data"):
        _run(workspace)
