"""Which model a request names: the base, a run's adapter, or a registry version or alias.

Aliases are looked up again every `refresh_seconds`, so a newly promoted champion is served
within seconds without a restart; requests already running finish on the version they began.
"""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from tunesmith.config.workspace import Workspace
from tunesmith.models.run_model import RunModelError, finished_run
from tunesmith.registry.references import RefNotFound, registered_names, resolve_ref

# adapters the engine batches; a QLoRA one runs over its NF4-rounded base, as eval ran it
SERVABLE_METHODS = ("lora", "qlora")


class ModelNotFound(LookupError):
    """The request names no model this server can serve; the message says why."""


@dataclass(frozen=True)
class ServedModel:
    """What a model name resolved to; `run_id` is None for the base model."""

    id: str
    run_id: str | None
    adapter_dir: Path | None
    registry_name: str | None = None
    registry_version: int | None = None
    # how the run's training data was masked (a PiiConfig); None: the base, or unmasked data
    pii: Any | None = None
    # the run's task (a TaskConfig): its labels and schema, which a workflow step reads
    task: Any | None = None


class Catalog:
    """Caches what `registry.references` says a name is; checks this server can serve it."""

    def __init__(
        self, ws: Workspace, base_id: str, base_sha256: str, refresh_seconds: float
    ) -> None:
        self.ws = ws
        self.base_id = base_id
        self.base_sha256 = base_sha256
        self.refresh_seconds = refresh_seconds
        self._cache: dict[str, tuple[ServedModel, float]] = {}
        self._lock = threading.Lock()

    def resolve(self, name: str) -> ServedModel:
        now = time.monotonic()
        with self._lock:
            hit = self._cache.get(name)
        if hit is not None and hit[1] > now:
            return hit[0]
        served = self._lookup(name)
        # a version number never changes what it names; an alias (or a bare name: the champion)
        # may move at any time
        ttl = float("inf") if "/" in name else self.refresh_seconds
        with self._lock:
            self._cache[name] = (served, now + ttl)
        return served

    def _lookup(self, name: str) -> ServedModel:
        try:
            found = resolve_ref(
                self.ws, name, base_names=("base", self.base_id), bare_name_is_champion=True
            )
        except RefNotFound as err:
            raise ModelNotFound(f"model '{name}': {err.detail}") from None
        if found.run_id is None:
            return ServedModel(name, None, None)
        run = self._run(found.run_id, name)
        return ServedModel(
            name,
            run.run_id,
            run.adapter_dir,
            found.registry_name,
            found.registry_version,
            run.pii,
            run.task,
        )

    def _run(self, run_id: str, asked: str) -> ServedModel:
        try:
            run_dir, lineage, method = finished_run(self.ws, run_id)
        except RunModelError as err:
            raise ModelNotFound(f"model '{asked}': {err}") from None
        if method not in SERVABLE_METHODS:
            raise ModelNotFound(
                f"model '{asked}': run {run_id} is a {method} fine-tune; serve its merged export "
                f"(tunesmith export {run_id} --merged DIR) as the base model instead"
            )
        if lineage["base_model"].get("weights_sha256") != self.base_sha256:
            raise ModelNotFound(
                f"model '{asked}': run {run_id} was trained on other base weights than this "
                "server holds"
            )
        config = _training_config(run_dir)
        pii = config.data.pii if config.data.pii.enabled else None
        return ServedModel(asked, run_id, run_dir / "adapter", pii=pii, task=config.task)

    def registered_names(self) -> list[str]:
        return registered_names(self.ws)

    def listing(self) -> list[dict[str, Any]]:
        """Every servable model, as /v1/models lists it, with the base it runs on."""
        entries: list[dict[str, Any]] = [{"id": self.base_id, "parent": None, "run_id": None}]
        if self.ws.has_mlflow_store():
            from tunesmith.registry.client import client

            mlflow = client(self.ws)
            for model in mlflow.search_registered_models(max_results=1000, order_by=["name ASC"]):
                refs = [f"{model.name}@{alias}" for alias in sorted(model.aliases or {})]
                versions = mlflow.search_model_versions(f"name = '{model.name}'")
                refs += [f"{model.name}/{v}" for v in sorted(int(mv.version) for mv in versions)]
                for ref in refs:
                    entries.append(self._entry(ref))
        if self.ws.runs_dir.is_dir():
            for run_dir in sorted(self.ws.runs_dir.iterdir()):
                entries.append(self._entry(run_dir.name))
        return [e for e in entries if e is not None]

    def _entry(self, ref: str) -> dict[str, Any] | None:
        try:
            served = self.resolve(ref)
        except ModelNotFound:
            return None
        return {"id": ref, "parent": self.base_id, "run_id": served.run_id}


def _training_config(run_dir: Path) -> Any:
    """The config a run trained with: how its data was masked, and its task."""
    import yaml

    from tunesmith.config import ProjectConfig

    return ProjectConfig.model_validate(yaml.safe_load((run_dir / "config.yaml").read_text()))
