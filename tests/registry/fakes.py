"""A finished run's eval report in the shape of /work/notes/interfaces.md, and the `eval`
audit entry that `tunesmith eval` appends for it."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable
from typing import Any

from tunesmith.config.workspace import Workspace
from tunesmith.store import audit
from tunesmith.store.db import open_store
from tunesmith.store.files import sha256_file
from tunesmith.store.keys import create_key

NAME = "support-router"
BASE_SHA = hashlib.sha256(b"base weights").hexdigest()


def approver_key(
    ws: Workspace, name: str, roles: tuple[str, ...] = ("approver",), models: str = NAME
) -> str:
    """A key made in the workspace's state store as `tunesmith keys create` makes it; its
    secret. Each is an actor of its own: two of them are two approvals."""
    return create_key(open_store(ws.state_url()), name, [models], "ci", roles=list(roles))[1]


def champion_of(version: int, run_id: str, name: str = NAME) -> dict[str, Any]:
    """The report's `champion`: which registered version the regression gates compared with."""
    return {
        "ref": f"{name}@champion",
        "name": name,
        "version": version,
        "run_id": run_id,
        "metrics": {"accuracy": 0.9, "macro_f1": 0.8},
    }


def eval_report(run_id: str, adapter_sha: str, accuracy: float) -> dict[str, Any]:
    """An eval report in the shape of docs/interfaces: gates min accuracy 0.7, macro_f1 0.6."""
    gates = [
        {
            "gate": "min accuracy",
            "metric": "accuracy",
            "value": accuracy,
            "threshold": 0.7,
            "passed": accuracy >= 0.7,
            "detail": f"{accuracy:.3f} {'>=' if accuracy >= 0.7 else '<'} 0.700",
        },
        {
            "gate": "min macro_f1",
            "metric": "macro_f1",
            "value": 0.8,
            "threshold": 0.6,
            "passed": True,
            "detail": "0.800 >= 0.600",
        },
    ]
    return {
        "schema": 1,
        "created_at": "2026-11-28T18:40:00Z",
        "model": {
            "ref": run_id,
            "kind": "run",
            "run_id": run_id,
            "adapter_sha256": adapter_sha,
            "base_model": {"name": "SmolLM2-135M-Instruct", "weights_sha256": BASE_SHA},
        },
        "data": {"dataset": "support-tickets", "version": "v1", "split": "test", "rows": 53},
        "task": {"type": "classification", "labels": ["billing", "technical"]},
        "main_metric": "accuracy",
        "metrics": {"accuracy": accuracy, "macro_f1": 0.8},
        "per_class": None,
        "slices": {},
        "registry_name": NAME,
        "champion": None,
        "gates": gates,
        "passed": all(g["passed"] for g in gates),
        "compare": None,
    }


def write_report(
    ws: Workspace,
    run_id: str,
    accuracy: float,
    edit: Callable[[dict[str, Any]], None] | None = None,
    audited: bool = True,
) -> None:
    """Write the report as eval would; `edit` changes it first, `audited` logs the eval entry."""
    run_dir = ws.runs_dir / run_id
    weights = next(p for p in sorted((run_dir / "adapter").glob("*.safetensors")))
    adapter_sha = sha256_file(weights)
    (run_dir / "eval").mkdir(exist_ok=True)
    report = eval_report(run_id, adapter_sha, accuracy)
    if edit is not None:
        edit(report)
    path = run_dir / "eval" / "report.json"
    path.write_text(json.dumps(report, indent=2))
    if audited:
        audit.append(
            audit.audit_path(ws.state_dir),
            "eval",
            run_id,
            inputs={"test.jsonl": hashlib.sha256(b"test").hexdigest(), "adapter": adapter_sha},
            outputs={"report.json": sha256_file(path)},
            details={"model": run_id, "passed": report["passed"]},
        )
