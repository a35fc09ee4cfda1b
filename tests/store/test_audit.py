"""The audit log: a valid chain verifies, and every kind of tampering is named at its line."""

from __future__ import annotations

import hashlib
import itertools
import json
import multiprocessing
from multiprocessing.synchronize import Event
from pathlib import Path

import pytest

from tunesmith.store.audit import (
    ACTOR_ENV,
    GENESIS_HASH,
    AuditError,
    append,
    audit_path,
    entries,
    entry_hash,
    verify,
)

DIGEST = hashlib.sha256(b"dataset").hexdigest()
STEPS = ("curate", "train", "eval", "register", "approve")


@pytest.fixture
def log(tmp_path: Path) -> Path:
    """A log of the five stages of one model, in order."""
    path = audit_path(tmp_path / "ws" / ".tunesmith")
    for step in STEPS:
        append(path, step, "support-tickets/v1", {"data": DIGEST}, {"out": DIGEST}, actor="ana")
    return path


def lines(path: Path) -> list[str]:
    return path.read_text(encoding="utf-8").splitlines(keepends=True)


def write(path: Path, rows: list[str]) -> None:
    path.write_text("".join(rows), encoding="utf-8")


def test_appended_entries_form_a_chain(log: Path) -> None:
    listed = entries(log)
    assert [e.seq for e in listed] == [0, 1, 2, 3, 4]
    assert [e.action for e in listed] == list(STEPS)
    assert listed[0].prev_hash == GENESIS_HASH
    for before, after in itertools.pairwise(listed):
        assert after.prev_hash == before.hash
    first = json.loads(lines(log)[0])
    assert entry_hash(first) == first["hash"] == listed[0].hash
    assert first["time"].endswith("Z") and first["inputs"] == {"data": DIGEST}

    report = verify(log)
    assert report.ok and report.entries == 5 and report.reason is None
    assert report.head_hash == listed[-1].hash
    assert report.first_bad_line is None and report.first_bad_seq is None


def test_missing_or_empty_log_verifies_with_no_entries(tmp_path: Path) -> None:
    missing = verify(tmp_path / "audit.jsonl")
    assert missing.ok and missing.entries == 0 and missing.head_hash is None
    assert "empty" in missing.message
    (tmp_path / "audit.jsonl").touch()
    assert verify(tmp_path / "audit.jsonl").ok
    assert entries(tmp_path / "audit.jsonl") == []


def test_edited_entry_is_named(log: Path) -> None:
    rows = lines(log)
    record = json.loads(rows[2])
    record["actor"] = "mallory"  # hash left as it was
    rows[2] = json.dumps(record) + "\n"
    write(log, rows)

    report = verify(log)
    assert not report.ok
    assert (report.first_bad_line, report.first_bad_seq) == (3, 2)
    assert "edited" in report.reason and report.reason.startswith("line 3 (seq 2)")
    assert report.entries == 2  # the two before it still verify


def test_edited_and_rehashed_entry_breaks_the_next_link(log: Path) -> None:
    rows = lines(log)
    record = json.loads(rows[2])
    record["outputs"] = {"out": hashlib.sha256(b"other").hexdigest()}
    record["hash"] = entry_hash(record)
    rows[2] = json.dumps(record) + "\n"
    write(log, rows)

    report = verify(log)
    assert (report.ok, report.first_bad_line, report.first_bad_seq) == (False, 4, 3)
    assert "prev_hash does not match line 3's hash" in report.reason


def test_removed_entry_is_named(log: Path) -> None:
    rows = lines(log)
    del rows[1]
    write(log, rows)

    report = verify(log)
    assert not report.ok and report.first_bad_line == 2 and report.first_bad_seq == 2
    assert "seq 2 where 1 was expected" in report.reason
    assert "removed or reordered" in report.reason


def test_reordered_entries_are_named(log: Path) -> None:
    rows = lines(log)
    rows[1], rows[2] = rows[2], rows[1]
    write(log, rows)

    report = verify(log)
    assert not report.ok and report.first_bad_line == 2
    assert "removed or reordered" in report.reason


