"""A retraining cycle's record on disk: the open cycle (`current.json`), the finished ones
(`cycle-*.json`), and clearing what a killed step left behind."""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path
from typing import Any

from tunesmith.config.workspace import Workspace


def loop_dir(ws: Workspace) -> Path:
    return ws.state_dir / "loop"


def last_cycle(ws: Workspace) -> dict[str, Any] | None:
    """The newest finished cycle's record."""
    finished = sorted(loop_dir(ws).glob("cycle-*.json"))
    return json.loads(finished[-1].read_text(encoding="utf-8")) if finished else None


def save_cycle(ws: Workspace, cycle: dict[str, Any]) -> None:
    path = loop_dir(ws) / "current.json"
    path.parent.mkdir(parents=True, exist_ok=True)
    staging = path.with_name(f".current.{os.getpid()}")
    staging.write_text(json.dumps(cycle, indent=2) + "\n", encoding="utf-8")
    os.replace(staging, path)


def clear_stale_run(ws: Workspace, run_id: str) -> None:
    """A run folder without its config was cut off before training began: start again."""
    run_dir = ws.runs_dir / run_id
    if run_dir.is_dir() and not (run_dir / "config.yaml").is_file():
        shutil.rmtree(run_dir)
