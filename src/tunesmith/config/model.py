"""The `base_model:` section: which model is fine-tuned."""

from __future__ import annotations

from pydantic import Field

from tunesmith.config.base import Strict


class BaseModelConfig(Strict):
    name: str = Field(
        default="smollm2-135m-instruct",
        description="Bundled base model to import, or a label for `path`.",
    )
    path: str | None = Field(
        default=None, description="Local Hugging Face model folder used instead of a bundled one."
    )
