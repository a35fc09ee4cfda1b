from __future__ import annotations

from pathlib import Path

import pytest
import torch

from tunesmith.models.quantize import (
    BLOCK,
    dequantize_linear_weights,
    nf4_weight,
    quantize_linear_weights,
    weight_bytes,
)


def _block_absmax(weight: torch.Tensor) -> torch.Tensor:
    return weight.flatten().view(-1, BLOCK).abs().amax(dim=1)


def _assert_double_quantised(weight: torch.Tensor, nf4: torch.Tensor, scaler_block: int) -> None:
    """The first-level scales (one absmax per 64 weights) are int8 codes, themselves scaled by
    one float per `scaler_block` of them: QLoRA's double quantisation, not fp32 scales."""
    blocks = weight.numel() // BLOCK
    assert nf4.block_size == BLOCK and nf4.n_blocks == blocks
    assert nf4.quantized_scalers.dtype == torch.int8 and nf4.quantized_scalers.numel() == blocks
    assert nf4.scaler_block_size == scaler_block > 1
    assert nf4.quantization_factor.numel() == blocks // scaler_block
    scales = nf4.dequantize_scalers(
        nf4.quantized_scalers, nf4.quantization_factor, nf4.scaler_block_size
    )
    truth = _block_absmax(weight)
    error = (scales - truth).abs()
    # 8-bit codes over each scaler block's range: close to the absmax, yet rounded
    spread = (truth - truth.mean()).abs().view(-1, scaler_block).amax(dim=1)
    assert (error.view(-1, scaler_block) <= spread[:, None] / 127 + 1e-6).all()
    assert error.max() > 0


def test_nf4_base_is_about_an_eighth_of_fp32_and_close_to_the_original(
    tiny_model_dir: Path,
) -> None:
    from transformers import AutoModelForCausalLM

    model = AutoModelForCausalLM.from_pretrained(tiny_model_dir, dtype=torch.float32)
    linear = {
        n: m.weight.detach().clone()
        for n, m in model.named_modules()
        if isinstance(m, torch.nn.Linear) and "lm_head" not in n
    }
    dense_linear = sum(w.numel() * 4 for w in linear.values())
    before = weight_bytes(model)
    assert quantize_linear_weights(model) == len(linear) == 14
    after = weight_bytes(model)
    assert before - after > dense_linear * 5 / 6
    modules = dict(model.named_modules())
    packed = 0
    for name, original in linear.items():
        nf4 = modules[name].weight.data
        # the tiny model's layers hold 32, 64 or 128 blocks: one scaler block each
        _assert_double_quantised(original, nf4, min(256, original.numel() // BLOCK))
        parts = (nf4.quantized_data, nf4.quantized_scalers, nf4.quantization_factor)
        packed += sum(p.numel() * p.element_size() for p in parts)
    # 4 bits per weight + 8/64 for the int8 scales + one fp32 per scaler block; one fp32
    # absmax per block (no double quantisation) would be 4.5 bits
    bits = packed * 8 / sum(w.numel() for w in linear.values())
    assert 4.125 < bits < 4.2
    x = torch.randn(3, 64)
    out = model.model.layers[0].mlp.up_proj(x)
    expected = x @ linear["model.layers.0.mlp.up_proj"].T
    assert torch.nn.functional.cosine_similarity(out.flatten(), expected.flatten(), dim=0) > 0.99
    assert dequantize_linear_weights(model) == 14
    assert weight_bytes(model) == before


@pytest.mark.parametrize(("shape", "scaler_block"), [((576, 576), 216), ((1536, 576), 256)])
def test_smollm2_shapes_double_quantise_in_blocks_of_up_to_256(
    shape: tuple[int, int], scaler_block: int
) -> None:
    # 5,184 and 13,824 scales per layer: the largest divisor up to 256 takes their blocks
    weight = torch.randn(*shape, generator=torch.Generator().manual_seed(0)) * 0.02
    nf4 = nf4_weight(weight)
    assert nf4 is not None
    _assert_double_quantised(weight, nf4, scaler_block)
