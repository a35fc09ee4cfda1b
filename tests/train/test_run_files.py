"""Files that mark a run's state are whole or absent after a crash, and only follow the data
they vouch for onto the disk: the COMPLETE marker after its checkpoint's fsync, summary.json
(a finished run) written atomically after the adapter's."""

from __future__ import annotations

import io
import json
import os
from collections.abc import Callable
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest
from transformers import TrainerControl, TrainerState

from tunesmith.config import load_config
from tunesmith.train.callbacks import COMPLETE_MARKER, CompleteMarker, latest_complete_checkpoint
from tunesmith.train.run import train

from .test_run import _workspace


class Crash(BaseException):
    """The process dying mid-write: half the bytes reached the file."""


def _name(file: Any) -> str:
    return os.readlink(f"/proc/self/fd/{file}") if isinstance(file, int) else str(file)


def tear_writes(monkeypatch: pytest.MonkeyPatch, torn: Callable[[str], bool]) -> None:
    """Every open of a file whose name `torn` picks writes half its first write, then dies."""
    real_open = io.open

    class Torn:
        def __init__(self, handle: Any) -> None:
            self.handle = handle

        def write(self, data: Any) -> int:
            self.handle.write(data[: len(data) // 2])
            self.handle.flush()
            raise Crash

        def __getattr__(self, name: str) -> Any:
            return getattr(self.handle, name)

        def __enter__(self) -> Torn:
            return self

        def __exit__(self, *exc: object) -> None:
            self.handle.close()

    def opener(file: Any, mode: str = "r", *args: Any, **kwargs: Any) -> Any:
        handle = real_open(file, mode, *args, **kwargs)
        if "w" in mode and torn(Path(_name(file)).name):
            return Torn(handle)
        return handle

    monkeypatch.setattr(io, "open", opener)


def _checkpoint(output: Path, step: int, complete: bool) -> Path:
    folder = output / f"checkpoint-{step}"
    (folder / "nested").mkdir(parents=True)
    for name in ("adapter_model.safetensors", "optimizer.pt", "trainer_state.json"):
        (folder / name).write_bytes(os.urandom(1024))
    (folder / "nested" / "rng_state.pth").write_bytes(os.urandom(64))
    if complete:
        (folder / COMPLETE_MARKER).write_text(str(step))
    return folder


def _save(output: Path, step: int) -> None:
    args = SimpleNamespace(output_dir=str(output))  # on_save reads only output_dir
    CompleteMarker().on_save(args, TrainerState(global_step=step), TrainerControl())


def test_complete_is_written_after_every_checkpoint_file_is_fsynced(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    folder = _checkpoint(tmp_path, 12, complete=False)
    marker = folder / COMPLETE_MARKER
    synced: list[tuple[str, bool]] = []  # (what was flushed, whether COMPLETE existed then)
    real_fsync = os.fsync

    def recording_fsync(fd: int) -> None:
        synced.append((_name(fd), marker.exists()))
        real_fsync(fd)

    monkeypatch.setattr(os, "fsync", recording_fsync)
    _save(tmp_path, 12)
    assert marker.read_text() == "12"
    before = {path for path, marker_there in synced if not marker_there}
    files = {str(p) for p in folder.rglob("*") if p.is_file() and p.name != COMPLETE_MARKER}
    assert files <= before, f"not flushed before COMPLETE: {sorted(files - before)}"
    # the folders' entries too: a file flushed under a folder entry lost in a power cut is lost
    assert {str(folder), str(folder / "nested"), str(tmp_path)} <= before
    # and the marker's own rename reached the folder
    assert synced[-1] == (str(folder), True)


def test_a_crash_while_writing_complete_leaves_the_checkpoint_unmarked(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    _checkpoint(tmp_path, 8, complete=True)
    _checkpoint(tmp_path, 12, complete=False)
    tear_writes(monkeypatch, lambda name: COMPLETE_MARKER in name)
    with pytest.raises(Crash):
        _save(tmp_path, 12)
    monkeypatch.undo()
    assert not (tmp_path / "checkpoint-12" / COMPLETE_MARKER).exists()
    assert [p.name for p in (tmp_path / "checkpoint-12").iterdir() if p.name.startswith(".")] == []
    # resume trusts the previous checkpoint, not one whose marker is a torn "1"
    assert latest_complete_checkpoint(tmp_path) == tmp_path / "checkpoint-8"


def test_a_crash_while_writing_summary_leaves_the_run_resumable(
    workspace: Path, tiny_model_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import mlflow

    ws = _workspace(workspace, tiny_model_dir, max_steps=4, eval_steps=4, save_steps=4)
    config = load_config(ws.config_path)
    tear_writes(monkeypatch, lambda name: "summary.json" in name)
    with pytest.raises(Crash):
        train(ws, config)
    monkeypatch.undo()
    mlflow.end_run("KILLED")  # what the dead process's tracking run would have become
    (run,) = (workspace / "runs").iterdir()
    assert not (run / "summary.json").exists()  # not "finished" with a torn summary
    resumed = train(ws, config, resume=run.name)
    assert json.loads((run / "summary.json").read_text())["steps"] == resumed.steps >= 4
