"""What every section of `tunesmith.yaml` shares: strict, frozen models and the error."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict

CONFIG_FILENAME = "tunesmith.yaml"


class ConfigError(ValueError):
    """A `tunesmith.yaml` that cannot be used; the message names the file and the field."""


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)
