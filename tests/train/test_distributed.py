"""`tunesmith train --nproc 2`: DDP over gloo matches one process accumulating the same batch."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from tests.train.test_run import _workspace
from tunesmith.config import load_config
from tunesmith.train.distributed import launch
from tunesmith.train.run import train

STEPS = {"max_steps": 6, "logging_steps": 1, "eval_steps": 3, "save_steps": 3}


def _losses(run: Path) -> dict[int, float]:
    lines = (run / "metrics.jsonl").read_text().splitlines()
    return {m["step"]: m["train_loss"] for m in map(json.loads, lines) if "train_loss" in m}


@pytest.mark.timeout(600)
def test_two_processes_give_the_loss_curve_of_one_with_accumulation(
    workspace: Path, tiny_model_dir: Path, tmp_path: Path
) -> None:
    other = tmp_path / "ddp"
    shutil.copytree(workspace, other)
    single = _workspace(workspace, tiny_model_dir, batch_size=2, grad_accum=2, **STEPS)
    one = train(single, load_config(single.config_path))
    ddp = _workspace(other, tiny_model_dir, batch_size=2, grad_accum=1, **STEPS)
    run_id = launch(ddp, 2)
    run = other / "runs" / run_id
    a, b = _losses(one.path), _losses(run)
    assert sorted(a) == sorted(b) == list(range(1, 7))
    for step in a:
        assert b[step] == pytest.approx(a[step], rel=2e-3), (step, a, b)
    assert a[6] < a[1]
    assert (run / "adapter" / "adapter_model.safetensors").is_file()
    assert json.loads((run / "summary.json").read_text())["steps"] == 6
