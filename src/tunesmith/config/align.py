"""Settings of preference data and tuning: the `align:` section of tunesmith.yaml."""

from __future__ import annotations

from typing import Literal

from pydantic import Field, model_validator

from tunesmith.config.base import Strict

DEFAULT_CONSTITUTION = (
    "A good answer routes the ticket to the right queue on its first line, then replies to the "
    "customer in at most two sentences that name the queue. It never repeats personal data "
    "(names, e-mail addresses, phone numbers, account numbers)."
)


class RubricConfig(Strict):
    """What the programmatic judge checks, and how much each check weighs in the score."""

    policy: str = Field(
        default="Reply in at most two sentences and always name the ticket's queue.",
        description="The style policy in words, for reports and the LLM judge's constitution.",
    )
    max_sentences: int | None = Field(
        default=2, ge=1, description="Most sentences the reply after the label may have; null: any."
    )
    name_label: bool = Field(
        default=True, description="The reply after the label line must name the label (queue)."
    )
    weights: dict[Literal["format", "label", "length", "names_label", "pii", "schema"], float] = (
        Field(
            default={"format": 1.0, "label": 2.0, "length": 1.0, "names_label": 1.0, "pii": 1.0},
            description="Check -> weight in the combined score; a check left out is not scored.",
        )
    )

    @model_validator(mode="after")
    def _some_weight(self) -> RubricConfig:
        if not any(w > 0 for w in self.weights.values()):
            raise ValueError("rubric.weights needs at least one positive weight")
        if any(w < 0 for w in self.weights.values()):
            raise ValueError("rubric.weights must not be negative")
        return self


class JudgeConfig(Strict):
    """An LLM judge behind any OpenAI-compatible chat-completions endpoint."""

    base_url: str | None = Field(
        default=None,
        description="Endpoint, e.g. http://judge:8000/v1; null: the local `tunesmith serve`.",
    )
    model: str = Field(default="base", description="Model name sent to the endpoint.")
    api_key_env: str = Field(
        default="TUNESMITH_JUDGE_KEY",
        description="Environment variable holding the endpoint's key; the key is never written.",
    )
    constitution: str = Field(
        default=DEFAULT_CONSTITUTION, description="The written rubric the judge applies."
    )
    max_tokens: int = Field(default=96, ge=8, description="Longest verdict the judge may write.")
    timeout_seconds: float = Field(default=120.0, gt=0, description="Per-request time limit.")


class SamplingConfig(Strict):
    """How `tunesmith feedback generate` samples candidates and keeps pairs."""

    k: int = Field(default=4, ge=2, le=32, description="Candidates sampled per prompt.")
    temperature: float = Field(default=1.0, gt=0, le=2, description="Sampling temperature.")
    top_p: float = Field(default=1.0, gt=0, le=1, description="Nucleus sampling mass.")
    seed: int = Field(default=0, description="Seed of the sampling; same seed, same candidates.")
    max_new_tokens: int = Field(default=96, ge=1, description="Longest sampled answer.")
    margin: float = Field(
        default=0.05, ge=0, description="Best-minus-worst score a prompt needs to give a pair."
    )
    hold_label: bool = Field(
        default=True,
        description="Pair only answers giving the reference label: pairs teach style, not routing.",
    )
    split: Literal["train", "val", "test"] = Field(
        default="train", description="Dataset split whose prompts are sampled."
    )
    limit: int | None = Field(default=None, ge=1, description="Prompts used at most; null: all.")
    batch_size: int = Field(default=32, ge=1, description="Sequences decoded together.")


class AlignConfig(Strict):
    """Preference tuning of an SFT run's adapter with TRL."""

    method: Literal["dpo", "orpo"] = Field(
        default="dpo",
        description="DPO against the SFT model as reference, or reference-free ORPO.",
    )
    beta: float = Field(default=0.1, gt=0, description="Strength of the preference term.")
    loss_type: Literal["sigmoid", "ipo", "hinge", "sigmoid_norm"] = Field(
        default="sigmoid", description="DPO loss variant (TRL's loss_type)."
    )
    sft_weight: float = Field(
        default=0.0,
        ge=0,
        description="DPO only: weight of an NLL term on chosen answers (RPO); 0: none.",
    )
    shared_head_in_prompt: bool = Field(
        default=True,
        description="Answer lines chosen and rejected both open with (a label line) join the "
        "prompt, so no loss trains them.",
    )
    replay_ratio: float = Field(
        default=0.0,
        ge=0,
        description="SFT training records mixed in per training pair, trained by the NLL term "
        "only (PPO-ptx's remedy for the alignment tax); needs sft_weight > 0 with DPO.",
    )
    learning_rate: float = Field(default=1e-4, gt=0, description="Peak learning rate.")
    epochs: float = Field(default=1.0, gt=0, description="Passes over the training pairs.")
    max_steps: int | None = Field(default=None, ge=1, description="Optimizer steps; overrides.")
    batch_size: int = Field(default=4, ge=1, description="Pairs per micro-batch.")
    grad_accum: int = Field(default=1, ge=1, description="Micro-batches per optimizer step.")
    warmup_ratio: float = Field(default=0.1, ge=0, lt=1, description="Share of steps warming up.")
    max_length: int = Field(default=512, ge=16, description="Longest prompt + answer in tokens.")
    val_share: float = Field(
        default=0.1, ge=0, lt=1, description="Share of pairs held out for validation margins."
    )
    seed: int = Field(default=0, description="Seed of the pair split and data order.")
    judge_holdout: float = Field(
        default=0.3,
        ge=0,
        lt=1,
        description="Share of review pairs never trained on, to check the judges against.",
    )
    logging_steps: int = Field(default=5, ge=1, description="Metrics logged every N steps.")
    save_steps: int = Field(default=50, ge=1, description="Checkpoint every N steps.")
    rubric: RubricConfig = Field(
        default_factory=RubricConfig, description="The programmatic judge's checks and weights."
    )
    judge: JudgeConfig = Field(default_factory=JudgeConfig, description="The LLM judge.")
    sampling: SamplingConfig = Field(
        default_factory=SamplingConfig, description="AI-feedback candidate sampling."
    )
