"""The typed schema of `tunesmith.yaml`, one module per section, and where a workspace keeps
its files. YAML only sets values; defaults and rules live here. This package imports no stage:
every stage imports it.
"""

from tunesmith.config.align import AlignConfig, JudgeConfig, RubricConfig, SamplingConfig
from tunesmith.config.base import CONFIG_FILENAME, ConfigError
from tunesmith.config.data import (
    PII_ENTITIES,
    CustomEntity,
    DataConfig,
    DedupConfig,
    PiiConfig,
    QualityConfig,
    SourceConfig,
    SplitConfig,
    TemplateConfig,
)
from tunesmith.config.eval import EvalConfig, GatesConfig
from tunesmith.config.knowledge import KnowledgeConfig
from tunesmith.config.memory import FactRule, MemoryConfig
from tunesmith.config.model import BaseModelConfig
from tunesmith.config.monitor import MonitorConfig, RetrainConfig
from tunesmith.config.project import (
    ProjectConfig,
    load_config,
    load_knowledge_config,
    parse_config,
    with_section,
)
from tunesmith.config.registry import RegistryConfig
from tunesmith.config.reward import RewardConfig
from tunesmith.config.serve import ServeConfig
from tunesmith.config.task import TaskConfig
from tunesmith.config.train import TrainConfig

__all__ = [
    "CONFIG_FILENAME",
    "PII_ENTITIES",
    "AlignConfig",
    "BaseModelConfig",
    "ConfigError",
    "CustomEntity",
    "DataConfig",
    "DedupConfig",
    "EvalConfig",
    "FactRule",
    "GatesConfig",
    "JudgeConfig",
    "KnowledgeConfig",
    "MemoryConfig",
    "MonitorConfig",
    "PiiConfig",
    "ProjectConfig",
    "QualityConfig",
    "RegistryConfig",
    "RetrainConfig",
    "RewardConfig",
    "RubricConfig",
    "SamplingConfig",
    "ServeConfig",
    "SourceConfig",
    "SplitConfig",
    "TaskConfig",
    "TemplateConfig",
    "TrainConfig",
    "load_config",
    "load_knowledge_config",
    "parse_config",
    "with_section",
]
