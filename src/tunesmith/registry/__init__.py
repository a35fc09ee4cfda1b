"""Model registry on MLflow: versions of finished runs, their records, approvals and aliases.

`resolve(ws, "name/3" | "name@champion")` is what other stages (eval, docs, serve) import.
"""

from tunesmith.registry.listing import ModelSummary, VersionSummary, list_models, show_model
from tunesmith.registry.promote import (
    Promotion,
    approval_problem,
    approve,
    gate_problem,
    history,
    promote,
    rollback,
)
from tunesmith.registry.record import RegistryError
from tunesmith.registry.register import Registered, default_name, register
from tunesmith.registry.store import ALIASES, ModelVersion, parse_ref, resolve

__all__ = [
    "ALIASES",
    "ModelSummary",
    "ModelVersion",
    "Promotion",
    "Registered",
    "RegistryError",
    "VersionSummary",
    "approval_problem",
    "approve",
    "default_name",
    "gate_problem",
    "history",
    "list_models",
    "parse_ref",
    "promote",
    "register",
    "resolve",
    "rollback",
    "show_model",
]
