"""Audit log: an append-only, hash-chained record of who curated, trained, evaluated,
registered, approved and promoted what, with inputs and outputs named by sha256.

One JSON object per line in `<workspace>/.tunesmith/audit.jsonl`. Each entry holds its
position (`seq`, 0-based), the previous entry's hash (`prev_hash`, 64 zeros for the first) and
its own `hash`: the sha256 of its canonical JSON without the `hash` key. So an edited entry no
longer matches its hash, and a removed or reordered one breaks the `seq` run and the chain.
`verify` names the first line that fails.

Known limits, by construction of any hash chain:
- Removing the *last* entries leaves a valid, shorter chain. `verify` returns the head hash so
  it can be recorded elsewhere (a registry entry, a ticket) and passed back as `expected_head`:
  a log that no longer holds that entry was cut short or replaced.
- Someone who rewrites the whole file and recomputes every hash also produces a valid chain;
  the same recorded head is what catches it.
"""

from __future__ import annotations

import fcntl
import getpass
import hashlib
import json
import os
import re
from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import Any

from tunesmith.store.clock import utc_timestamp

ACTOR_ENV = "TUNESMITH_ACTOR"
GENESIS_HASH = "0" * 64
# Stages that write entries today or are planned to; `append` accepts any name of this shape
# so serving and retraining can add theirs without a schema change.
ACTIONS = (
    "curate",
    "train",
    "eval",
    "register",
    "approve",
    "promote",
    "rollback",
    "docs",
    "serve",
    "key.create",
    "key.revoke",
    "retrain",
    "feedback",
    "align",
)
_ACTION = re.compile(r"^[a-z][a-z0-9_.-]*$")
_SHA256 = re.compile(r"^[0-9a-f]{64}$")
_TAIL_BLOCK = 1 << 16
_MOVED = "an entry was removed or reordered"


class AuditError(Exception):
    """The log cannot be extended or read as it stands; the message names file and line."""


@dataclass(frozen=True)
class AuditEntry:
    seq: int
    time: str
    actor: str
    action: str
    subject: str
    inputs: dict[str, str] = field(default_factory=dict)
    outputs: dict[str, str] = field(default_factory=dict)
    details: dict[str, Any] = field(default_factory=dict)
    prev_hash: str = GENESIS_HASH
    hash: str = ""


KEYS = tuple(f.name for f in fields(AuditEntry))


@dataclass(frozen=True)
class VerifyReport:
    """`entries` and `head_hash` cover the entries that verified, up to the first bad one."""

    ok: bool
    entries: int
    head_hash: str | None
    first_bad_line: int | None = None
    first_bad_seq: int | None = None
    reason: str | None = None

    @property
    def message(self) -> str:
        if not self.ok:
            return f"audit log FAILED verification: {self.reason}"
        if self.entries == 0:
            return "audit log ok: it is empty (nothing recorded yet)"
        return f"audit log ok: {self.entries} entries, head {self.head_hash}"


def audit_path(state_dir: Path) -> Path:
    return state_dir / "audit.jsonl"


def _canonical(record: dict[str, Any]) -> bytes:
    # One byte string per content: key order and spacing can't change a hash; NaN is refused
    # because it is not JSON and would not read back everywhere.
    text = json.dumps(
        record, sort_keys=True, separators=(",", ":"), ensure_ascii=False, allow_nan=False
    )
    return text.encode("utf-8")


def entry_hash(record: dict[str, Any]) -> str:
    """The hash an entry must carry: sha256 of its canonical JSON without the `hash` key."""
    return hashlib.sha256(_canonical({k: v for k, v in record.items() if k != "hash"})).hexdigest()


def _check_digests(kind: str, digests: dict[str, str]) -> dict[str, str]:
    for name, value in digests.items():
        if not isinstance(name, str) or not isinstance(value, str) or not _SHA256.match(value):
            raise ValueError(
                f"{kind}[{name!r}] must be a lowercase sha256 hex digest, got {value!r}"
            )
    return dict(digests)


def _shape_error(record: Any) -> str | None:
    """Why a parsed line is not an entry, or None when every key is there with its type."""
    if not isinstance(record, dict):
        return "not a JSON object"
    if set(record) != set(KEYS):
        missing = sorted(set(KEYS) - set(record))
        extra = sorted(set(record) - set(KEYS))
        return f"keys differ from an entry's (missing {missing}, unexpected {extra})"
    for key in KEYS:
        kind = {"seq": int, "inputs": dict, "outputs": dict, "details": dict}.get(key, str)
        if not isinstance(record[key], kind) or isinstance(record[key], bool):
            return f"{key} is not of type {kind.__name__}"
    return "seq is negative" if record["seq"] < 0 else None


