"""Training resource planner: GPU memory and GPU-hours before a run (`tunesmith plan`).

`estimate` is the entry point; the formulas and their sources are in `estimate.py`, the model
shapes in `architectures.py`, the accelerators in `hardware.py`.
"""

from tunesmith.plan.architectures import (
    KNOWN_MODELS,
    ModelShape,
    known_model,
    parse_count,
    parse_params,
)
from tunesmith.plan.estimate import ALL_LINEAR, METHODS, Memory, Plan, adapter_params, estimate
from tunesmith.plan.hardware import DEVICES, Device, get_device
from tunesmith.plan.summary import summary_rows

__all__ = [
    "ALL_LINEAR",
    "DEVICES",
    "KNOWN_MODELS",
    "METHODS",
    "Device",
    "Memory",
    "ModelShape",
    "Plan",
    "adapter_params",
    "estimate",
    "get_device",
    "known_model",
    "parse_count",
    "parse_params",
    "summary_rows",
]
