"""The `data:` section: sources, template, PII masking, dedup, quality and split."""

from __future__ import annotations

import re
from typing import Any, Literal

import jinja2
from pydantic import (
    Field,
    SerializerFunctionWrapHandler,
    field_validator,
    model_serializer,
    model_validator,
)

from tunesmith.config.base import Strict, compiled_pattern

PII_ENTITIES = (
    "PERSON",
    "EMAIL_ADDRESS",
    "PHONE_NUMBER",
    "CREDIT_CARD",
    "IBAN_CODE",
    "US_SSN",
    "IP_ADDRESS",
    "DATE_OF_BIRTH",
    "POSTAL_ADDRESS",
    "NATIONAL_ID",
    "PASSPORT",
)


class SourceConfig(Strict):
    path: str = Field(description="File or folder of raw records, relative to the workspace.")
    format: Literal["csv", "jsonl", "json", "parquet", "text"] | None = Field(
        default=None, description="Reader to use; inferred from the extension when omitted."
    )
    id_field: str | None = Field(
        default=None, description="Column holding a stable record id; else '<source>:<row>'."
    )


class TemplateConfig(Strict):
    system: str | None = Field(default=None, description="Jinja2 template of the system message.")
    user: str | None = Field(
        default=None, description="Jinja2 template of the user message, over a row's fields."
    )
    assistant: str | None = Field(
        default=None, description="Jinja2 template of the assistant message (the target)."
    )
    messages: str | None = Field(
        default=None, description="Field holding an OpenAI chat conversation, taken as it is."
    )
    tools: str | None = Field(
        default=None, description="Field holding the record's tool list (with `messages`)."
    )
    tool_calls: str | None = Field(
        default=None,
        description="Jinja2 template of the assistant's calls, JSON: {name, arguments} or a list.",
    )
    tool_list: list[dict[str, Any]] | None = Field(
        default=None, description="The tools (OpenAI function tools) rows' `tool_calls` use."
    )

    @field_validator("system", "user", "assistant", "tool_calls")
    @classmethod
    def _compiles(cls, value: str | None) -> str | None:
        if value is not None:
            try:
                jinja2.Environment().parse(value)
            except jinja2.TemplateSyntaxError as err:
                raise ValueError(
                    f"not a valid Jinja2 template: {err.message} (line {err.lineno})"
                ) from None
        return value

    @field_validator("messages", "tools")
    @classmethod
    def _field_name(cls, value: str | None) -> str | None:
        if value is not None and not value.strip():
            raise ValueError("name the field, e.g. 'messages'")
        return value

    @model_validator(mode="after")
    def _one_mode(self) -> TemplateConfig:
        if (self.tool_calls is None) != (self.tool_list is None):
            raise ValueError("`tool_calls` and `tool_list` go together")
        if self.messages is None:
            if self.user is None:
                raise ValueError("set `user` (a template) or `messages` (a conversation field)")
            if self.tools is not None:
                raise ValueError("`tools` needs `messages`: tool lists come with conversations")
        elif any(
            v is not None
            for v in (self.system, self.user, self.assistant, self.tool_calls, self.tool_list)
        ):
            raise ValueError(
                "`messages` takes conversations as they are: drop system/user/assistant/tool_calls"
            )
        return self

    @model_serializer(mode="wrap")
    def _dump(self, handler: SerializerFunctionWrapHandler) -> dict[str, object]:
        # Unset conversation keys stay out of the dump, so a row-template config keeps the
        # snapshot (and dataset fingerprint) it had before they existed.
        data = handler(self)
        optional = ("messages", "tools", "tool_calls", "tool_list")
        return {k: v for k, v in data.items() if k not in optional or v is not None}


class CustomEntity(Strict):
    name: str = Field(description="Entity type to report and mask, e.g. ACCOUNT_ID.")
    pattern: str = Field(description="Python regular expression matching the entity.")

    @field_validator("name")
    @classmethod
    def _upper_name(cls, value: str) -> str:
        if not re.fullmatch(r"[A-Z][A-Z0-9_]*", value):
            raise ValueError("must be UPPER_SNAKE_CASE, e.g. ACCOUNT_ID")
        return value

    @field_validator("pattern")
    @classmethod
    def _compiles(cls, value: str) -> str:
        return compiled_pattern(value)


