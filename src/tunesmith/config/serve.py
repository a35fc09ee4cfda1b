"""Settings of `tunesmith serve`: the `serve:` section of tunesmith.yaml."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field


class ServeRetrievalConfig(BaseModel):
    model_config = ConfigDict(extra="forbid")

    models: list[str] = Field(
        default_factory=list,
        description="Models (as requested) that answer from the knowledge base; '*' is all.",
    )
    top_k: int | None = Field(
        default=None, ge=1, le=20, description="Chunks in the prompt; default knowledge.top_k."
    )
    when_no_sources: Literal["refuse", "answer"] = Field(
        default="refuse",
        description="No chunk the caller may read: say so (refuse) or let the model answer.",
    )
    refusal: str = Field(
        default="I cannot answer that from the documents you have access to.",
        description="The answer when no source the caller may read was found.",
    )


class ServeConfig(BaseModel):
    model_config = ConfigDict(extra="forbid")

    host: str = Field(default="127.0.0.1", description="Interface to bind; loopback by default.")
    port: int = Field(default=8000, ge=0, le=65535, description="TCP port (0: any free port).")
    max_batch: int = Field(default=8, ge=1, description="Sequences decoded together per step.")
    max_adapters: int = Field(default=4, ge=1, description="Adapters kept loaded (LRU).")
    max_body_bytes: int = Field(
        default=1_000_000, ge=1024, description="Larger request bodies get 413."
    )
    max_prompt_tokens: int = Field(default=2048, ge=1, description="Longer prompts get 400.")
    max_tokens: int = Field(default=512, ge=1, description="Largest max_tokens a request may ask.")
    default_max_tokens: int = Field(
        default=128, ge=1, description="New tokens when a request sets no max_tokens."
    )
    max_n: int = Field(default=4, ge=1, description="Largest n (choices per request).")
    max_queue: int = Field(
        default=256,
        ge=1,
        description="Sequences waiting for the engine; more get 503 + Retry-After.",
    )
    retry_after_seconds: int = Field(
        default=2, ge=1, description="Retry-After of a 503 when the engine's queue is full."
    )
    max_schema_bytes: int = Field(
        default=32_768, ge=64, description="Larger JSON schemas (response_format, tools) get 400."
    )
    max_schema_depth: int = Field(
        default=24, ge=2, description="JSON schemas nested deeper than this get 400."
    )
    schema_compile_seconds: float = Field(
        default=10.0, gt=0, description="A schema whose grammar takes longer to compile gets 400."
    )
    alias_refresh_seconds: float = Field(
        default=2.0, gt=0, description="How often a registry alias is looked up again."
    )
    capture: bool = Field(default=True, description="Store every completed call in the state db.")
    capture_mask_pii: bool = Field(
        default=True, description="Mask personal data in stored text with the curate masker."
    )
    restore_pii: bool = Field(
        default=True,
        description="Mask requests to models trained on masked data as that data was masked, "
        "and put the caller's own values back into the answer.",
    )
    retrieval: ServeRetrievalConfig = Field(
        default_factory=ServeRetrievalConfig,
        description="Answers from the knowledge base, with citations (needs `knowledge:`).",
    )
    invented_pii: dict[str, str] = Field(
        default_factory=lambda: {
            "EMAIL_ADDRESS": "your e-mail address",
            "PHONE_NUMBER": "your phone number",
            "POSTAL_ADDRESS": "your address",
        },
        description="How a placeholder the request never had is written, by type; others vanish.",
    )
