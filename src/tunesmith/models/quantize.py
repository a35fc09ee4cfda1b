"""QLoRA's frozen base: linear weights in 4-bit NF4 with double-quantised scales.

On CPU as on GPU the weights become torchao NF4 tensors (plain PyTorch, no bitsandbytes): 4-bit
NormalFloat codes in blocks of 64 with one scale per block, and those scales themselves
quantised to 8 bits in blocks of up to 256 (the paper's double quantisation). A forward
dequantises one layer at a time; adapters stay in full precision. Embeddings and the LM head
stay unquantised, as in the QLoRA paper.
"""

from __future__ import annotations

import contextlib
import ctypes
import sys

import torch
from torch import nn

BLOCK = 64
SCALER_BLOCK = 256


def _nf4_tensor_type() -> type:
    from torchao.quantization.quantize_.workflows.nf4.nf4_tensor import NF4Tensor

    return NF4Tensor


def _scaler_block(blocks: int) -> int:
    # torchao needs the number of scales divisible by the second-level block; SmolLM2's
    # 576-wide layers give 1,728 or 5,184 scales, so take the largest divisor up to 256.
    return max(d for d in range(1, min(SCALER_BLOCK, blocks) + 1) if blocks % d == 0)


def nf4_weight(weight: torch.Tensor) -> torch.Tensor | None:
    """`weight` as an NF4 tensor; None where its size does not divide into blocks (such a
    weight stays in full precision)."""
    from torchao.quantization.quantize_.workflows.nf4.nf4_tensor import to_nf4

    if weight.numel() % BLOCK:
        return None
    return to_nf4(weight, BLOCK, _scaler_block(weight.numel() // BLOCK))


def dense_weight(weight: torch.Tensor, dtype: torch.dtype) -> torch.Tensor:
    """An NF4 tensor's dequantised values, the weights QLoRA's forward computes with."""
    return weight.get_original_weight().to(dtype)


def quantize_linear_weights(model: nn.Module, skip: tuple[str, ...] = ("lm_head",)) -> int:
    """Replace every eligible nn.Linear weight with a frozen NF4 tensor; returns how many."""
    count = 0
    for name, module in model.named_modules():
        if not isinstance(module, nn.Linear) or any(part in name for part in skip):
            continue
        quantized = nf4_weight(module.weight.detach())
        if quantized is None:
            continue
        module.weight = nn.Parameter(quantized, requires_grad=False)
        count += 1
        _release_freed_memory()
    _own_remaining_tensors(model)
    _release_freed_memory()
    return count


def _release_freed_memory() -> None:
    # Quantising allocates large temporaries per layer; glibc keeps the freed heap, which
    # would leave QLoRA's resident memory above LoRA's. Hand it back to the OS.
    if sys.platform.startswith("linux"):
        # not glibc (musl): nothing to hand back this way
        with contextlib.suppress(OSError, AttributeError):
            ctypes.CDLL("libc.so.6").malloc_trim(0)


def _own_remaining_tensors(model: nn.Module) -> None:
    # transformers may hand out tensors that view the memory-mapped checkpoint; while any one
    # of them lives the whole file stays mapped, and the dense weights' pages with it.
    nf4 = _nf4_tensor_type()
    for tensor in [*model.parameters(), *model.buffers()]:
        if not isinstance(tensor.data, nf4):
            tensor.data = tensor.data.clone()


def dequantize_linear_weights(model: nn.Module, dtype: torch.dtype = torch.float32) -> int:
    """Turn NF4 weights back into dense tensors (before merging adapters); returns how many."""
    nf4 = _nf4_tensor_type()
    count = 0
    for module in model.modules():
        if isinstance(module, nn.Linear) and isinstance(module.weight, nf4):
            module.weight = nn.Parameter(dense_weight(module.weight, dtype), requires_grad=False)
            count += 1
    return count


def weight_bytes(model: nn.Module) -> int:
    """Bytes held by the model's parameters, counting NF4 tensors by their packed storage."""
    nf4 = _nf4_tensor_type()
    total, seen = 0, set()
    for param in model.parameters():
        tensor = param.data
        if isinstance(tensor, nf4):
            parts = [
                tensor.quantized_data,
                tensor.quantized_scalers,
                tensor.quantization_factor,
                tensor.scaler_mean,
                tensor.nf4,
            ]
            total += sum(p.numel() * p.element_size() for p in parts)
            continue
        if tensor.data_ptr() in seen:  # tied embeddings count once
            continue
        seen.add(tensor.data_ptr())
        total += tensor.numel() * tensor.element_size()
    return total
