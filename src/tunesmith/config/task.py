"""The `task:` section: what the model answers (labels, schema, prompts)."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import Field, model_validator

from tunesmith.config.base import Strict


class TaskConfig(Strict):
    type: Literal["classification", "extraction", "generation", "tool_calling"] = Field(
        default="generation", description="What the assistant answer is, which sets the metrics."
    )
    labels: list[str] | None = Field(
        default=None, description="Allowed labels of a classification task."
    )
    label_field: str | None = Field(
        default=None,
        description="Meta field with the gold label; else it is read from the reference answer.",
    )
    answer_prefix: str = Field(
        default="", description="Text before the label in an answer, e.g. 'Queue: '."
    )
    instruction: str | None = Field(
        default=None,
        description="Base-model instruction for the prompt comparison; default built from labels.",
    )
    json_schema: dict[str, Any] | None = Field(
        default=None, description="JSON Schema an extraction answer must validate against."
    )

    @model_validator(mode="after")
    def _type_has_what_it_needs(self) -> TaskConfig:
        if self.type == "classification":
            if not self.labels or len(self.labels) < 2:
                raise ValueError("a classification task needs task.labels (at least two)")
            if len(set(self.labels)) != len(self.labels):
                raise ValueError("task.labels has duplicates")
            if any(not label.strip() for label in self.labels):
                raise ValueError("task.labels has an empty label")
        if self.type == "extraction":
            if self.json_schema is None:
                raise ValueError("an extraction task needs task.json_schema")
            from jsonschema import Draft202012Validator, SchemaError

            try:
                Draft202012Validator.check_schema(self.json_schema)
            except SchemaError as err:
                raise ValueError(
                    f"task.json_schema is not a valid JSON Schema: {err.message}"
                ) from None
        return self
