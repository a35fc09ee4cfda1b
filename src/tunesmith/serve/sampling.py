"""Choosing the next token of one sequence: greedy, or temperature and nucleus sampling."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

import torch
from transformers import TemperatureLogitsWarper, TopPLogitsWarper


@dataclass(frozen=True)
class SamplingParams:
    """What one choice of a request asked for."""

    max_tokens: int
    temperature: float = 1.0
    top_p: float = 1.0
    seed: int | None = None
    stop: list[str] = field(default_factory=list)
    top_logprobs: int = 0


class NoTokenAllowed(ValueError):
    """The constraint allows no token: the tokenizer cannot write what the format demands."""

    def __init__(self) -> None:
        super().__init__("the output cannot follow the requested format")


@dataclass(frozen=True)
class Pick:
    """The chosen token, its log-probability under the model, and the best alternatives."""

    token: int
    logprob: float
    top: list[tuple[int, float]]


def pick_token(
    logits: torch.Tensor,
    params: SamplingParams,
    generator: torch.Generator | None,
    constrain: Callable[[torch.Tensor], None] | None = None,
) -> Pick:
    """One token from a (vocab,) row of logits; `constrain` masks (1, vocab) scores in place."""
    logprobs = torch.log_softmax(logits.float(), dim=-1)
    scores = logits.float().unsqueeze(0).clone()
    if constrain is not None:
        constrain(scores)
        if not bool(torch.isfinite(scores).any()):
            # sampling would fail on NaN probabilities and greedy would pick a masked token
            raise NoTokenAllowed
    if params.temperature <= 0:
        token = int(scores.argmax(dim=-1))
    else:
        if params.temperature != 1.0:
            scores = TemperatureLogitsWarper(params.temperature)(None, scores)
        if params.top_p < 1.0:
            scores = TopPLogitsWarper(params.top_p)(None, scores)
        probs = torch.softmax(scores, dim=-1)
        token = int(torch.multinomial(probs, 1, generator=generator))
    top: list[tuple[int, float]] = []
    if params.top_logprobs:
        values, ids = logprobs.topk(params.top_logprobs)
        top = list(zip(ids.tolist(), values.tolist(), strict=True))
    return Pick(token, float(logprobs[token]), top)
