"""The whole of `tunesmith.yaml`: one model per section, validated before any work starts."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml
from pydantic import Field, ValidationError, model_validator

from tunesmith.config.align import AlignConfig
from tunesmith.config.base import CONFIG_FILENAME, ConfigError, Strict
from tunesmith.config.data import DataConfig
from tunesmith.config.eval import EvalConfig, known_metrics
from tunesmith.config.knowledge import KnowledgeConfig
from tunesmith.config.memory import MemoryConfig
from tunesmith.config.model import BaseModelConfig
from tunesmith.config.monitor import MonitorConfig
from tunesmith.config.registry import RegistryConfig
from tunesmith.config.reward import RewardConfig
from tunesmith.config.serve import ServeConfig
from tunesmith.config.task import TaskConfig
from tunesmith.config.train import TrainConfig


class ProjectConfig(Strict):
    project: str = Field(default="tunesmith-project", description="Human name of the project.")
    base_model: BaseModelConfig = Field(
        default_factory=BaseModelConfig, description="The model to fine-tune."
    )
    data: DataConfig = Field(description="Curation: sources, template, PII, dedup, split.")
    train: TrainConfig = Field(default_factory=TrainConfig, description="Fine-tuning.")
    task: TaskConfig = Field(default_factory=TaskConfig, description="What the model answers.")
    eval: EvalConfig = Field(default_factory=EvalConfig, description="Evaluation and gates.")
    registry: RegistryConfig = Field(
        default_factory=RegistryConfig, description="Model versions, approvals, promotion."
    )
    serve: ServeConfig = Field(default_factory=ServeConfig, description="The HTTP server.")
    monitor: MonitorConfig = Field(
        default_factory=MonitorConfig, description="Monitoring, review and retraining."
    )
    align: AlignConfig = Field(
        default_factory=AlignConfig, description="Preference data, judges and preference tuning."
    )
    reward: RewardConfig = Field(
        default_factory=RewardConfig, description="The reward model learned from pairwise choices."
    )
    knowledge: KnowledgeConfig | None = Field(
        default=None, description="Documents served models retrieve from, with access groups."
    )
    memory: MemoryConfig = Field(
        default_factory=MemoryConfig,
        description="What served models remember of each end user (off unless models are named).",
    )

    @model_validator(mode="after")
    def _fields_exist(self) -> ProjectConfig:
        for field in [*self.eval.slices, self.task.label_field]:
            if field is not None and field not in self.data.meta_fields:
                raise ValueError(f"'{field}' is used by task/eval but not in data.meta_fields")
        return self

    @model_validator(mode="after")
    def _gates_name_reported_metrics(self) -> ProjectConfig:
        known = known_metrics(self.task.type, self.task.json_schema)
        gates = self.eval.gates
        for kind, metrics in (
            ("min", gates.min),
            ("max", gates.max),
            ("max_regression", gates.max_regression),
        ):
            unknown = sorted(set(metrics) - known)
            if unknown:
                raise ValueError(
                    f"eval.gates.{kind}: {unknown} not reported for task.type "
                    f"'{self.task.type}'; known: {sorted(known)}"
                )
        return self


def _field_path(loc: tuple[int | str, ...]) -> str:
    return ".".join(f"[{part}]" if isinstance(part, int) else part for part in loc).replace(
        ".[", "["
    )


def parse_config(raw: object, source: str = CONFIG_FILENAME) -> ProjectConfig:
    """Validate already-loaded YAML; raise ConfigError naming every bad field."""
    try:
        return ProjectConfig.model_validate(raw)
    except ValidationError as err:
        problems = [f"{_field_path(e['loc']) or '<root>'}: {e['msg']}" for e in err.errors()]
        raise ConfigError(f"{source}: " + "; ".join(problems)) from None


def read_yaml(path: Path) -> dict[str, Any]:
    """The mapping at the top of a YAML file; a missing, unreadable or malformed file raises
    ConfigError naming the file (and the line, for a syntax error)."""
    if not path.is_file():
        raise ConfigError(
            f"{path}: not found (is this a tunesmith workspace? try `tunesmith init`)"
        )
    try:
        raw = yaml.safe_load(path.read_text(encoding="utf-8"))
    except yaml.YAMLError as err:
        mark = getattr(err, "problem_mark", None)
        where = f" line {mark.line + 1}, column {mark.column + 1}" if mark else ""
        raise ConfigError(f"{path}:{where}: not valid YAML: {err}") from None
    except UnicodeDecodeError as err:
        raise ConfigError(f"{path}: not UTF-8 ({err.reason} at byte {err.start})") from None
    if not isinstance(raw, dict):
        raise ConfigError(f"{path}: expected a mapping at the top level")
    return raw


def load_config(path: Path) -> ProjectConfig:
    """Read and validate `tunesmith.yaml` before any work starts."""
    return parse_config(read_yaml(path), str(path))


def load_knowledge_config(path: Path) -> KnowledgeConfig:
    """Only the `knowledge:` section, validated: a file holding nothing else serves the `kb`
    commands (the rest of the file, when present, is not read)."""
    raw = read_yaml(path)
    if raw.get("knowledge") is None:
        raise ConfigError(f"{path}: no `knowledge:` section (the kb commands need one)")
    try:
        return KnowledgeConfig.model_validate(raw["knowledge"])
    except ValidationError as err:
        problems = [
            f"knowledge.{_field_path(e['loc'])}".rstrip(".") + f": {e['msg']}" for e in err.errors()
        ]
        raise ConfigError(f"{path}: " + "; ".join(problems)) from None


def with_section(config: ProjectConfig, section: str, values: dict[str, Any]) -> ProjectConfig:
    """`config` with some values of one section replaced, validated like the YAML would be
    (command-line overrides get the same limits and errors as the file)."""
    raw = config.model_dump(mode="json")
    raw[section] = {**raw[section], **values}
    return parse_config(raw, f"{CONFIG_FILENAME} ({section} from the command line)")
