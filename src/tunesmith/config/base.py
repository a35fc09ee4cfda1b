"""What every section of `tunesmith.yaml` shares: strict, frozen models and the error."""

from __future__ import annotations

import re

from pydantic import BaseModel, ConfigDict

CONFIG_FILENAME = "tunesmith.yaml"


def compiled_pattern(value: str) -> str:
    """`value` if it compiles as a Python regular expression; the error in words otherwise."""
    try:
        re.compile(value)
    except re.error as err:
        raise ValueError(f"not a valid regular expression: {err}") from None
    return value


class ConfigError(ValueError):
    """A `tunesmith.yaml` that cannot be used; the message names the file and the field."""


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)