def test_renumbered_entries_still_break_the_chain(log: Path) -> None:
    """Deleting an entry and fixing up the later seqs (without rehashing) is still caught."""
    rows = [json.loads(r) for r in lines(log)]
    del rows[1]
    for seq, record in enumerate(rows):
        record["seq"] = seq
    write(log, [json.dumps(r) + "\n" for r in rows])

    report = verify(log)
    assert (report.ok, report.first_bad_line) == (False, 2)
    assert "prev_hash does not match" in report.reason


def test_truncated_tail_is_caught_only_with_expected_head(log: Path) -> None:
    head = verify(log).head_hash
    assert head is not None
    write(log, lines(log)[:3])

    assert verify(log).ok  # the chain alone cannot tell
    report = verify(log, expected_head=head)
    assert not report.ok and report.entries == 3
    assert f"ends at seq 2 with hash {report.head_hash}" in report.reason
    assert head in report.reason and "removed from the end" in report.reason

    write(log, [])
    assert "the log is empty" in verify(log, expected_head=head).reason


def test_expected_head_still_holds_after_later_appends(log: Path) -> None:
    head = verify(log).head_hash
    append(log, "promote", "support-tickets/v1", actor="ana")
    assert verify(log, expected_head=head).ok
    assert verify(log, expected_head=head.upper()).ok


def test_append_refuses_a_corrupted_last_line(log: Path) -> None:
    with log.open("a", encoding="utf-8") as handle:
        handle.write('{"seq": 5, "broken\n')
    before = log.read_bytes()
    with pytest.raises(AuditError, match=r"line 6 \(the last\) is not a valid entry"):
        append(log, "promote", "support-tickets/v1")
    assert log.read_bytes() == before
    assert verify(log).first_bad_line == 6


def test_append_refuses_an_edited_last_entry(log: Path) -> None:
    rows = lines(log)
    rows[-1] = rows[-1].replace('"ana"', '"eve"')
    write(log, rows)
    with pytest.raises(AuditError, match="does not match its hash"):
        append(log, "promote", "support-tickets/v1")


def test_append_refuses_a_cut_short_write(log: Path) -> None:
    log.write_bytes(log.read_bytes()[:-10])
    with pytest.raises(AuditError, match="without a newline"):
        append(log, "promote", "support-tickets/v1")
    assert "no newline" in verify(log).reason


def test_bad_arguments_leave_no_trace(tmp_path: Path) -> None:
    path = tmp_path / "audit.jsonl"
    with pytest.raises(ValueError, match="sha256"):
        append(path, "train", "run-1", inputs={"data": "not-a-digest"})
    with pytest.raises(ValueError, match="action"):
        append(path, "Train!", "run-1")
    with pytest.raises(ValueError):
        append(path, "train", "run-1", details={"loss": float("nan")})
    assert not path.exists()


def test_actor_comes_from_the_environment(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(ACTOR_ENV, "ci-bot")
    path = tmp_path / "audit.jsonl"
    assert append(path, "train", "run-1").actor == "ci-bot"
    assert append(path, "approve", "run-1", actor="lead").actor == "lead"
    monkeypatch.delenv(ACTOR_ENV)
    assert append(path, "promote", "run-1").actor  # the login name
    assert verify(path).ok


def _append_many(path: str, name: str, count: int, start: Event) -> None:
    start.wait(10)
    for i in range(count):
        append(Path(path), "train", f"{name}-{i}", details={"i": i}, actor=name)


def test_concurrent_appends_keep_one_chain(tmp_path: Path) -> None:
    path = tmp_path / "audit.jsonl"
    ctx = multiprocessing.get_context("fork")
    start = ctx.Event()
    workers = [
        ctx.Process(target=_append_many, args=(str(path), name, 20, start)) for name in ("a", "b")
    ]
    for worker in workers:
        worker.start()
    start.set()
    for worker in workers:
        worker.join(60)
        assert worker.exitcode == 0

    report = verify(path)
    assert report.ok and report.entries == 40
    listed = entries(path)
    assert sorted(e.actor for e in listed) == ["a"] * 20 + ["b"] * 20
    for name in ("a", "b"):  # each writer's own entries stay in its order
        assert [e.subject for e in listed if e.actor == name] == [f"{name}-{i}" for i in range(20)]
