"""Stage 8, version: immutable dataset versions, written atomically, identified by content.

A version's fingerprint hashes its inputs (every source file's sha256), its configuration and
the tunesmith version. Curating again with the same fingerprint as the latest version writes
nothing; anything else becomes v<N+1> with its parent recorded. Files are written into a
hidden staging folder and renamed into place, so a crash never leaves a half version.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import shutil
import tempfile
from pathlib import Path

_VERSION_DIR = re.compile(r"^v(\d+)$")


def sha256_file(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def sha256_tree(path: Path, files: list[Path] | None = None) -> str:
    """sha256 of a file, or of the sorted (relative path, sha256) list of a folder's files."""
    if path.is_file():
        return sha256_file(path)
    chosen = files if files is not None else [p for p in path.rglob("*") if p.is_file()]
    entries = [f"{p.relative_to(path).as_posix()}\x00{sha256_file(p)}" for p in sorted(chosen)]
    return hashlib.sha256("\n".join(entries).encode()).hexdigest()


def fingerprint(inputs: dict[str, object]) -> str:
    return hashlib.sha256(json.dumps(inputs, sort_keys=True).encode()).hexdigest()


def list_versions(dataset_dir: Path) -> list[int]:
    if not dataset_dir.is_dir():
        return []
    found = (_VERSION_DIR.match(p.name) for p in dataset_dir.iterdir() if p.is_dir())
    return sorted(int(m.group(1)) for m in found if m)


def latest_version(dataset_dir: Path) -> tuple[int, dict[str, object]] | None:
    versions = list_versions(dataset_dir)
    if not versions:
        return None
    manifest = dataset_dir / f"v{versions[-1]}" / "manifest.json"
    return versions[-1], json.loads(manifest.read_text(encoding="utf-8"))


def write_json(path: Path, data: object) -> None:
    path.write_text(json.dumps(data, ensure_ascii=False, indent=2) + "\n", encoding="utf-8")


def write_jsonl(path: Path, records: list[dict[str, object]]) -> None:
    with path.open("w", encoding="utf-8") as handle:
        for record in records:
            handle.write(json.dumps(record, ensure_ascii=False, separators=(",", ":")) + "\n")


def staging_dir(dataset_dir: Path) -> Path:
    """A fresh hidden folder beside the versions, on the same filesystem for the rename."""
    dataset_dir.mkdir(parents=True, exist_ok=True)
    for stale in dataset_dir.glob(".staging-*"):
        pid = stale.name.removeprefix(".staging-")
        if pid.isdigit() and not _alive(int(pid)):
            shutil.rmtree(stale, ignore_errors=True)  # left by a killed run
    path = dataset_dir / f".staging-{os.getpid()}"
    shutil.rmtree(path, ignore_errors=True)
    path.mkdir()
    return path


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def publish(staging: Path, dataset_dir: Path, number: int) -> Path:
    """Atomically move a finished staging folder to v<number>."""
    target = dataset_dir / f"v{number}"
    if target.exists():
        raise FileExistsError(f"{target} already exists (another curate ran concurrently?)")
    os.replace(staging, target)
    return target


def write_atomic(path: Path, data: bytes) -> None:
    """Temp file in the same folder, fsync, rename: a reader sees the old or the new file."""
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    fsync_dir(path.parent)  # the rename itself survives a power cut


def fsync_dir(path: Path) -> None:
    """Flush a folder's entries (files created, renamed or removed in it) to disk."""
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)
