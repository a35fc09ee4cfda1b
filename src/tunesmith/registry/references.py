"""The one reader of what a model reference names: `base`, a run id, `name/N`, `name@alias`,
and, where the caller allows it, a bare registered name for its champion. Eval, compare, align,
the loop and the server all resolve here; the server's catalogue only caches the answers."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from tunesmith.config import ProjectConfig
from tunesmith.config.workspace import Workspace
from tunesmith.models.base import BaseModelError, resolve_base_model
from tunesmith.models.load import ModelInputError, Target, run_target


class RefNotFound(ModelInputError):
    """A reference that names no model; `detail` says why without repeating the reference."""

    def __init__(self, ref: str, detail: str) -> None:
        super().__init__(f"{ref}: {detail}")
        self.ref = ref
        self.detail = detail


@dataclass(frozen=True)
class ModelRef:
    """What a reference resolved to: `run_id` is None for the base model."""

    ref: str
    run_id: str | None
    registry_name: str | None = None
    registry_version: int | None = None

    @property
    def registry(self) -> dict[str, Any] | None:
        if self.registry_name is None:
            return None
        return {"name": self.registry_name, "version": self.registry_version}


def registered_names(ws: Workspace) -> list[str]:
    if not ws.has_mlflow_store():
        return []
    from tunesmith.registry.client import client

    return [m.name for m in client(ws).search_registered_models(max_results=1000)]


def resolve_ref(
    ws: Workspace,
    ref: str,
    *,
    base_names: tuple[str, ...] = ("base",),
    bare_name_is_champion: bool = False,
) -> ModelRef:
    """Which run (or the base) `ref` names now; an alias is read afresh on every call."""
    if ref in base_names:
        return ModelRef(ref, None)
    asked = ref
    if "/" not in ref and "@" not in ref:
        if not (bare_name_is_champion and ref in registered_names(ws)):
            return ModelRef(ref, ref)
        asked = f"{ref}@champion"
    from mlflow.exceptions import MlflowException

    from tunesmith.registry.client import resolve
    from tunesmith.registry.record import RegistryError

    try:
        version = resolve(ws, asked)
    except (LookupError, RegistryError, MlflowException) as err:
        raise RefNotFound(ref, str(err.args[0] if err.args else err)) from None
    return ModelRef(ref, version.run_id, version.name, version.version)


def resolve_target(ws: Workspace, config: ProjectConfig, ref: str) -> Target:
    """`base`, a run id, or a registry reference `name/3` / `name@champion`, as a Target."""
    found = resolve_ref(ws, ref)
    if found.run_id is None:
        try:
            base = resolve_base_model(config.base_model, ws.state_dir / "models", ws.root)
        except BaseModelError as err:
            raise ModelInputError(str(err)) from None
        return Target("base", None, None, base.path, base.to_json(), None, None)
    return run_target(ws, ref, found.run_id, found.registry)


def champion_target(ws: Workspace, name: str) -> Target | None:
    """The version `name@champion` points at; None only when there is no such alias."""
    from mlflow.exceptions import MlflowException

    from tunesmith.registry.client import alias_version, client, resolve, store_exists
    from tunesmith.registry.record import RegistryError

    if not store_exists(ws):
        return None
    ref = f"{name}@champion"
    try:
        version = alias_version(client(ws), name, "champion")
        if version is None:
            return None
        found = resolve(ws, f"{name}/{version}")
    except LookupError as err:
        if "no registered model" in str(err):
            return None
        raise ModelInputError(f"champion {ref}: {err.args[0]}") from None
    except (RegistryError, MlflowException) as err:
        # a champion that cannot be read must not turn into "no champion to compare"
        raise ModelInputError(f"champion {ref}: {err}") from None
    try:
        return run_target(ws, ref, found.run_id, {"name": name, "version": version})
    except ModelInputError as err:
        raise ModelInputError(f"champion {ref}: {err}") from None
