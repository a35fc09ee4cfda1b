"""pick_token: a row the constraint masks entirely is a clear error in every sampling mode."""

from __future__ import annotations

import pytest
import torch

from tunesmith.serve.sampling import NoTokenAllowed, SamplingParams, pick_token


def mask_all(scores: torch.Tensor) -> None:
    scores.fill_(float("-inf"))


def mask_all_but(token: int):
    def constrain(scores: torch.Tensor) -> None:
        keep = scores[0, token].clone()
        scores.fill_(float("-inf"))
        scores[0, token] = keep

    return constrain


@pytest.mark.parametrize("temperature, top_p", [(0.0, 1.0), (1.0, 1.0), (0.7, 0.9)])
def test_a_fully_masked_row_raises_no_token_allowed(temperature: float, top_p: float) -> None:
    params = SamplingParams(max_tokens=4, temperature=temperature, top_p=top_p)
    with pytest.raises(NoTokenAllowed, match="cannot follow"):
        pick_token(torch.randn(32), params, torch.Generator().manual_seed(0), mask_all)


@pytest.mark.parametrize("temperature", [0.0, 1.0, 0.3])
def test_the_one_allowed_token_is_picked_whatever_the_temperature(temperature: float) -> None:
    params = SamplingParams(max_tokens=4, temperature=temperature)
    pick = pick_token(torch.randn(32), params, torch.Generator().manual_seed(0), mask_all_but(7))
    assert pick.token == 7
