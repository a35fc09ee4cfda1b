""" "Nothing leaves the machine": curate, train, register and serve under a guard that records
every attempt to reach another host, in every thread of every Python process.

The commands run in a fresh interpreter (and `tunesmith serve` in a second one, asked through
the openai client), because the libraries decide whether to call home at import, and MLflow
stays silent whenever it sees pytest or a CI variable; both are removed from the child's
environment, as are the variables tunesmith sets, so only tunesmith's own defaults keep them
quiet. The guard is `tests/offline_guard/sitecustomize.py`, which every child imports at
start-up. Against the code before these defaults, the first test records MLflow's config
fetch (`getaddrinfo 'config.mlflow-telemetry.io'`, thread GetTelemetryConfig).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from tunesmith import OFFLINE_ENV
from tunesmith.examples.scaffold import create_workspace

from .train.test_run import TRAIN

GUARD = Path(__file__).parent / "offline_guard"
# what makes MLflow's telemetry stand down by itself (mlflow/telemetry/utils.py), or would
# hide tunesmith's defaults: none of it may be inherited from the test run
CLEARED = {
    *OFFLINE_ENV,
    "PYTEST_CURRENT_TEST", "CI", "GITHUB_ACTIONS", "CIRCLECI", "GITLAB_CI", "JENKINS_URL",
    "TRAVIS", "TF_BUILD", "BITBUCKET_BUILD_NUMBER", "CODEBUILD_BUILD_ARN", "BUILDKITE",
    "TEAMCITY_VERSION", "CLOUD_RUN_EXECUTION", "RUNBOT_HOST_URL", "RUNBOT_BUILD_NAME",
    "RUNBOT_WORKER_ID", "TRANSFORMERS_OFFLINE", "HF_DATASETS_OFFLINE", "DISABLE_TELEMETRY",
    "TUNESMITH_MLFLOW_URI", "TUNESMITH_STATE_URL",
}  # fmt: skip

DRIVER = """
import json, sys, threading, time, traceback
from pathlib import Path
from openai import OpenAI
from typer.testing import CliRunner
from tunesmith.cli import app
from tunesmith.serve.try_serve import demo_key, held_out_prompts, server_process
from tunesmith.config.workspace import Workspace

ws, out = sys.argv[1], Path(sys.argv[2])
runner, steps = CliRunner(), {}
def cli(step, *args):
    started = time.monotonic()
    result = runner.invoke(app, [*args, "-w", ws])
    error = "".join(traceback.format_exception(result.exception)) if result.exception else ""
    took = time.monotonic() - started
    steps[step] = [result.exit_code, result.output[-2000:] + error[-3000:], took]
    return result.exit_code == 0
if cli("curate", "curate") and cli("import", "models", "import") and cli("train", "train"):
    (run,) = [p.name for p in (Path(ws) / "runs").iterdir()]
    if cli("register", "register", run, "--name", "support-router") and cli("kb", "kb", "index"):
        started, workspace = time.monotonic(), Workspace(Path(ws))
        key = demo_key(workspace, "support-router/1")
        with server_process(workspace) as (url, _):  # `tunesmith serve` in a child process
            client = OpenAI(base_url=url, api_key=key, max_retries=0, timeout=120)
            prompt = held_out_prompts(workspace, 1)[0]
            done = client.chat.completions.create(
                model="support-router/1", messages=prompt, max_tokens=8, temperature=0
            )
            chunks = client.chat.completions.create(
                model="support-router/1", messages=prompt, max_tokens=8, stream=True
            )
            sourced = client.chat.completions.create(
                model="support-router/1", messages=prompt, max_tokens=8,
                extra_body={"retrieval": {"enabled": True}},
            )
            answers = [done.choices[0].message.content, "".join(
                c.choices[0].delta.content or "" for c in chunks if c.choices
            ), sourced.choices[0].message.content]
        steps["serve"] = [0, json.dumps(answers), time.monotonic() - started]
for thread in threading.enumerate():  # background senders get their chance to try
    if thread is not threading.main_thread():
        thread.join(timeout=2)
