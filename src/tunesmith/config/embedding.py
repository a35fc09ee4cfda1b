"""`train.embedding:` in tunesmith.yaml, read when `task.type` is `embedding`: tuning the
knowledge base's sentence-embedding model on (query, passage) pairs.

Such a workspace needs no `data:` section, so only `knowledge`, `task`, `train.embedding` and
`registry` are validated here (the rest of the file is not read)."""

from __future__ import annotations

from pathlib import Path
from typing import Any, Literal

from pydantic import Field, ValidationError, model_validator

from tunesmith.config.base import ConfigError, Strict
from tunesmith.config.knowledge import DEFAULT_EMBEDDING_MODEL, KnowledgeConfig
from tunesmith.config.project import load_config, read_yaml
from tunesmith.config.registry import RegistryConfig


class EmbeddingTrainConfig(Strict):
    pairs: str | None = Field(
        default=None,
        description='JSONL of {"query", "passage"} or {"query", "doc"}, relative to the workspace.',
    )
    from_knowledge: bool = Field(
        default=False,
        description="Pairs made from the chunks (heading, sentence); with `pairs`, trained on too.",
    )
    sentences_per_chunk: int = Field(
        default=2, ge=0, le=64, description="Sentence queries made per chunk by from_knowledge."
    )
    base_model: str = Field(
        default=DEFAULT_EMBEDDING_MODEL,
        description="The model tuned: all-MiniLM-L6-v2 (bundled) or a sentence-transformers dir.",
    )
    epochs: float = Field(default=1.0, gt=0, le=100, description="Passes over the training pairs.")
    max_steps: int | None = Field(
        default=None, ge=1, description="Stop after this many optimizer steps (overrides epochs)."
    )
    batch_size: int = Field(
        default=16, ge=2, le=4096, description="Pairs per step; the others are in-batch negatives."
    )
    learning_rate: float = Field(default=2e-5, gt=0, lt=1, description="AdamW peak learning rate.")
    warmup_ratio: float = Field(
        default=0.1, ge=0, lt=1, description="Share of the steps the learning rate warms up over."
    )
    hard_negatives: int = Field(
        default=1,
        ge=0,
        le=16,
        description="Per query, the stock model's best non-gold chunks added as negatives.",
    )
    loss: Literal["mnrl", "symmetric"] = Field(
        default="mnrl",
        description="mnrl: query to passage; symmetric: also passage to query (both softmaxes).",
    )
    held_out: float = Field(
        default=0.2, gt=0, lt=1, description="Share of the pairs kept out of training to measure."
    )
    seed: int = Field(default=0, description="Seed of the split, the batch order and the weights.")

    @model_validator(mode="after")
    def _one_source(self) -> EmbeddingTrainConfig:
        if self.pairs is None and not self.from_knowledge:
            raise ValueError("give a pairs source: `pairs: FILE`, `from_knowledge: true` or both")
        return self


class EmbeddingTaskConfig(Strict):
    type: Literal["embedding"] = Field(description="Tune the knowledge base's embedding model.")


class EmbeddingTrainSection(Strict):
    embedding: EmbeddingTrainConfig = Field(description="How the embedding model is tuned.")


class EmbeddingProject(Strict):
    project: str = Field(default="tunesmith", description="The MLflow experiment name.")
    knowledge: KnowledgeConfig = Field(description="The knowledge base whose chunks are ranked.")
    task: EmbeddingTaskConfig = Field(description="`type: embedding`.")
    train: EmbeddingTrainSection = Field(description="Only `train.embedding` is read.")
    registry: RegistryConfig = Field(
        default_factory=RegistryConfig,
        description="The registered name and approval policy of the tuned embedding models.",
    )


def task_type(raw: dict[str, Any]) -> str | None:
    """`task.type` of raw YAML, before any validation (an embedding workspace has no `data:`)."""
    task = raw.get("task")
    return task.get("type") if isinstance(task, dict) else None


def parse_embedding_project(raw: dict[str, Any], source: str) -> EmbeddingProject:
    """The sections an embedding run reads, validated; other sections are not looked at."""
    train = raw.get("train") if isinstance(raw.get("train"), dict) else {}
    picked = {
        "knowledge": raw.get("knowledge"),
        "task": raw.get("task"),
        "train": {"embedding": train.get("embedding", {})},
    }
    if raw.get("registry") is not None:
        picked["registry"] = raw["registry"]
    if isinstance(raw.get("project"), str):
        picked["project"] = raw["project"]
    try:
        return EmbeddingProject.model_validate(picked)
    except ValidationError as err:
        problems = [
            ".".join(str(p) for p in e["loc"]).rstrip(".") + f": {e['msg']}" for e in err.errors()
        ]
        raise ConfigError(f"{source}: " + "; ".join(problems)) from None


def load_embedding_project(path: Path) -> EmbeddingProject:
    return parse_embedding_project(read_yaml(path), str(path))


def registry_section(path: Path) -> tuple[RegistryConfig, str]:
    """The `registry:` section and the project name of a tunesmith.yaml: what names and
    approves its registered models, an embedding workspace's (no `data:`) included."""
    if task_type(read_yaml(path)) == "embedding":
        embedding = load_embedding_project(path)
        return embedding.registry, embedding.project
    config = load_config(path)
    return config.registry, config.project
