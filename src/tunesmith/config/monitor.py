"""Settings of monitoring, review and retraining: the `monitor:` section of tunesmith.yaml."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field


class RetrainConfig(BaseModel):
    model_config = ConfigDict(extra="forbid")

    on_drift: bool = Field(default=True, description="Retrain when the input-drift check fires.")
    min_corrections: int | None = Field(
        default=20, ge=1, description="Retrain once this many reviewed corrections are unused."
    )
    reviewed_accuracy_floor: float | None = Field(
        default=0.8, ge=0, le=1, description="Retrain when accuracy on reviewed items falls below."
    )
    min_reviewed: int = Field(
        default=10, ge=1, description="Reviewed items needed before their accuracy is judged."
    )
    every: str | None = Field(
        default=None, description="Retrain on a schedule, e.g. '7d', since the champion's run."
    )
    warm_start: bool = Field(
        default=True,
        description="The challenger continues the champion's adapter instead of a fresh one.",
    )
    max_steps: int | None = Field(
        default=None,
        ge=1,
        description="Optimizer steps of the challenger's training; null: the champion's setting.",
    )
    min_feedback_gain: float | None = Field(
        default=0.0,
        description="Challenger must beat the champion on the feedback split by more; null: skip.",
    )
    max_audit_loss: float | None = Field(
        default=0.0,
        ge=0,
        description="Challenger may trail the champion on the audit sample by at most; null: skip.",
    )
    approval: Literal["auto", "manual"] = Field(
        default="manual",
        description="auto: promote a passing challenger; manual: wait for `tunesmith approve`.",
    )
    approver: str = Field(
        default="tunesmith-loop", description="Name recorded on automatic approvals."
    )
    interval: str = Field(default="1h", description="How often `tunesmith loop` checks.")
    on_error_rate: bool = Field(
        default=False,
        description="Retrain when the monitor's error-rate alert fires (failures a model causes).",
    )


class MonitorConfig(BaseModel):
    model_config = ConfigDict(extra="forbid")

    window: str = Field(default="24h", description="Default --since: the recent window judged.")
    min_window: int = Field(
        default=80, ge=5, description="Fewer interactions in the window: drift is not judged."
    )
    drift_alpha: float = Field(
        default=0.05, gt=0, lt=1, description="Significance level of the drift tests."
    )
    reference_size: int = Field(
        default=500, ge=20, description="Training inputs embedded as the drift reference."
    )
    max_error_rate: float | None = Field(
        default=0.05,
        ge=0,
        le=1,
        description="A window's error rate above this is an alert in the report; null: none.",
    )
    confidence_threshold: float = Field(
        default=0.3, ge=0, le=1, description="Label margin below this sends an answer to review."
    )
    audit_sample_rate: float = Field(
        default=0.05,
        ge=0,
        le=1,
        description="Share of answers drawn at random for review, held out of training to judge.",
    )
    audit_seed: int = Field(
        default=0, description="Seed of the audit draw: the same seed draws the same answers."
    )
    drift_review_top: int = Field(
        default=20, ge=0, description="When drift fires, the N most unusual inputs go to review."
    )
    review_lease_seconds: int = Field(
        default=600, ge=10, description="How long a claimed item stays with its reviewer."
    )
    feedback_eval_share: float = Field(
        default=0.4, ge=0, lt=1, description="Share of reviewed records kept as the feedback set."
    )
    retrain: RetrainConfig = Field(
        default_factory=RetrainConfig, description="When and how the loop retrains."
    )


def parse_duration(text: str) -> float:
    """'90s', '15m', '24h', '7d' -> seconds."""
    units = {"s": 1, "m": 60, "h": 3600, "d": 86400}
    value, unit = text[:-1], text[-1:]
    if unit not in units or not value.replace(".", "", 1).isdigit():
        raise ValueError(f"duration {text!r}: expected a number and one of s, m, h, d (e.g. 24h)")
    return float(value) * units[unit]
