"""The MLflow Model Registry of a workspace: client, references, versions read back."""

from __future__ import annotations

import json
import os
import re
import tempfile
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from mlflow import MlflowClient
from mlflow.entities.model_registry import ModelVersion as MlflowVersion
from mlflow.exceptions import MlflowException

from tunesmith.config.workspace import Workspace
from tunesmith.registry.record import RegistryError, record_sha256
from tunesmith.store.clock import utc_timestamp
from tunesmith.store.tracking import tracking_uri

# a record is one small JSON file: MLflow's tqdm bar per download is noise on every command
os.environ.setdefault("MLFLOW_ENABLE_ARTIFACTS_PROGRESS_BAR", "false")

ALIASES = ("champion", "challenger")
# names end up in refs ("name/3", "name@champion") and artifact paths, so no "/" or "@"
_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,127}$")
_REF = re.compile(r"^(?P<name>[^/@]+)(?:/(?P<version>\d+)|@(?P<alias>[A-Za-z0-9_-]+))$")
_APPROVAL = re.compile(r"^approval\.(\d+)\.(by|actor|via|at|note|record)$")


@dataclass(frozen=True)
class ModelVersion:
    """A registered version of a tunesmith run, with its record, approvals and aliases."""

    name: str
    version: int
    run_id: str  # the tunesmith run id (runs/<run_id>/)
    aliases: list[str]
    created_at: str  # ISO-8601 UTC
    source: str  # artifact URI of the registered adapter
    record: dict[str, Any]
    approvals: list[dict[str, str]]  # [{"by", "actor", "at", "note", "record"}]
    tags: dict[str, str]

    @property
    def ref(self) -> str:
        return f"{self.name}/{self.version}"

    @property
    def record_sha256(self) -> str:
        return self.tags.get("record.sha256", "")


def check_name(name: str) -> str:
    if not _NAME.match(name):
        raise RegistryError(
            f"model name '{name}' must be letters, digits, '_', '.' or '-' (at most 128), "
            "starting with a letter or digit"
        )
    return name


def now() -> str:
    return utc_timestamp()


def iso_time(millis: int | None) -> str:
    return utc_timestamp(datetime.fromtimestamp(millis / 1000, UTC)) if millis else ""


def client(ws: Workspace) -> MlflowClient:
    """A client on the tracking store, which MLflow also uses as its model registry."""
    uri = tracking_uri(ws.state_dir)
    return MlflowClient(tracking_uri=uri, registry_uri=uri)


def store_exists(ws: Workspace) -> bool:
    """False when the embedded store was never created: nothing can be registered there yet."""
    return ws.has_mlflow_store()


def record_artifact(name: str, sha256: str) -> str:
    """Where a record lives in its run's artifacts: named by its digest, so writing a new one
    never overwrites the one the version's tags still point at."""
    return f"registry/{name}/record-{sha256[:12]}.json"


def legacy_record_artifact(name: str) -> str:
    """The one fixed path of versions registered before records were content-addressed."""
    return f"registry/{name}/record.json"


def parse_ref(ref: str) -> tuple[str, int | None, str | None]:
    """("name", 3, None) for "name/3", ("name", None, "champion") for "name@champion"."""
    match = _REF.match(ref.strip())
    if not match:
        raise LookupError(f"'{ref}' is not a model reference: use NAME/VERSION or NAME@ALIAS")
    version = match["version"]
    return match["name"], int(version) if version else None, match["alias"]


def _missing(err: MlflowException) -> bool:
    return err.error_code == "RESOURCE_DOES_NOT_EXIST"


def approvals_of(tags: dict[str, str]) -> list[dict[str, str]]:
    found: dict[int, dict[str, str]] = {}
    for key, value in tags.items():
        match = _APPROVAL.match(key)
        if match:
            found.setdefault(int(match[1]), {})[match[2]] = value
    return [found[n] for n in sorted(found)]


def read_record(mlflow: MlflowClient, mv: MlflowVersion, name: str) -> dict[str, Any]:
    """The record artifact of a version, checked against the digest on its tags.

    `record.sha256` is the tag that commits a record; `record.path` is set after it. A refresh
    cut short between the two leaves the path tag on the previous record, so the record is
    also looked for at the path its digest names. Versions registered before records were
    content-addressed have no path tag and read `registry/<name>/record.json`. Only bytes
    matching `record.sha256` are accepted from any of these.
    """
    tags = mv.tags or {}
    expected = tags.get("record.sha256", "")
    tagged = tags.get("record.path") or legacy_record_artifact(name)
    candidates = dict.fromkeys([tagged, record_artifact(name, expected)])
    changed = False
    failure: Exception | None = None
    with tempfile.TemporaryDirectory() as tmp:
        for i, artifact in enumerate(candidates):
            into = Path(tmp, str(i))
            into.mkdir()
            try:
                path = mlflow.download_artifacts(mv.run_id, artifact, str(into))
                record = json.loads(Path(path).read_text(encoding="utf-8"))
            except (MlflowException, OSError, json.JSONDecodeError) as err:
                failure = failure or err
                continue
            if record_sha256(record) == expected:
                return record
            changed = True
    if changed:
        raise RegistryError(
            f"{name}/{mv.version}: record artifact does not match its record.sha256 tag "
            f"({expected}): it was changed after registration"
        )
    raise LookupError(f"{name}/{mv.version}: cannot read its record: {failure}")


def to_version(mlflow: MlflowClient, mv: MlflowVersion) -> ModelVersion:
    tags = dict(mv.tags or {})
    return ModelVersion(
        name=mv.name,
        version=int(mv.version),
        run_id=tags.get("tunesmith_run", ""),
        aliases=sorted(mv.aliases or []),
        created_at=iso_time(mv.creation_timestamp),
        source=mv.source or "",
        record=read_record(mlflow, mv, mv.name),
        approvals=approvals_of(tags),
        tags=tags,
    )


def get_version(mlflow: MlflowClient, name: str, version: int) -> MlflowVersion:
    try:
        return mlflow.get_model_version(name, str(version))
    except MlflowException as err:
        if not _missing(err):
            raise
    try:
        mlflow.get_registered_model(name)
    except MlflowException as err:
        if _missing(err):
            raise LookupError(f"no registered model '{name}'") from None
        raise
    raise LookupError(f"no version {version} of registered model '{name}'")


def alias_version(mlflow: MlflowClient, name: str, alias: str) -> int | None:
    """The version `alias` points at, None when it is not set."""
    try:
        aliases = mlflow.get_registered_model(name).aliases or {}
    except MlflowException as err:
        if _missing(err):
            raise LookupError(f"no registered model '{name}'") from None
        raise
    version = aliases.get(alias)
    return int(version) if version is not None else None


def resolve(ws: Workspace, ref: str) -> ModelVersion:
    """The version named by "name/3" or "name@champion"; LookupError when there is none."""
    name, version, alias = parse_ref(ref)
    if not store_exists(ws):
        raise LookupError(f"no model registry in {ws.state_dir} yet: register a run first")
    mlflow = client(ws)
    if version is None:
        version = alias_version(mlflow, name, str(alias))
        if version is None:
            raise LookupError(f"registered model '{name}' has no alias '{alias}'")
    return to_version(mlflow, get_version(mlflow, name, version))


def set_tags(mlflow: MlflowClient, name: str, version: int, tags: dict[str, str]) -> None:
    for key, value in tags.items():
        mlflow.set_model_version_tag(name, str(version), key, value)
