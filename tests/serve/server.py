"""A workspace with two tiny trained runs registered, and a live server on it, for the tests."""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import yaml

from tunesmith.config.workspace import Workspace
from tunesmith.data.curate import curate
from tunesmith.examples.scaffold import create_workspace
from tunesmith.train.run import train

from ..train.test_run import TRAIN


def set_config(root: Path, **sections: object) -> None:
    path = root / "tunesmith.yaml"
    raw = yaml.safe_load(path.read_text())
    for name, values in sections.items():
        raw[name] = {**raw.get(name, {}), **values} if isinstance(values, dict) else values
    path.write_text(yaml.safe_dump(raw))


def trained_workspace(root: Path, base_dir: Path, runs: int = 2) -> tuple[Workspace, list[str]]:
    """The example curated and tuned `runs` times (2 steps each, different seeds)."""
    root = create_workspace(root, "support-tickets", rows=120)
    set_config(
        root,
        base_model={"name": "tiny-bpe", "path": str(base_dir)},
        train={**TRAIN, "max_steps": 2, "eval_steps": 2, "save_steps": 2},
        serve={"alias_refresh_seconds": 0.3, "max_tokens": 64},
    )
    ws = Workspace(root)
    curate(ws, ws.load_config().data)
    run_ids = []
    for seed in range(runs):
        set_config(root, train={"seed": seed})
        run_ids.append(train(ws, ws.load_config()).run_id)
    return ws, run_ids


@contextmanager
def live_server(app: Any) -> Iterator[str]:
    """uvicorn on a free loopback port in a thread; yields the base URL."""
    import uvicorn

    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    server = uvicorn.Server(uvicorn.Config(app, log_level="warning"))
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    deadline = time.monotonic() + 60
    while not server.started:
        assert time.monotonic() < deadline, "server did not start"
        time.sleep(0.05)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(timeout=30)