out.write_text(json.dumps(steps))
"""


def _child_env(guard_dir: Path, **extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k not in CLEARED}
    path = os.pathsep.join(p for p in (str(GUARD), env.get("PYTHONPATH")) if p)
    return {**env, "PYTHONPATH": path, "TUNESMITH_NET_GUARD": str(guard_dir), **extra}


def _attempts(guard_dir: Path) -> list[dict[str, str]]:
    found = []
    for log in sorted(guard_dir.glob("*.jsonl")):
        found += [json.loads(line) for line in log.read_text().splitlines()]
    return found


def _explain(attempts: list[dict[str, str]]) -> str:
    return "\n".join(
        f"{a['call']} {a['target']} (thread {a['thread']}, {' '.join(a['argv'])})\n{a['stack']}"
        for a in attempts
    )


@pytest.mark.timeout(600)  # four stages in two fresh interpreters: minutes on a busy 2-core box
def test_curate_train_register_index_serve_reach_no_other_host(
    tmp_path: Path, tiny_model_dir: Path
) -> None:
    root = create_workspace(tmp_path / "ws", "support-tickets", rows=60)
    raw = yaml.safe_load((root / "tunesmith.yaml").read_text())
    raw["base_model"] = {"name": "tiny-llama", "path": str(tiny_model_dir)}
    raw["train"] = {**TRAIN, "max_steps": 2, "eval_steps": 2, "save_steps": 2}
    (root / "tunesmith.yaml").write_text(yaml.safe_dump(raw))
    guard_dir, steps_file = tmp_path / "guard", tmp_path / "steps.json"
    guard_dir.mkdir()
    subprocess.run(
        [sys.executable, "-c", DRIVER, str(root), str(steps_file)],
        env=_child_env(guard_dir, TUNESMITH_ACTOR="ci"),
        check=True,
        timeout=540,
    )
    steps = json.loads(steps_file.read_text())
    for step in ("curate", "import", "train", "register", "kb", "serve"):
        assert step in steps and steps[step][0] == 0, (step, steps.get(step))
    assert all(isinstance(answer, str) for answer in json.loads(steps["serve"][1]))
    started = [json.loads(f.read_text()) for f in guard_dir.glob("*.started")]
    # the guard ran in the driver and in the server process
    assert any("serve" in argv for argv in started), started
    attempts = _attempts(guard_dir)
    assert not attempts, _explain(attempts)


def test_the_guard_sees_mlflow_telemetry_from_its_background_thread(tmp_path: Path) -> None:
    """The guard's teeth: a user who switches MLflow's telemetry back on (an explicit value
    wins over tunesmith's default) gets its config fetch recorded, though MLflow makes it in
    a daemon thread and swallows the refusal."""
    guard_dir = tmp_path / "guard"
    guard_dir.mkdir()
    code = (
        "import sys, threading, tunesmith, mlflow\n"
        "client = mlflow.MlflowClient(tracking_uri='sqlite:///' + sys.argv[1])\n"
        "client.create_experiment('x')\n"
        "[t.join(timeout=5) for t in threading.enumerate() if t is not threading.main_thread()]\n"
    )
    subprocess.run(
        [sys.executable, "-c", code, str(tmp_path / "mlflow.db")],
        env=_child_env(guard_dir, MLFLOW_DISABLE_TELEMETRY="false", DO_NOT_TRACK="false"),
        check=True,
        timeout=120,
    )
    attempts = _attempts(guard_dir)
    assert any("mlflow-telemetry.io" in a["target"] for a in attempts), _explain(attempts)
    assert {a["thread"] for a in attempts} <= {"GetTelemetryConfig"}, _explain(attempts)


@pytest.mark.parametrize("with_tunesmith", [True, False])
def test_hugging_face_telemetry_is_off_once_tunesmith_is_imported(
    tmp_path: Path, with_tunesmith: bool
) -> None:
    """TRL's trainers (tunesmith align) ping the Hub through huggingface_hub's send_telemetry
    from a daemon thread; imported after tunesmith it sends nothing, before it, it tries."""
    guard_dir = tmp_path / "guard"
    guard_dir.mkdir()
    code = (
        ("import tunesmith\n" if with_tunesmith else "")
        + "import threading\n"
        + "from huggingface_hub.utils import send_telemetry\n"
        + "send_telemetry('trl/DPOTrainer', library_name='trl', library_version='1.0')\n"
        + "[t.join(timeout=5) for t in threading.enumerate() if t is not threading.main_thread()]\n"
    )
    subprocess.run([sys.executable, "-c", code], env=_child_env(guard_dir), check=True, timeout=60)
    attempts = _attempts(guard_dir)
    if with_tunesmith:
        assert not attempts, _explain(attempts)
    else:
        assert any("huggingface.co" in a["target"] for a in attempts), _explain(attempts)
