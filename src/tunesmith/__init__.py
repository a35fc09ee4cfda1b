"""tunesmith: turn an organisation's own records into a specialised small language model."""

import logging

__version__ = "0.1.0"

# torchao's CUDA kernels cannot load on a CPU-only machine and it warns at every import (it is
# imported by transformers and PEFT); the NF4 tensor QLoRA uses is plain PyTorch.
for _name in ("torchao", "torch.utils._pytree"):
    logging.getLogger(_name).setLevel(logging.ERROR)
