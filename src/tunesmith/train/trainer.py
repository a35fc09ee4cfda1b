"""transformers' Trainer with the loss computed only where labels are.

The 49k-token vocabulary projection is about a fifth of SmolLM2's compute; most positions of
a chat (system prompt, user turn, padding) carry no loss. The decoder runs on the whole
batch, then hidden states at label positions are gathered and only they meet the LM head.
"""

from __future__ import annotations

from typing import Any

import torch
import torch.nn.functional as F
from transformers import Trainer

from tunesmith.train.tokenize import IGNORE


def _causal_lm(model: torch.nn.Module) -> torch.nn.Module:
    # PeftModel -> LoraModel -> *ForCausalLM; a plain model is already the causal LM.
    get_base = getattr(model, "get_base_model", None)
    return get_base() if callable(get_base) else model


class SelectiveHeadTrainer(Trainer):
    """Trainer whose loss applies the LM head at label positions only, and counts real tokens."""

    real_tokens: int = 0
    batch_positions: int = 0  # real tokens plus padding: what the decoder actually computed

    def compute_loss(
        self,
        model: torch.nn.Module,
        inputs: dict[str, Any],
        return_outputs: bool = False,
        num_items_in_batch: torch.Tensor | int | None = None,
    ) -> torch.Tensor | tuple[torch.Tensor, Any]:
        labels = inputs["labels"]
        attention_mask = inputs["attention_mask"]
        if model.training:
            self.real_tokens += int(attention_mask.sum())
            self.batch_positions += attention_mask.numel()
        causal_lm = _causal_lm(model)
        decoder = causal_lm.get_decoder()
        hidden = decoder(input_ids=inputs["input_ids"], attention_mask=attention_mask)[0]
        targets = labels[:, 1:]
        keep = targets != IGNORE
        logits = causal_lm.get_output_embeddings()(hidden[:, :-1][keep])
        total = F.cross_entropy(logits.float(), targets[keep], reduction="sum")
        count = num_items_in_batch if num_items_in_batch is not None else keep.sum()
        loss = total / torch.clamp(torch.as_tensor(count, dtype=total.dtype), min=1)
        return (loss, {"logits": logits}) if return_outputs else loss
