"""`tunesmith train --nproc N`: the same run in N processes through torchrun (DDP).

The launcher fixes the run id first so every process writes into one run folder; torchrun
starts `python -m tunesmith.train.distributed` N times and the Trainer (through accelerate)
shards batches and all-reduces gradients: gloo on CPU, NCCL on GPUs.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
from pathlib import Path

from tunesmith.config.workspace import Workspace
from tunesmith.data.version import resolve_dataset


class DistributedRunError(RuntimeError):
    """A process of a distributed run failed; its output above says why."""


def launch(workspace: Workspace, nproc: int, resume: str | None = None) -> str:
    """Run `train` in `nproc` local processes and wait; returns the run id."""
    from tunesmith.train.run import new_run_id

    config = workspace.load_config()
    if config.train.method == "qlora":
        # DDP broadcasts every parameter at start-up; NF4 tensor subclasses are not tested there
        raise DistributedRunError("method qlora runs in one process; drop --nproc")
    if resume:
        run_id = resume
    else:
        _, manifest = resolve_dataset(workspace, config.data.name, config.train.dataset)
        run_id = new_run_id(config, manifest["version"])
    command = [
        sys.executable,
        "-m",
        "torch.distributed.run",
        "--standalone",
        f"--nproc-per-node={nproc}",
        "-m",
        "tunesmith.train.distributed",
        str(workspace.root),
        run_id,
        *(["--resume"] if resume else []),
    ]
    # torchrun would pin every process to one thread; share the cores out instead
    threads = os.environ.get("OMP_NUM_THREADS") or str(max(1, (os.cpu_count() or 1) // nproc))
    finished = subprocess.run(command, check=False, env={**os.environ, "OMP_NUM_THREADS": threads})
    if finished.returncode != 0:
        started = (workspace.runs_dir / run_id / "config.yaml").is_file()
        resume_hint = f"; resume with: tunesmith train --nproc {nproc} --resume {run_id}"
        hint = resume_hint if started else ""
        raise DistributedRunError(
            f"distributed run {run_id} failed (exit {finished.returncode}), see above{hint}"
        )
    return run_id


def main(argv: list[str] | None = None) -> None:
    """One torchrun process: train with the launcher's run id."""
    from tunesmith.train.run import train

    parser = argparse.ArgumentParser(prog="tunesmith.train.distributed")
    parser.add_argument("workspace", type=Path)
    parser.add_argument("run_id")
    parser.add_argument("--resume", action="store_true")
    args = parser.parse_args(argv)
    workspace = Workspace(args.workspace)
    if args.resume:
        train(workspace, workspace.load_config(), resume=args.run_id)
    else:
        train(workspace, workspace.load_config(), run_id=args.run_id)


if __name__ == "__main__":
    main()
