"""Registered models at a glance: versions, aliases, verdicts and approvals, from tags only."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from mlflow import MlflowClient
from mlflow.entities.model_registry import RegisteredModel

from tunesmith.config import RegistryConfig
from tunesmith.config.workspace import Workspace
from tunesmith.registry.approvals import approve_entries, counting_approvers, registry_policy
from tunesmith.registry.client import approvals_of, client, iso_time, store_exists
from tunesmith.registry.promote import history
from tunesmith.store.audit import AuditEntry


@dataclass(frozen=True)
class VersionSummary:
    version: int
    run_id: str
    created_at: str
    eval_passed: str  # "true", "false", "null" (no gates) or "none" (no report)
    approvals: int  # distinct approvers whose approval counts toward champion
    aliases: list[str]


@dataclass(frozen=True)
class ModelSummary:
    name: str
    aliases: dict[str, int]
    versions: list[VersionSummary]
    history: list[dict[str, Any]]


@dataclass(frozen=True)
class _Tagged:
    """A version as its tags tell it, enough for the approval rule (no record download)."""

    ref: str
    approvals: list[dict[str, str]]


def _summary(
    ws: Workspace,
    mlflow: MlflowClient,
    model: RegisteredModel,
    policy: RegistryConfig,
    entries: list[AuditEntry],
) -> ModelSummary:
    aliases = {alias: int(v) for alias, v in (model.aliases or {}).items()}
    versions = []
    for mv in mlflow.search_model_versions(f"name = '{model.name}'"):
        tags = dict(mv.tags or {})
        tagged = _Tagged(f"{model.name}/{mv.version}", approvals_of(tags))
        approved = counting_approvers(tagged, tags.get("record.sha256", ""), policy, entries)
        versions.append(
            VersionSummary(
                version=int(mv.version),
                run_id=tags.get("tunesmith_run", ""),
                created_at=iso_time(mv.creation_timestamp),
                eval_passed=tags.get("eval.passed", "none"),
                approvals=len(approved),
                # search results carry no aliases in MLflow 3; the model's mapping does
                aliases=sorted(a for a, v in aliases.items() if v == int(mv.version)),
            )
        )
    versions.sort(key=lambda v: v.version)
    return ModelSummary(model.name, aliases, versions, history(ws, model.name))


def list_models(ws: Workspace, policy: RegistryConfig | None = None) -> list[ModelSummary]:
    """Every registered model in the workspace's store, by name; approvals counted under
    `policy` (default: the workspace's registry settings), as promote would count them."""
    if not store_exists(ws):
        return []
    policy = policy or registry_policy(ws)
    entries = approve_entries(ws)
    mlflow = client(ws)
    models = mlflow.search_registered_models(max_results=1000, order_by=["name ASC"])
    return [_summary(ws, mlflow, model, policy, entries) for model in models]


def show_model(ws: Workspace, name: str, policy: RegistryConfig | None = None) -> ModelSummary:
    """One registered model; LookupError when there is none of that name."""
    history(ws, name)  # raises LookupError for an unknown name
    mlflow = client(ws)
    model = mlflow.get_registered_model(name)
    return _summary(ws, mlflow, model, policy or registry_policy(ws), approve_entries(ws))
