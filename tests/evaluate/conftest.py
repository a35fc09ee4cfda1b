from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from tunesmith.config.workspace import Workspace
from tunesmith.data.curate import curate
from tunesmith.examples.scaffold import create_workspace
from tunesmith.train.run import train

from ..train.test_run import TRAIN


def set_config(root: Path, **sections: object) -> None:
    """Overwrite top-level sections of the workspace's tunesmith.yaml."""
    path = root / "tunesmith.yaml"
    raw = yaml.safe_load(path.read_text())
    raw.update(sections)
    path.write_text(yaml.safe_dump(raw))


@pytest.fixture(scope="module")
def trained(tmp_path_factory: pytest.TempPathFactory, tiny_model_dir: Path) -> tuple[Path, str]:
    """The bundled example curated and tuned (tiny model, 4 steps): a workspace and a run id."""
    root = create_workspace(tmp_path_factory.mktemp("eval") / "ws", "support-tickets", rows=200)
    set_config(
        root,
        base_model={"name": "tiny-llama", "path": str(tiny_model_dir)},
        train={**TRAIN, "max_steps": 4},
    )
    ws = Workspace(root)
    curate(ws, ws.load_config().data)
    result = train(ws, ws.load_config())
    return root, result.run_id
