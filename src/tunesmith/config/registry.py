"""The `registry:` section: model versions, approvals, promotion."""

from __future__ import annotations

from pydantic import Field

from tunesmith.config.base import Strict


class RegistryConfig(Strict):
    model_name: str | None = Field(
        default=None, description="Registered model name; default: the project name."
    )
    required_approvals: int = Field(
        default=1, ge=0, description="Distinct human approvals needed to become champion."
    )
    approvers: list[str] = Field(
        default_factory=list, description="Who may approve; empty means anyone named."
    )
