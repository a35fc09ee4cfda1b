from __future__ import annotations

from pathlib import Path

import torch

from tunesmith.models.quantize import (
    dequantize_linear_weights,
    quantize_linear_weights,
    weight_bytes,
)


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
    # 4 bits per weight plus double-quantised scales: well under a sixth of fp32's 32 bits
    assert before - after > dense_linear * 5 / 6
    x = torch.randn(3, 64)
    out = model.model.layers[0].mlp.up_proj(x)
    expected = x @ linear["model.layers.0.mlp.up_proj"].T
    assert torch.nn.functional.cosine_similarity(out.flatten(), expected.flatten(), dim=0) > 0.99
    assert dequantize_linear_weights(model) == 14
    assert weight_bytes(model) == before
