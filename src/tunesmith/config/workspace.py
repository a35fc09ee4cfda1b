"""Where a workspace keeps its files and stores."""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

from tunesmith.config import CONFIG_FILENAME, ProjectConfig, load_config

# an MLflow server for tracking and the registry; unset means SQLite under .tunesmith/
MLFLOW_URI_ENV = "TUNESMITH_MLFLOW_URI"
# a SQLAlchemy URL of the state store (e.g. PostgreSQL); unset means SQLite under .tunesmith/
STATE_URL_ENV = "TUNESMITH_STATE_URL"


@dataclass(frozen=True)
class Workspace:
    """A folder holding `tunesmith.yaml`, raw records, dataset versions, runs and stores."""

    root: Path

    @property
    def config_path(self) -> Path:
        return self.root / CONFIG_FILENAME

    @property
    def raw_dir(self) -> Path:
        return self.root / "raw"

    @property
    def datasets_dir(self) -> Path:
        return self.root / "datasets"

    @property
    def runs_dir(self) -> Path:
        return self.root / "runs"

    @property
    def state_dir(self) -> Path:
        return self.root / ".tunesmith"

    @property
    def knowledge_dir(self) -> Path:
        """The knowledge index (default store) and its versions' manifests and reports."""
        return self.state_dir / "knowledge"

    def has_mlflow_store(self) -> bool:
        """A server is configured or the embedded store exists; checked without importing MLflow."""
        return bool(os.environ.get(MLFLOW_URI_ENV)) or (self.state_dir / "mlflow.db").is_file()

    def state_url(self) -> str:
        """Where keys, captured interactions and the review queue live."""
        return os.environ.get(STATE_URL_ENV) or f"sqlite:///{self.state_dir / 'state.db'}"

    def dataset_dir(self, name: str) -> Path:
        return self.datasets_dir / name

    def load_config(self) -> ProjectConfig:
        return load_config(self.config_path)

    def resolve(self, relative: str) -> Path:
        """A path from the config, relative to the workspace root."""
        path = Path(relative)
        return path if path.is_absolute() else self.root / path


def open_workspace(directory: Path | None = None) -> Workspace:
    """The workspace at `directory`, or the nearest parent of the cwd holding tunesmith.yaml."""
    if directory is not None:
        return Workspace(directory.resolve())
    here = Path.cwd().resolve()
    for candidate in (here, *here.parents):
        if (candidate / CONFIG_FILENAME).is_file():
            return Workspace(candidate)
    return Workspace(here)