def _parse(raw: bytes) -> tuple[dict[str, Any] | None, str | None]:
    try:
        record = json.loads(raw.decode("utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as error:
        return None, f"not valid JSON ({error})"
    problem = _shape_error(record)
    return (None, problem) if problem else (record, None)


def _last_line(fd: int) -> bytes | None:
    """The file's last line without its newline, None when the file is empty."""
    size = os.fstat(fd).st_size
    if size == 0:
        return None
    if os.pread(fd, 1, size - 1) != b"\n":
        raise AuditError("ends without a newline: the last write was cut short")
    # Read backwards a block at a time (the log only grows) until the newline that ends the
    # line before; `tail` is always the bytes from `start` up to the final newline.
    start, tail = size - 1, b""
    while start > 0:
        step = min(_TAIL_BLOCK, start)
        start -= step
        tail = os.pread(fd, step, start) + tail
        cut = tail.rfind(b"\n")
        if cut != -1:
            return tail[cut + 1 :]
    return tail


def append(
    path: Path,
    action: str,
    subject: str,
    inputs: dict[str, str] | None = None,
    outputs: dict[str, str] | None = None,
    details: dict[str, Any] | None = None,
    actor: str | None = None,
) -> AuditEntry:
    """Add one entry after the last, under an exclusive lock, and fsync it before returning."""
    if not _ACTION.match(action):
        raise ValueError(f"action must be a lowercase name such as {ACTIONS[:3]}, got {action!r}")
    if not subject:
        raise ValueError("subject must name what the action was about (a dataset, a run id)")
    who = actor or current_actor()
    # Checked before the file is touched, so a bad argument never leaves a trace in the log.
    body = {
        "actor": who,
        "action": action,
        "subject": subject,
        "inputs": _check_digests("inputs", inputs or {}),
        "outputs": _check_digests("outputs", outputs or {}),
        # Round-tripped so the hash covers exactly what a reader will load back.
        "details": json.loads(_canonical(details or {})),
    }
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, os.O_RDWR | os.O_CREAT | os.O_APPEND, 0o644)
    try:
        # Held from reading the head to the fsync: two writers can't both extend the same head
        # and fork the chain. Released when the descriptor closes.
        fcntl.flock(fd, fcntl.LOCK_EX)
        try:
            last = _last_line(fd)
        except AuditError as error:
            raise AuditError(f"{path}: {error}; refusing to append") from None
        seq, prev_hash = 0, GENESIS_HASH
        if last is not None:
            record, problem = _parse(last)
            if record is not None and entry_hash(record) != record["hash"]:
                problem = "content does not match its hash"
            if record is None or problem:
                with path.open("rb") as handle:  # its number, for the message only
                    line = sum(1 for _ in handle)
                raise AuditError(
                    f"{path}: line {line} (the last) is not a valid entry: {problem}; "
                    "refusing to extend a corrupted chain (run `tunesmith audit verify`)"
                )
            seq, prev_hash = record["seq"] + 1, record["hash"]
        now = utc_timestamp(timespec="microseconds")
        record = {"seq": seq, "time": now, **body, "prev_hash": prev_hash}
        record["hash"] = entry_hash(record)
        data = _canonical(record) + b"\n"
        # One write with O_APPEND: the line lands whole at the end; a short write is finished
        # under the lock rather than left for the next writer to extend.
        size = os.fstat(fd).st_size
        try:
            written = os.write(fd, data)
            while written < len(data):
                written += os.write(fd, data[written:])
            os.fsync(fd)
        except OSError:
            # a half-written line would make every later append refuse: take it back
            os.ftruncate(fd, size)
            raise
    finally:
        os.close(fd)
    return AuditEntry(**record)


def current_actor() -> str:
    """Who is acting: $TUNESMITH_ACTOR, else the login name."""
    return os.environ.get(ACTOR_ENV) or _login()


def _login() -> str:
    try:
        return getpass.getuser()
    except (KeyError, OSError):  # containers run as a uid with no passwd entry
        return f"uid:{os.getuid()}"


def _check_line(
    line_no: int, raw: bytes, count: int, head: str | None
) -> tuple[dict[str, Any] | None, int | None, str | None]:
    """(entry, None, None) if line `line_no` is entry `count` after `head`, else
    (None, its seq if readable, why not)."""
    if not raw.endswith(b"\n"):
        return None, None, f"line {line_no}: no newline at its end: cut short or edited"
    record, problem = _parse(raw[:-1])
    if record is None:
        return None, None, f"line {line_no}: {problem}"
    seq = record["seq"]
    where = f"line {line_no} (seq {seq})"
    before = f"line {line_no - 1}'s hash" if head else "the genesis hash (64 zeros)"
    # seq first, so a removed or moved entry is named as such rather than as a chain mismatch.
    if seq != count:
        reason = f"line {line_no}: seq {seq} where {count} was expected: {_MOVED}"
    elif record["prev_hash"] != (head or GENESIS_HASH):
        reason = f"{where}: prev_hash does not match {before}: {_MOVED}, or edited and rehashed"
    elif entry_hash(record) != record["hash"]:
        reason = f"{where}: content edited: hash does not match"
    else:
        return record, None, None
    return None, seq, reason


def verify(path: Path, expected_head: str | None = None) -> VerifyReport:
    """Check every line in order and report the first that is malformed, out of place or edited.

    `expected_head`, a hash recorded earlier outside the log: the log must still hold that
    entry, else its tail was removed or the whole log replaced.
    """
    head: str | None = None
    count = 0
    wanted = expected_head.lower() if expected_head is not None else None
    if path.exists():
        with path.open("rb") as handle:
            for line_no, raw in enumerate(handle, start=1):
                record, seq, reason = _check_line(line_no, raw, count, head)
                if record is None:
                    return VerifyReport(False, count, head, line_no, seq, reason)
                head, count = record["hash"], count + 1
                if head == wanted:
                    wanted = None  # found: every entry up to it is as recorded
    if wanted is not None:
        ends = f"ends at seq {count - 1} with hash {head}" if head else "is empty"
        reason = (
            f"the log {ends}; expected head {wanted}: "
            "entries were removed from the end or the log was replaced"
        )
        return VerifyReport(False, count, head, None, None, reason)
    return VerifyReport(True, count, head)


def entries(path: Path) -> list[AuditEntry]:
    """Every entry in file order, for listing; does not check the chain (that is `verify`)."""
    if not path.exists():
        return []
    listed: list[AuditEntry] = []
    with path.open("rb") as handle:
        for line_no, raw in enumerate(handle, start=1):
            record, problem = _parse(raw.rstrip(b"\n"))
            if record is None:
                raise AuditError(f"{path}: line {line_no}: {problem}")
            listed.append(AuditEntry(**record))
    return listed
