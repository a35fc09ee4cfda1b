"""The `train:` section: fine-tuning (LoRA / QLoRA / DoRA, schedule, precision)."""

from __future__ import annotations

from typing import Literal

from pydantic import Field, model_validator

from tunesmith.config.base import Strict

# every linear layer of a Llama-style block: where adapters go unless a config says otherwise
ALL_LINEAR = ["q_proj", "k_proj", "v_proj", "o_proj", "gate_proj", "up_proj", "down_proj"]


class TrainConfig(Strict):
    dataset: str = Field(
        default="latest", description="Dataset version of data.name: 'latest' or 'vN'."
    )
    method: Literal["lora", "dora", "qlora", "full"] = Field(
        default="lora",
        description="LoRA or DoRA adapters, LoRA over a 4-bit NF4 base (qlora), or all weights.",
    )
    lora_r: int = Field(default=16, ge=1, description="Adapter rank.")
    lora_alpha: int = Field(default=32, ge=1, description="Adapter scaling numerator.")
    lora_dropout: float = Field(
        default=0.0, ge=0, lt=1, description="Dropout on adapter input; 0 skips a pass per layer."
    )
    target_modules: list[str] = Field(
        default_factory=lambda: list(ALL_LINEAR),
        description="Linear layers that get adapters.",
    )
    learning_rate: float = Field(default=2e-4, gt=0, description="Peak learning rate.")
    epochs: float = Field(default=1.0, gt=0, description="Passes over the train split.")
    max_steps: int | None = Field(
        default=None, ge=1, description="Optimizer steps; overrides epochs."
    )
    batch_size: int = Field(default=8, ge=1, description="Sequences per micro-batch.")
    grad_accum: int = Field(default=1, ge=1, description="Micro-batches per optimizer step.")
    warmup_ratio: float = Field(default=0.05, ge=0, lt=1, description="Share of steps warming up.")
    scheduler: Literal["linear", "cosine", "constant_with_warmup"] = Field(
        default="cosine", description="Learning-rate schedule after warm-up."
    )
    weight_decay: float = Field(default=0.0, ge=0, description="AdamW weight decay.")
    seed: int = Field(default=0, description="Seed of initialisation, dropout and data order.")
    init_adapter: str | None = Field(
        default=None,
        description="Run id whose adapter this run continues from; null: a fresh adapter.",
    )
    reviewed_repeat: int = Field(
        default=1, ge=1, le=100, description="Times each reviewed (feedback) record is trained on."
    )
    max_length: int = Field(default=512, ge=8, description="Longest tokenised sequence.")
    truncation: Literal["drop", "truncate"] = Field(
        default="drop", description="Longer sequences are dropped or cut; either way counted."
    )
    loss_on: Literal["assistant", "all"] = Field(
        default="assistant", description="Tokens that carry loss."
    )
    eval_steps: int = Field(default=50, ge=1, description="Validation loss every N steps.")
    save_steps: int = Field(default=50, ge=1, description="Checkpoint every N steps.")
    logging_steps: int = Field(default=5, ge=1, description="Train loss logged every N steps.")
    early_stopping_patience: int | None = Field(
        default=3, ge=1, description="Evaluations without improvement before stopping."
    )

    @model_validator(mode="after")
    def _checkpoints_line_up_with_evaluations(self) -> TrainConfig:
        # the best checkpoint is chosen among saved ones, so every save must follow an eval
        if self.save_steps % self.eval_steps:
            raise ValueError(
                f"save_steps ({self.save_steps}) must be a multiple of eval_steps "
                f"({self.eval_steps}) so the best checkpoint can be kept"
            )
        return self
