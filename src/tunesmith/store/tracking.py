"""MLflow tracking: the embedded store by default, a server when TUNESMITH_MLFLOW_URI says so."""

from __future__ import annotations

import logging
import os
import warnings
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import mlflow
from mlflow.data.dataset_source_registry import resolve_dataset_source
from mlflow.data.meta_dataset import MetaDataset
from mlflow.tracking import MlflowClient

from tunesmith.config.workspace import MLFLOW_URI_ENV as URI_ENV

# MLflow announces every schema migration of the embedded store at INFO
logging.getLogger("mlflow").setLevel(logging.WARNING)

# MLflow retries an unreachable server 7 times with backoff (minutes); a command should say
# it cannot reach the registry in seconds. (Telemetry is off for the whole process already:
# tunesmith/__init__.py sets MLFLOW_DISABLE_TELEMETRY before MLflow is imported.)
HTTP_DEFAULTS = {"MLFLOW_HTTP_REQUEST_MAX_RETRIES": "2", "MLFLOW_HTTP_REQUEST_TIMEOUT": "30"}


@contextmanager
def quick_http_failures() -> Iterator[None]:
    """MLflow's HTTP retries and timeout cut to seconds while the block runs, then put back;
    a setting already in the environment wins."""
    unset = [key for key in HTTP_DEFAULTS if key not in os.environ]
    os.environ.update({key: HTTP_DEFAULTS[key] for key in unset})
    try:
        yield
    finally:
        for key in unset:
            os.environ.pop(key, None)


def tracking_uri(state_dir: Path) -> str:
    """`$TUNESMITH_MLFLOW_URI`, else SQLite in the workspace's `.tunesmith/mlflow.db`."""
    state_dir.mkdir(parents=True, exist_ok=True)
    return os.environ.get(URI_ENV) or f"sqlite:///{(state_dir / 'mlflow.db').resolve()}"


def experiment_id(client: MlflowClient, state_dir: Path, name: str) -> str:
    """The project's experiment, created on first use; on the embedded store its artefacts
    go to `.tunesmith/mlartifacts`, on a server to the server's own artefact root."""
    experiment = client.get_experiment_by_name(name)
    if experiment is not None:
        return experiment.experiment_id
    local = None if os.environ.get(URI_ENV) else (state_dir / "mlartifacts").resolve().as_uri()
    return client.create_experiment(name, artifact_location=local)


class Tracker:
    """One MLflow run mirroring a tunesmith run."""

    def __init__(self, state_dir: Path, experiment: str, run_name: str) -> None:
        uri = tracking_uri(state_dir)
        mlflow.set_tracking_uri(uri)
        mlflow.set_experiment(experiment_id=experiment_id(MlflowClient(uri), state_dir, experiment))
        existing = mlflow.search_runs(
            filter_string=f"tags.tunesmith_run = '{run_name}'", output_format="list"
        )
        run_id = existing[0].info.run_id if existing else None
        self.run = mlflow.start_run(
            run_id=run_id, run_name=run_name, tags={"tunesmith_run": run_name}
        )

    def log_params(self, params: dict[str, Any]) -> None:
        mlflow.log_params({k: str(v)[:500] for k, v in params.items()})

    def log_dataset(self, name: str, digest: str, uri: str) -> None:
        """The dataset version as an MLflow input, identified by our full-content digest."""
        with warnings.catch_warnings():
            # two MLflow plugins claim file:// URIs and it warns which one it picked; either is fine
            warnings.simplefilter("ignore", UserWarning)
            source = resolve_dataset_source(uri)
        dataset = MetaDataset(source, name=name, digest=digest[:36])
        mlflow.log_input(dataset, context="training", tags={"sha256": digest})

    def log_metrics(self, metrics: dict[str, float], step: int) -> None:
        mlflow.log_metrics(metrics, step=step)

    def log_artifacts(self, folder: Path, path: str | None = None) -> None:
        mlflow.log_artifacts(str(folder), artifact_path=path)

    def log_files(self, files: list[Path]) -> None:
        for file in files:
            if file.is_file():
                mlflow.log_artifact(str(file))

    def end(self, status: str = "FINISHED") -> None:
        mlflow.end_run(status=status)