class PiiConfig(Strict):
    enabled: bool = Field(default=True, description="Detect and mask personal data.")
    mode: Literal["placeholder", "pseudonym", "redact"] = Field(
        default="placeholder", description="How found values are replaced."
    )
    entities: list[str] = Field(
        default=list(PII_ENTITIES), description="Built-in entity types to detect."
    )
    custom: list[CustomEntity] = Field(
        default_factory=list, description="User-defined entities matched by regex."
    )
    skip_fields: list[str] = Field(
        default_factory=list, description="Columns never scanned (labels, ids, categories)."
    )
    name_fields: list[str] | None = Field(
        default=None,
        description="Columns whose whole value is a person's name; default: names ending 'name'.",
    )
    pseudonym_key_env: str = Field(
        default="TUNESMITH_PII_KEY",
        description="Environment variable holding the pseudonym key; the key is never written.",
    )

    @field_validator("entities")
    @classmethod
    def _known(cls, value: list[str]) -> list[str]:
        unknown = sorted(set(value) - set(PII_ENTITIES))
        if unknown:
            raise ValueError(f"unknown entity types {unknown}; known: {list(PII_ENTITIES)}")
        return value


class DedupConfig(Strict):
    near_threshold: float = Field(
        default=0.85, gt=0, le=1, description="Jaccard similarity on word shingles for near-dups."
    )
    shingle_size: int = Field(default=3, ge=1, le=10, description="Words per shingle.")
    num_perm: int = Field(default=128, ge=16, le=1024, description="MinHash permutations.")
    fields: list[str] | None = Field(
        default=None, description="Fields compared; default: those the templates use."
    )


class QualityConfig(Strict):
    min_chars: int = Field(default=20, ge=0, description="Shorter compared text is quarantined.")
    max_chars: int = Field(default=20_000, gt=0, description="Longer text is quarantined.")


class SplitConfig(Strict):
    val: float = Field(default=0.1, ge=0, lt=1, description="Fraction of records for validation.")
    test: float = Field(default=0.1, ge=0, lt=1, description="Fraction of records for test.")
    seed: int = Field(default=0, description="Seed of the split assignment.")
    stratify_by: str | None = Field(
        default=None, description="Meta field whose values keep their proportions in each split."
    )

    @model_validator(mode="after")
    def _leaves_train(self) -> SplitConfig:
        if self.val + self.test >= 1:
            raise ValueError(f"val + test must be < 1 (got {self.val + self.test})")
        return self


class DataConfig(Strict):
    name: str = Field(description="Dataset name; versions go to datasets/<name>/v<N>/.")
    sources: list[SourceConfig] = Field(min_length=1, description="Raw inputs to curate.")
    template: TemplateConfig = Field(description="How a row becomes ChatML messages.")
    meta_fields: list[str] = Field(
        default_factory=list, description="Row fields copied into each record's meta."
    )
    pii: PiiConfig = Field(default_factory=PiiConfig, description="Personal-data masking.")
    dedup: DedupConfig = Field(default_factory=DedupConfig, description="Duplicate removal.")
    quality: QualityConfig = Field(default_factory=QualityConfig, description="Row filters.")
    split: SplitConfig = Field(default_factory=SplitConfig, description="Train/val/test split.")

    @field_validator("name")
    @classmethod
    def _safe_name(cls, value: str) -> str:
        if not re.fullmatch(r"[A-Za-z0-9][A-Za-z0-9_.-]*", value):
            raise ValueError("use letters, digits, '-', '_' and '.' only")
        return value

    @model_validator(mode="after")
    def _stratify_is_meta(self) -> DataConfig:
        field = self.split.stratify_by
        if field is not None and field not in self.meta_fields:
            raise ValueError(f"split.stratify_by '{field}' must be listed in data.meta_fields")
        return self
