"""The `eval:` section: evaluation and the gates, and the metric names each task reports."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import Field, model_validator

from tunesmith.config.base import Strict

MAIN_METRIC = {
    "classification": "accuracy",
    "extraction": "field_f1",
    "generation": "chrf",
    "tool_calling": "call_accuracy",
}
# what each task type reports; extraction adds exact.<field> and f1.<field> per schema property
METRICS = {
    "classification": ("accuracy", "macro_f1", "invalid_rate", "val_perplexity"),
    "extraction": ("parse_rate", "schema_valid_rate", "field_exact", "field_f1", "val_perplexity"),
    "generation": ("exact_match", "chrf", "rouge_l", "val_perplexity"),
    # single-turn calls in the Berkeley Function Calling Leaderboard's sense, then live episodes
    "tool_calling": (
        "call_accuracy",
        "name_accuracy",
        "argument_exact",
        "schema_valid_rate",
        "irrelevance_rate",
        "episode_success",
        "steps_per_task",
        "calls_per_task",
        "val_perplexity",
    ),
}
LOWER_IS_BETTER = frozenset({"invalid_rate", "val_perplexity", "steps_per_task", "calls_per_task"})


def known_metrics(task_type: str, schema: dict[str, Any] | None) -> set[str]:
    """Every metric name `tunesmith eval` can report for this task."""
    names = set(METRICS[task_type])
    if task_type == "extraction" and schema:
        for field in schema.get("properties", {}):
            names |= {f"exact.{field}", f"f1.{field}"}
    return names


class GatesConfig(Strict):
    min: dict[str, float] = Field(
        default_factory=dict, description="Metric -> lowest value allowed, e.g. accuracy: 0.8."
    )
    max: dict[str, float] = Field(
        default_factory=dict,
        description="Metric -> highest value allowed, e.g. invalid_rate: 0.05.",
    )
    max_regression: dict[str, float] = Field(
        default_factory=dict,
        description="Metric -> largest drop allowed against the champion on the same rows.",
    )
    min_slice_ratio: float | None = Field(
        default=None, gt=0, le=1, description="Lowest worst-slice / best-slice metric ratio."
    )


class EvalConfig(Strict):
    split: Literal["test", "val"] = Field(default="test", description="Split that is scored.")
    classify_by: Literal["scoring", "generation"] = Field(
        default="scoring",
        description="Labels by log-likelihood of each allowed label, or by free generation.",
    )
    max_new_tokens: int = Field(default=128, ge=1, description="Longest generated answer.")
    batch_size: int = Field(default=8, ge=1, description="Rows per forward pass.")
    few_shot: int = Field(
        default=5, ge=0, description="Train examples in the few-shot prompt of --compare."
    )
    slices: list[str] = Field(
        default_factory=list, description="Meta fields whose values get their own metrics."
    )
    slice_floor: float | None = Field(
        default=None, ge=0, description="A slice whose main metric is below this is flagged."
    )
    min_slice_rows: int = Field(
        default=10, ge=1, description="Slices with fewer rows are reported but not judged."
    )
    gates: GatesConfig = Field(default_factory=GatesConfig, description="Promotion gates.")
    seed: int = Field(default=0, description="Seed of the few-shot example choice.")
    knowledge_questions: str | None = Field(
        default=None,
        description="Gold-fact questions JSONL of `eval --knowledge` (workspace-relative).",
    )
    constrain_tools: bool = Field(
        default=True,
        description="Tool calls decode under their tools' grammar, as the server decodes them.",
    )
    episodes: str | None = Field(
        default=None,
        description="Multi-step tool tasks JSONL (state, expected end state), workspace-relative.",
    )
    tool_backend: str | None = Field(
        default=None,
        description="Module with run_tool(state, name, arguments) and outcome(state) for episodes.",
    )
    max_episode_steps: int = Field(
        default=8, ge=1, description="Model turns an episode may take before it counts as failed."
    )

    @model_validator(mode="after")
    def _episodes_have_a_backend(self) -> EvalConfig:
        if (self.episodes is None) != (self.tool_backend is None):
            raise ValueError("eval.episodes and eval.tool_backend go together")
        return self
