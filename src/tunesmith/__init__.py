"""tunesmith: turn an organisation's own records into a specialised small language model."""

import logging
import os

__version__ = "0.1.0"

# Nothing leaves the machine: every library that would call home is told not to, before any
# of them is imported (each reads its variable at import or at call time). Read in their
# installed sources: MLflow 3 sends usage telemetry (MLFLOW_DISABLE_TELEMETRY, or DO_NOT_TRACK
# spelt "true"); huggingface_hub sends it for TRL's trainers and transformers' downloads
# (HF_HUB_DISABLE_TELEMETRY, DO_NOT_TRACK) and, offline, makes no request at all
# (HF_HUB_OFFLINE, also read by datasets and PEFT). A value the user set explicitly wins.
# tests/test_offline.py runs curate, train, register and serve and records every connection.
OFFLINE_ENV = {
    "MLFLOW_DISABLE_TELEMETRY": "true",
    "DO_NOT_TRACK": "true",
    "HF_HUB_DISABLE_TELEMETRY": "1",
    "HF_HUB_OFFLINE": "1",
}
for _key, _value in OFFLINE_ENV.items():
    os.environ.setdefault(_key, _value)

# torchao's CUDA kernels cannot load on a CPU-only machine and it warns at every import (it is
# imported by transformers and PEFT); the NF4 tensor QLoRA uses is plain PyTorch.
for _name in ("torchao", "torch.utils._pytree"):
    logging.getLogger(_name).setLevel(logging.ERROR)
