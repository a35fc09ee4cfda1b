"""Sequence log-probabilities of answers after their prompt, and preference margins.

The margin of a pair is log p(chosen | prompt) - log p(rejected | prompt) under the model:
what preference tuning should raise. Measured by tunesmith itself, before and after, so the
claim does not rest on the trainer's own logging.
"""

from __future__ import annotations

from typing import Any

import torch
import torch.nn.functional as F


def answer_tokens(tokenizer: Any, prompt: list[dict[str, str]], answer: str) -> tuple[list, int]:
    """Token ids of prompt + answer as the chat template writes them; where the answer starts."""
    head = tokenizer.apply_chat_template(prompt, tokenize=False, add_generation_prompt=True)
    full = tokenizer.apply_chat_template(
        [*prompt, {"role": "assistant", "content": answer}], tokenize=False
    )
    head_ids = tokenizer(head, add_special_tokens=False)["input_ids"]
    full_ids = tokenizer(full, add_special_tokens=False)["input_ids"]
    return full_ids, len(head_ids)


@torch.no_grad()
def sequence_logps(
    model: Any, tokenizer: Any, items: list[tuple[list[dict[str, str]], str]], batch_size: int = 8
) -> list[float]:
    """Summed log-probability of each answer given its prompt."""
    device = next(model.parameters()).device
    pad = tokenizer.pad_token_id if tokenizer.pad_token_id is not None else tokenizer.eos_token_id
    encoded = [answer_tokens(tokenizer, p, a) for p, a in items]
    out: list[float] = []
    was_training = model.training
    model.eval()
    for start in range(0, len(encoded), batch_size):
        chunk = encoded[start : start + batch_size]
        width = max(len(ids) for ids, _ in chunk)
        ids = torch.full((len(chunk), width), pad, dtype=torch.long)
        mask = torch.zeros_like(ids)
        answer = torch.zeros((len(chunk), width), dtype=torch.bool)
        for row, (tokens, start_at) in enumerate(chunk):
            ids[row, : len(tokens)] = torch.tensor(tokens)
            mask[row, : len(tokens)] = 1
            answer[row, start_at : len(tokens)] = True
        logits = model(input_ids=ids.to(device), attention_mask=mask.to(device)).logits.float()
        logp = F.log_softmax(logits[:, :-1], dim=-1)
        picked = logp.gather(-1, ids[:, 1:].to(device).unsqueeze(-1)).squeeze(-1)
        out.extend((picked * answer[:, 1:].to(device)).sum(dim=1).tolist())
    model.train(was_training)
    return out


def preference_margins(model: Any, tokenizer: Any, pairs: list[dict[str, Any]]) -> dict[str, float]:
    """Mean margin and the share of pairs whose chosen answer is the more likely one."""
    if not pairs:
        return {"pairs": 0, "mean_margin": float("nan"), "chosen_preferred": float("nan")}
    chosen = sequence_logps(
        model, tokenizer, [(p["prompt"], p["chosen"][-1]["content"]) for p in pairs]
    )
    rejected = sequence_logps(
        model, tokenizer, [(p["prompt"], p["rejected"][-1]["content"]) for p in pairs]
    )
    margins = [c - r for c, r in zip(chosen, rejected, strict=True)]
    return {
        "pairs": len(pairs),
        "mean_margin": round(sum(margins) / len(margins), 4),
        "chosen_preferred": round(sum(m > 0 for m in margins) / len(margins), 4),
    }
