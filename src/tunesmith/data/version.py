"""Stage 8, version: immutable dataset versions, written atomically, identified by content.

A version's fingerprint hashes its inputs (every source file's sha256), its configuration and
the tunesmith version. Curating again with the same fingerprint as the latest version writes
nothing; anything else becomes v<N+1> with its parent recorded. Files are written into a
hidden staging folder and renamed into place, so a crash never leaves a half version.
"""

from __future__ import annotations

import json
import os
import re
import shutil
from pathlib import Path
from typing import Any

from tunesmith.config.workspace import Workspace

_VERSION_DIR = re.compile(r"^v(\d+)$")


class DatasetError(ValueError):
    """A dataset, version or split that does not exist; the message names it."""


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


def resolve_dataset(workspace: Workspace, name: str, version: str) -> tuple[Path, dict[str, Any]]:
    folder = workspace.dataset_dir(name)
    if version == "latest":
        latest = latest_version(folder)
        if latest is None:
            raise DatasetError(
                f"no versions of dataset '{name}' in {folder}; run `tunesmith curate`"
            )
        version = f"v{latest[0]}"
    path = folder / version
    if not (path / "manifest.json").is_file():
        raise DatasetError(f"dataset version {path} does not exist")
    return path, json.loads((path / "manifest.json").read_text(encoding="utf-8"))


def read_split(path: Path, split: str) -> list[dict[str, Any]]:
    file = path / f"{split}.jsonl"
    if not file.is_file():
        raise DatasetError(f"{file}: split missing")
    return [json.loads(line) for line in file.read_text(encoding="utf-8").splitlines() if line]
