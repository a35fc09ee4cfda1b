"""`tunesmith register RUN`: a finished run becomes a version of a registered model."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from mlflow import MlflowClient
from mlflow.entities import Run
from mlflow.exceptions import MlflowException

from tunesmith.config import ProjectConfig
from tunesmith.config.workspace import Workspace
from tunesmith.registry.client import (
    ModelVersion,
    check_name,
    client,
    record_artifact,
    set_tags,
    to_version,
)
from tunesmith.registry.record import (
    RegistryError,
    RunRecord,
    build_record,
    description,
    eval_tags,
    failed_gates,
    flat_tags,
    weights_folder,
)
from tunesmith.store import audit
from tunesmith.store.tracking import experiment_id


@dataclass(frozen=True)
class Registered:
    version: ModelVersion
    created: bool  # False: the run was already this model's version
    eval_updated: bool  # True: an existing version took a new eval report
    warnings: list[str] = field(default_factory=list)  # for the person registering to act on


def default_name(config: ProjectConfig) -> str:
    return config.registry.model_name or config.project


def workspace_model_name(ws: Workspace) -> str:
    """`default_name` of the workspace's tunesmith.yaml, an embedding workspace's included."""
    from tunesmith.config.embedding import registry_section

    registry, project = registry_section(ws.config_path)
    return registry.model_name or project


def _mlflow_run(mlflow: MlflowClient, ws: Workspace, run_id: str, project: str) -> Run:
    """The MLflow run the train stage opened for this run, or a new one if the store lacks it."""
    experiments = [e.experiment_id for e in mlflow.search_experiments()]
    if experiments:
        found = mlflow.search_runs(
            experiments, filter_string=f"tags.tunesmith_run = '{run_id}'", max_results=1
        )
        if found:
            return found[0]
    # A run trained against another store (or before tracking) still registers: its files
    # are on disk, so a run is opened here to hold them, named and tagged as train would.
    experiment = experiment_id(mlflow, ws.state_dir, project)
    run = mlflow.create_run(experiment, tags={"tunesmith_run": run_id}, run_name=run_id)
    mlflow.set_terminated(run.info.run_id)
    return mlflow.get_run(run.info.run_id)


def _log_weights(mlflow: MlflowClient, run: Run, folder: Path) -> None:
    """The adapter (or embedding model) folder as run artifacts under its own name, unless
    training already logged all of its files."""
    logged = {Path(f.path).name for f in mlflow.list_artifacts(run.info.run_id, folder.name)}
    local = {p.name for p in folder.iterdir() if p.is_file()}
    if not local <= logged:
        mlflow.log_artifacts(run.info.run_id, str(folder), folder.name)


def _ensure_model(mlflow: MlflowClient, name: str) -> None:
    try:
        mlflow.create_registered_model(name, description="Fine-tuned adapters from tunesmith.")
    except MlflowException as err:
        if err.error_code != "RESOURCE_ALREADY_EXISTS":
            raise


def _existing(mlflow: MlflowClient, name: str, run_id: str) -> ModelVersion | None:
    found = mlflow.search_model_versions(f"name = '{name}' and tags.tunesmith_run = '{run_id}'")
    if not found:
        return None
    first = min(found, key=lambda mv: int(mv.version))
    return to_version(mlflow, mlflow.get_model_version(name, first.version))


def _refresh(mlflow: MlflowClient, ws: Workspace, mv: ModelVersion, built: RunRecord) -> bool:
    """Take a new eval report onto an existing version; refuse any other change to the run."""
    if built.record == mv.record:
        return False
    changed = sorted(k for k in built.record.keys() | mv.record.keys() if k != "eval")
    changed = [k for k in changed if built.record.get(k) != mv.record.get(k)]
    if changed:
        raise RegistryError(
            f"run '{built.run_id}' changed since it was registered as {mv.ref} "
            f"({', '.join(changed)} differ); train a new run instead"
        )
    audit.append(
        audit.audit_path(ws.state_dir),
        "register",
        mv.ref,
        inputs=built.inputs,
        outputs={"record.json": built.sha256},
        details={"run": built.run_id, "eval_updated": True, **_verdict(built)},
    )
    # The new record goes to a path of its own: until the tags below move, the version still
    # reads the old record intact, so a crash anywhere in between leaves it resolvable.
    artifact = record_artifact(mv.name, built.sha256)
    mlrun_id = mlflow.get_model_version(mv.name, str(mv.version)).run_id
    mlflow.log_text(mlrun_id, built.text, artifact)
    fresh = eval_tags(built.record)
    for key in mv.tags:
        if key.startswith("eval.") and key not in fresh:
            mlflow.delete_model_version_tag(mv.name, str(mv.version), key)
    set_tags(mlflow, mv.name, mv.version, fresh)
    text = description(mv.name, mv.version, built.record, artifact)
    mlflow.update_model_version(mv.name, str(mv.version), description=text)
    # last, and the digest first: it is what commits the record (see store.read_record)
    set_tags(mlflow, mv.name, mv.version, {"record.sha256": built.sha256})
    set_tags(mlflow, mv.name, mv.version, {"record.path": artifact})
    return True


def _alias_warnings(mv: ModelVersion) -> list[str]:
    """A champion or challenger whose newly attached eval failed keeps its alias: say so."""
    result = mv.record.get("eval") or {}
    held = [a for a in mv.aliases if a in ("champion", "challenger")]
    if not held or result.get("passed") is not False:
        return []
    names = ", ".join(f"'{g.get('gate')}'" for g in failed_gates(mv.record)) or "its gates"
    return [
        f"{mv.ref} is still {' and '.join(held)} although its new eval failed {names}: "
        f"promote another version or tunesmith rollback {mv.name}"
    ]


def _verdict(built: RunRecord) -> dict[str, object]:
    result = built.record.get("eval")
    return {"eval_passed": None if result is None else result["passed"]}


def register(ws: Workspace, run_id: str, name: str) -> Registered:
    """Register runs/<run_id>/ as a version of `name`; the same run again returns its version."""
    check_name(name)
    built = build_record(ws.runs_dir, ws.state_dir, run_id)
    mlflow = client(ws)
    existing = _existing(mlflow, name, run_id)
    if existing is not None:
        if not _refresh(mlflow, ws, existing, built):
            return Registered(existing, created=False, eval_updated=False)
        version = to_version(mlflow, mlflow.get_model_version(name, str(existing.version)))
        return Registered(version, False, True, _alias_warnings(version))
    project = str((built.record.get("training") or {}).get("project") or name)
    mlrun = _mlflow_run(mlflow, ws, run_id, project)
    folder = weights_folder(built.record)
    _log_weights(mlflow, mlrun, ws.runs_dir / run_id / folder)
    _ensure_model(mlflow, name)
    artifact = record_artifact(name, built.sha256)
    mlflow.log_text(mlrun.info.run_id, built.text, artifact)
    created = mlflow.create_model_version(
        name,
        f"{mlrun.info.artifact_uri}/{folder}",
        run_id=mlrun.info.run_id,
        tags={**flat_tags(built.record), "record.path": artifact},
        await_creation_for=0,
    )
    version = int(created.version)
    mlflow.update_model_version(
        name, created.version, description=description(name, version, built.record, artifact)
    )
    try:
        audit.append(
            audit.audit_path(ws.state_dir),
            "register",
            f"{name}/{version}",
            inputs=built.inputs,
            outputs={"record.json": built.sha256},
            details={"run": run_id, "mlflow_run": mlrun.info.run_id, **_verdict(built)},
        )
    except BaseException:
        # a version that is not on the audit record must not exist
        mlflow.delete_model_version(name, created.version)
        raise
    registered = to_version(mlflow, mlflow.get_model_version(name, created.version))
    return Registered(registered, created=True, eval_updated=False)
