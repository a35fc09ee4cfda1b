"""A `tunesmith train` process killed with SIGKILL resumes to the adapter of an unbroken run.

Unlike `test_run.test_interrupted_run_resumes_to_the_same_adapter`, which raises inside the
process, this kills a real CLI process without warning: no exception handler, no `finally`,
no MLflow `end_run` runs. Only what already lies on disk (COMPLETE checkpoints) survives.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import yaml

from tunesmith.config.workspace import Workspace
from tunesmith.data.curate import curate
from tunesmith.train.callbacks import COMPLETE_MARKER

MAX_STEPS = 12
SAVE_STEPS = 4
TRAIN = {
    "lora_r": 4,
    "lora_alpha": 8,
    "learning_rate": 5e-3,
    "max_steps": MAX_STEPS,
    "batch_size": 4,
    "eval_steps": SAVE_STEPS,
    "save_steps": SAVE_STEPS,
    "logging_steps": 2,
    "max_length": 384,
    "warmup_ratio": 0.0,
    "early_stopping_patience": None,
}
TIMEOUT_S = 180
# cli.py has no `__main__` guard, so `python -m tunesmith.cli` would do nothing; call main().
CLI = [sys.executable, "-c", "from tunesmith.cli import main; main()"]


def _env() -> dict[str, str]:
    env = dict(os.environ)
    env.pop("TUNESMITH_MLFLOW_URI", None)  # each workspace keeps its own SQLite store
    env.update(HF_HUB_OFFLINE="1", TRANSFORMERS_OFFLINE="1", HF_DATASETS_OFFLINE="1")
    # Two runs share the CPU at first; one thread each avoids oversubscribing it. Every run
    # gets the same setting, so the arithmetic (and the adapters) stay comparable.
    env["OMP_NUM_THREADS"] = "1"
    return env


def _start(workspace: Path, log: Path, *args: str) -> subprocess.Popen[bytes]:
    """`tunesmith <args>` in the workspace, its stdout and stderr in `log`."""
    with log.open("wb") as out:
        return subprocess.Popen(
            [*CLI, *args], cwd=workspace, env=_env(), stdout=out, stderr=subprocess.STDOUT
        )


def _finish(process: subprocess.Popen[bytes], log: Path) -> str:
    """Wait for a run that must succeed; its output."""
    try:
        process.wait(timeout=TIMEOUT_S)
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
    output = log.read_text(errors="replace")
    assert process.returncode == 0, output
    return output


def _only_run(workspace: Path) -> Path | None:
    runs = sorted((workspace / "runs").glob("*"))
    assert len(runs) <= 1, runs
    return runs[0] if runs else None


def _complete_steps(run: Path | None) -> list[int]:
    if run is None:
        return []
    return sorted(
        int(p.name.removeprefix("checkpoint-"))
        for p in (run / "checkpoints").glob("checkpoint-*")
        if (p / COMPLETE_MARKER).is_file()
    )


def _losses(run: Path) -> dict[tuple[int, str], float]:
    """(step, train_loss|val_loss) -> value from metrics.jsonl (a repeated step keeps its last)."""
    out = {}
    for line in (run / "metrics.jsonl").read_text().splitlines():
        record = json.loads(line)
        for key in ("train_loss", "val_loss"):
            if key in record:
                out[record["step"], key] = record[key]
    return out


@pytest.mark.timeout(3 * TIMEOUT_S)
def test_sigkilled_run_resumes_to_the_same_adapter(
    workspace: Path, tiny_model_dir: Path, tmp_path: Path
) -> None:
    from safetensors.torch import load_file

    raw = yaml.safe_load((workspace / "tunesmith.yaml").read_text())
    raw["base_model"] = {"name": "tiny-llama", "path": str(tiny_model_dir)}
    raw["train"] = TRAIN
    (workspace / "tunesmith.yaml").write_text(yaml.safe_dump(raw))
    ws = Workspace(workspace)
    curate(ws, ws.load_config().data, workers=1)
    killed_ws = tmp_path / "killed"
    shutil.copytree(workspace, killed_ws)  # the same dataset version, byte for byte

    # The uninterrupted reference runs alongside the run to be killed, to save wall time.
    straight = _start(workspace, tmp_path / "straight.log", "train")
    process = _start(killed_ws, tmp_path / "killed.log", "train")
    deadline = time.monotonic() + TIMEOUT_S
    seen: list[int] = []
    try:
        while process.poll() is None and time.monotonic() < deadline:
            seen = _complete_steps(_only_run(killed_ws))
            if any(step > 0 for step in seen):
                os.kill(process.pid, signal.SIGKILL)
                break
            time.sleep(0.05)
    finally:
        if process.poll() is None and not seen:
            process.kill()  # timed out or the test broke: leave no process behind
        process.wait(timeout=30)
    _finish(straight, tmp_path / "straight.log")
    killed_output = (tmp_path / "killed.log").read_text(errors="replace")
    assert seen, f"no COMPLETE checkpoint appeared (exit {process.returncode}):\n{killed_output}"
    assert process.returncode == -signal.SIGKILL, (
        f"the run ended on its own (exit {process.returncode}) before it could be killed"
    )
    run = _only_run(killed_ws)
    assert run is not None
    at_kill = _complete_steps(run)
    assert MAX_STEPS not in at_kill, (
        f"the kill landed after the last checkpoint (complete: {at_kill}); "
        "the run is too fast for this test to interrupt it"
    )
    assert not (run / "summary.json").exists(), "the run finished before the kill"
    assert not (run / "adapter").exists(), "the run finished before the kill"

    resumed = _finish(
        _start(killed_ws, tmp_path / "resumed.log", "train", "--resume", run.name),
        tmp_path / "resumed.log",
    )
    assert f"{MAX_STEPS} steps" in resumed, resumed
    assert _only_run(killed_ws) == run  # continued in place, no new run folder
    assert json.loads((run / "summary.json").read_text())["steps"] == MAX_STEPS
    assert _complete_steps(run)[-1] == MAX_STEPS

    # It continued from checkpoint-N rather than starting over: steps up to N were logged once.
    logged = [json.loads(x) for x in (run / "metrics.jsonl").read_text().splitlines()]
    early = [(m["step"], "val_loss" in m) for m in logged if m["step"] <= at_kill[-1]]
    assert len(early) == len(set(early)), f"steps up to {at_kill[-1]} ran twice: {early}"

    reference = _only_run(workspace)
    assert reference is not None
    losses, expected = _losses(run), _losses(reference)
    assert max(step for step, _ in losses) == MAX_STEPS
    assert losses.keys() == expected.keys()
    for key, value in expected.items():
        assert losses[key] == pytest.approx(value, abs=1e-5), key

    a = load_file(reference / "adapter" / "adapter_model.safetensors")
    b = load_file(run / "adapter" / "adapter_model.safetensors")
    assert a.keys() == b.keys()
    differ = {
        key: float((a[key] - b[key]).abs().max())
        for key in a
        if not (a[key] - b[key]).abs().max() < 1e-5
    }
    assert not differ, f"adapters differ after the resume (max abs diff per tensor): {differ}"
