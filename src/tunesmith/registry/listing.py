"""Registered models at a glance: versions, aliases, verdicts and approvals, from tags only."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from mlflow import MlflowClient
from mlflow.entities.model_registry import RegisteredModel

from tunesmith.registry.promote import history
from tunesmith.registry.store import approvals_of, client, iso_time, store_exists
from tunesmith.workspace import Workspace


@dataclass(frozen=True)
class VersionSummary:
    version: int
    run_id: str
    created_at: str
    eval_passed: str  # "true", "false", "null" (no gates) or "none" (no report)
    approvals: int  # distinct approvers of the current record
    aliases: list[str]


@dataclass(frozen=True)
class ModelSummary:
    name: str
    aliases: dict[str, int]
    versions: list[VersionSummary]
    history: list[dict[str, Any]]


def _summary(ws: Workspace, mlflow: MlflowClient, model: RegisteredModel) -> ModelSummary:
    aliases = {alias: int(v) for alias, v in (model.aliases or {}).items()}
    versions = []
    for mv in mlflow.search_model_versions(f"name = '{model.name}'"):
        tags = dict(mv.tags or {})
        current = tags.get("record.sha256")
        approved = {a.get("by") for a in approvals_of(tags) if a.get("record") == current}
        versions.append(
            VersionSummary(
                version=int(mv.version),
                run_id=tags.get("tunesmith_run", ""),
                created_at=iso_time(mv.creation_timestamp),
                eval_passed=tags.get("eval.passed", "none"),
                approvals=len(approved - {None}),
                # search results carry no aliases in MLflow 3; the model's mapping does
                aliases=sorted(a for a, v in aliases.items() if v == int(mv.version)),
            )
        )
    versions.sort(key=lambda v: v.version)
    return ModelSummary(model.name, aliases, versions, history(ws, model.name))


def list_models(ws: Workspace) -> list[ModelSummary]:
    """Every registered model in the workspace's store, by name."""
    if not store_exists(ws):
        return []
    mlflow = client(ws)
    models = mlflow.search_registered_models(max_results=1000, order_by=["name ASC"])
    return [_summary(ws, mlflow, model) for model in models]


def show_model(ws: Workspace, name: str) -> ModelSummary:
    """One registered model; LookupError when there is none of that name."""
    history(ws, name)  # raises LookupError for an unknown name
    mlflow = client(ws)
    return _summary(ws, mlflow, mlflow.get_registered_model(name))
