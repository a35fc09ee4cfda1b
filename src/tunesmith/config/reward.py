"""Settings of the reward model: the `reward:` section of tunesmith.yaml."""

from __future__ import annotations

from pydantic import Field, model_validator

from tunesmith.config.base import Strict
from tunesmith.config.train import ALL_LINEAR


class RewardConfig(Strict):
    """A scalar-head LoRA on the base model, trained on pairwise choices (Bradley-Terry)."""

    lora_r: int = Field(default=16, ge=1, description="Adapter rank.")
    lora_alpha: int = Field(default=32, ge=1, description="Adapter scaling numerator.")
    target_modules: list[str] = Field(
        default_factory=lambda: list(ALL_LINEAR),
        description="Linear layers that get adapters (the score head is trained whole).",
    )
    learning_rate: float = Field(default=2e-4, gt=0, description="Peak learning rate.")
    epochs: float = Field(default=2.0, gt=0, description="Passes over the training pairs.")
    max_steps: int | None = Field(default=None, ge=1, description="Optimizer steps; overrides.")
    batch_size: int = Field(default=4, ge=1, description="Pairs per micro-batch.")
    grad_accum: int = Field(default=1, ge=1, description="Micro-batches per optimizer step.")
    warmup_ratio: float = Field(default=0.1, ge=0, lt=1, description="Share of steps warming up.")
    max_length: int = Field(
        default=512,
        ge=16,
        description="Longest prompt + answer in tokens; longer pairs counted out.",
    )
    center_rewards: float | None = Field(
        default=0.01,
        ge=0,
        description="Weight of TRL's term keeping rewards near zero (comparable across runs).",
    )
    val_share: float = Field(
        default=0.1, ge=0, lt=1, description="Share of training pairs for validation accuracy."
    )
    seed: int = Field(default=0, description="Seed of the head, the pair split and data order.")
    margin_buckets: list[float] = Field(
        default=[0.5, 1.0, 2.0],
        description="Edges of |reward margin| buckets for calibration (accuracy per bucket).",
    )
    logging_steps: int = Field(default=5, ge=1, description="Metrics logged every N steps.")
    save_steps: int = Field(default=50, ge=1, description="Checkpoint every N steps.")

    @model_validator(mode="after")
    def _buckets_rise(self) -> RewardConfig:
        edges = self.margin_buckets
        if any(e <= 0 for e in edges) or edges != sorted(set(edges)):
            raise ValueError("reward.margin_buckets must be positive and strictly rising")
        return self
