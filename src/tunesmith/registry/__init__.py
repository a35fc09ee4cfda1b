"""Model registry on MLflow: versions of finished runs, their records, approvals, aliases,
promotion and rollback.

`resolve(ws, "name/3" | "name@champion")` reads one registered version (docs, lineage, `models
show`); `references.py` is the one resolver of every model reference (`base`, a run id, `name/N`,
`name@alias`) that eval, align, the loop and the server's catalogue use.
"""

from tunesmith.registry.approvals import Standing, counting_approvers, registry_policy, standings
from tunesmith.registry.client import ALIASES, ModelVersion, parse_ref, resolve
from tunesmith.registry.listing import ModelSummary, VersionSummary, list_models, show_model
from tunesmith.registry.promote import (
    Promotion,
    approval_problem,
    approve,
    champion_problem,
    gate_problem,
    history,
    promote,
    regression_problem,
    rollback,
)
from tunesmith.registry.record import RegistryError, weights_files, weights_folder
from tunesmith.registry.register import Registered, default_name, register, workspace_model_name

__all__ = [
    "ALIASES",
    "ModelSummary",
    "ModelVersion",
    "Promotion",
    "Registered",
    "RegistryError",
    "Standing",
    "VersionSummary",
    "approval_problem",
    "approve",
    "champion_problem",
    "counting_approvers",
    "default_name",
    "gate_problem",
    "history",
    "list_models",
    "parse_ref",
    "promote",
    "register",
    "registry_policy",
    "regression_problem",
    "resolve",
    "rollback",
    "show_model",
    "standings",
    "weights_files",
    "weights_folder",
    "workspace_model_name",
]
