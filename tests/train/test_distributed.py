"""`tunesmith train --nproc 2`: DDP over gloo matches one process accumulating the same batch."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
from typer.testing import CliRunner

from tests.train.test_run import _workspace
from tunesmith.cli import app
from tunesmith.config import load_config
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
    _workspace(other, tiny_model_dir, batch_size=2, grad_accum=1, **STEPS)
    result = CliRunner().invoke(app, ["train", "-w", str(other), "--nproc", "2"])
    assert result.exit_code == 0, result.output
    (run,) = (other / "runs").iterdir()
    a, b = _losses(one.path), _losses(run)
    assert sorted(a) == sorted(b) == list(range(1, 7))
    for step in a:
        assert b[step] == pytest.approx(a[step], rel=2e-3), (step, a, b)
    assert a[6] < a[1]
    assert (run / "adapter" / "adapter_model.safetensors").is_file()
    ddp_summary = json.loads((run / "summary.json").read_text())
    one_summary = json.loads((one.path / "summary.json").read_text())
    assert ddp_summary["steps"] == 6
    # both processes' tokens are counted, and together they saw what the single one did
    assert ddp_summary["real_tokens"] == one_summary["real_tokens"]
