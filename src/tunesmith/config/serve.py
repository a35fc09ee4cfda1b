"""Settings of `tunesmith serve`: the `serve:` section of tunesmith.yaml."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator


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


class WorkflowStep(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: str = Field(
        min_length=1, description="The step's name, as `when`, `include` and the trace say it."
    )
    model: str = Field(
        min_length=1, description="A served model: run id, registry reference or the base."
    )
    kind: Literal["classify", "extract", "act"] = Field(
        description="classify: a label; extract: a JSON object; act: the answer with tool calls."
    )
    when: dict[str, list[str]] = Field(
        default_factory=dict,
        description="Run only if each named earlier classify step gave one of these labels.",
    )
    include: list[str] = Field(
        default_factory=list,
        description="Earlier steps whose outputs are added to the conversation as a system note.",
    )
    labels: list[str] | None = Field(
        default=None,
        description="classify: the labels to choose from; default the run's task labels.",
    )
    json_schema: dict[str, Any] | None = Field(
        default=None,
        description="extract: the object's JSON schema; default the run's task.json_schema.",
    )
    max_tokens: int | None = Field(
        default=None, ge=1, description="New tokens for this step; default the request's."
    )


class WorkflowConfig(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: str = Field(
        min_length=1, description="The model name a client asks for; not a served model's."
    )
    steps: list[WorkflowStep] = Field(min_length=1, description="The specialists, run in order.")

    @model_validator(mode="after")
    def _steps_refer_back(self) -> WorkflowConfig:
        kinds: dict[str, str] = {}
        for step in self.steps:
            where = f"workflow '{self.name}' step '{step.name}'"
            if step.name in kinds:
                raise ValueError(f"{where}: the name is used twice")
            for earlier in [*step.when, *step.include]:
                if earlier not in kinds:
                    raise ValueError(f"{where}: '{earlier}' is not an earlier step")
            for earlier in step.when:
                if kinds[earlier] != "classify":
                    raise ValueError(f"{where}: when '{earlier}' needs a classify step")
            if step.labels is not None and (step.kind != "classify" or not step.labels):
                raise ValueError(f"{where}: labels are for classify steps, at least one")
            if step.json_schema is not None and step.kind != "extract":
                raise ValueError(f"{where}: json_schema is for extract steps")
            kinds[step.name] = step.kind
        return self


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
    workflows: list[WorkflowConfig] = Field(
        default_factory=list,
        description="Specialists chained behind one model name (classify, extract, act).",
    )

    @model_validator(mode="after")
    def _workflow_names_unique(self) -> ServeConfig:
        names = [w.name for w in self.workflows]
        if len(set(names)) != len(names):
            raise ValueError("serve.workflows: two workflows have the same name")
        return self
