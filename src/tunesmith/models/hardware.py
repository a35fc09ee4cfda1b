"""The hardware a model runs on, and the device and precision chosen from it, never from a
library default."""

from __future__ import annotations

import platform
from typing import Any

import torch


def hardware() -> dict[str, Any]:
    """Device and precision chosen from the hardware, never from a library default."""
    if torch.cuda.is_available():
        bf16 = torch.cuda.is_bf16_supported()
        return {"device": "cuda", "name": torch.cuda.get_device_name(0), "bf16": bf16}
    # CPUs here lack native bf16 matmuls: bf16 ran ~17x slower than fp32 on the dev machine.
    return {"device": "cpu", "name": platform.processor() or platform.machine(), "bf16": False}


def device() -> torch.device:
    """The first GPU when there is one; inference runs in the dtype the weights load in."""
    return torch.device("cuda" if torch.cuda.is_available() else "cpu")


def inference_dtype() -> torch.dtype:
    """The dtype training would pick on this hardware, so base and tuned run like for like."""
    return torch.bfloat16 if hardware()["bf16"] else torch.float32
