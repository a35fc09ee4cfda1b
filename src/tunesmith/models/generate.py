"""Batched greedy generation: left padding so every prompt ends where its answer starts."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import torch


def generate(
    model: Any,
    tokenizer: Any,
    prompts: Sequence[Sequence[int]],
    max_new_tokens: int,
    batch_size: int = 8,
    on_batch: Callable[[int], None] | None = None,
    grammars: Sequence[Any] | None = None,
) -> list[str]:
    """The decoded answer of each tokenised prompt, special tokens dropped, in prompt order;
    with `grammars` (one compiled xgrammar grammar per prompt) each answer follows its own."""
    device = next(model.parameters()).device
    pad = tokenizer.pad_token_id if tokenizer.pad_token_id is not None else tokenizer.eos_token_id
    order = sorted(range(len(prompts)), key=lambda i: len(prompts[i]))
    answers: list[str] = [""] * len(prompts)
    for start in range(0, len(order), batch_size):
        rows = order[start : start + batch_size]
        width = max(len(prompts[i]) for i in rows)
        ids = torch.full((len(rows), width), pad, dtype=torch.long)
        mask = torch.zeros((len(rows), width), dtype=torch.long)
        for j, i in enumerate(rows):
            ids[j, width - len(prompts[i]) :] = torch.tensor(list(prompts[i]))
            mask[j, width - len(prompts[i]) :] = 1
        extra: dict[str, Any] = {}
        if grammars is not None:
            from tunesmith.models.grammar import logits_processor

            extra["logits_processor"] = [logits_processor([grammars[i] for i in rows])]
        with torch.inference_mode():
            out = model.generate(
                input_ids=ids.to(device),
                attention_mask=mask.to(device),
                max_new_tokens=max_new_tokens,
                do_sample=False,
                pad_token_id=pad,
                eos_token_id=tokenizer.eos_token_id,
                **extra,
            )
        texts = tokenizer.batch_decode(out[:, width:], skip_special_tokens=True)
        for i, text in zip(rows, texts, strict=True):
            answers[i] = text.strip()
        if on_batch is not None:
            on_batch(len(rows))
    return answers
