"""`memory:` in tunesmith.yaml: what served models remember of each end user between calls.

Memory is scoped to (the API key's tenant, the request's `user`): a key without a tenant, or a
request without a user, neither reads nor writes it."""

from __future__ import annotations

import re
from typing import Literal

from pydantic import Field, field_validator

from tunesmith.config.base import Strict, compiled_pattern
from tunesmith.config.knowledge import DEFAULT_EMBEDDING_MODEL

_SLOT = re.compile(r"[a-z][a-z0-9_.]{0,63}")


class FactRule(Strict):
    slot: str = Field(description="The fact's name, e.g. preferred_contact (lowercase).")
    pattern: str = Field(
        description="Regex over the user's turn; its first group (else the match) is the value."
    )
    confidence: float = Field(default=0.9, gt=0, le=1, description="Stored with each fact found.")

    @field_validator("slot")
    @classmethod
    def _slot_name(cls, value: str) -> str:
        if not _SLOT.fullmatch(value):
            raise ValueError("lowercase letters, digits, '_' and '.', starting with a letter")
        return value

    @field_validator("pattern")
    @classmethod
    def _compiles(cls, value: str) -> str:
        return compiled_pattern(value)


class MemoryConfig(Strict):
    models: list[str] = Field(
        default_factory=list, description="Served models (as requested) with memory; '*' is all."
    )
    episodes_k: int = Field(
        default=3, ge=0, le=20, description="Earlier turns of the user given to the model."
    )
    facts_k: int = Field(default=8, ge=0, le=50, description="Facts of the user given at most.")
    min_similarity: float = Field(
        default=0.3, ge=-1, le=1, description="Earlier turns less similar to the question are left."
    )
    token_budget: int = Field(
        default=384, ge=16, description="Tokens (the served model's) the memory block may take."
    )
    retention_days: float | None = Field(
        default=90, gt=0, description="Episodes and facts older than this expire; none: kept."
    )
    expire_every_minutes: float = Field(
        default=60, gt=0, description="How often the server expires old memories."
    )
    pii: Literal["placeholder", "pseudonym"] = Field(
        default="placeholder",
        description="Masking of text entering memory; a masked value never becomes a fact "
        "unless pseudonymised (data.pii's entities and key).",
    )
    extraction: Literal["rules"] = Field(
        default="rules",
        description="How facts are found: rules (the patterns below, structured answers).",
    )
    facts: list[FactRule] = Field(
        default_factory=list, description="Patterns that turn a user's words into facts."
    )
    structured_facts: bool = Field(
        default=True,
        description="A JSON answer's scalar fields and tool-call arguments become facts.",
    )
    multi_slots: list[str] = Field(
        default_factory=list,
        description="Slots that hold several values (order ids); elsewhere a new value "
        "supersedes the old one, which is kept as history.",
    )
    embedding_model: str = Field(
        default=DEFAULT_EMBEDDING_MODEL,
        description="Sentence-embedding model of the memory index (bundled or a folder).",
    )

    def enabled_for(self, model: str) -> bool:
        return "*" in self.models or model in self.models
