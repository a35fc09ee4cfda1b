from __future__ import annotations

from pathlib import Path

import pytest
import torch

from tunesmith.models.scoring import _TrieTensors, build_trie, score_labels


class ListTokenizer:
    """Maps words to ids so tests control exactly how labels tokenise."""

    def __init__(self, vocab: dict[str, list[int]]) -> None:
        self.vocab = vocab

    def __call__(self, text: str, add_special_tokens: bool = False) -> dict[str, list[int]]:
        return {"input_ids": self.vocab[text]}


def naive_scores(
    model: torch.nn.Module, prompt: list[int], answers: list[list[int]]
) -> list[float]:
    """log P(answer | prompt) by one full forward per label, no cache, no tree."""
    scores = []
    for answer in answers:
        ids = torch.tensor([prompt + answer])
        with torch.inference_mode():
            logprobs = torch.log_softmax(model(input_ids=ids).logits[0].float(), -1)
        scores.append(
            sum(logprobs[len(prompt) - 1 + i, tok].item() for i, tok in enumerate(answer))
        )
    return scores


@pytest.fixture(scope="module")
def tiny_model(tiny_model_dir: Path) -> torch.nn.Module:
    from transformers import AutoModelForCausalLM

    return AutoModelForCausalLM.from_pretrained(tiny_model_dir, dtype=torch.float32).eval()


def test_trie_shares_the_prefix_and_branches_per_label() -> None:
    tok = ListTokenizer({"Q: a": [5, 6, 10], "Q: b": [5, 6, 11, 12], "Q: bc": [5, 6, 11, 13]})
    trie = build_trie(tok, ["a", "b", "bc"], "Q: ")
    assert trie.shared == [5, 6]
    assert trie.tokens == [10, 11, 12, 13]
    assert [trie.path(n) for n in trie.label_nodes] == [[0], [1, 2], [1, 3]]
    # only node 1 has children: the leaves' log-probabilities are read at their parents
    assert _TrieTensors.of(trie).tokens.tolist() == [11]


def test_labels_that_tokenise_the_same_are_refused() -> None:
    tok = ListTokenizer({"a": [1, 2], "b": [1, 2]})
    with pytest.raises(ValueError, match="tokenise the same"):
        build_trie(tok, ["a", "b"], "")


def test_tree_scores_equal_one_forward_per_label(tiny_model: torch.nn.Module) -> None:
    """Shared-prefix cache, left padding and the tree mask change nothing in the numbers."""
    vocab = tiny_model.config.vocab_size
    generator = torch.Generator().manual_seed(0)
    shared = torch.randint(3, vocab, (7,), generator=generator).tolist()
    prompts = [
        shared + torch.randint(3, vocab, (n,), generator=generator).tolist() for n in (1, 4, 9)
    ]
    answers = {"x": [40, 41], "y": [40, 42, 43], "z": [44]}
    tok = ListTokenizer({f"A {k}": [30, *v] for k, v in answers.items()})
    trie = build_trie(tok, list(answers), "A ")
    got = score_labels(tiny_model, prompts, trie, pad_id=0, batch_size=2)
    for row, prompt in enumerate(prompts):
        expected = naive_scores(tiny_model, [*prompt, 30], list(answers.values()))
        assert got[row].tolist() == pytest.approx(expected, abs=1e-4)


def test_a_label_that_prefixes_another_pays_for_stopping(tiny_model: torch.nn.Module) -> None:
    tok = ListTokenizer({"b": [50], "bc": [50, 51]})
    trie = build_trie(tok, ["b", "bc"], "")
    prompt = [[7, 8, 9]]
    got = score_labels(tiny_model, prompt, trie, pad_id=0)
    with torch.inference_mode():
        logits = tiny_model(input_ids=torch.tensor([[7, 8, 9, 50]])).logits[0]
    logprobs = torch.log_softmax(logits.float(), -1)
    stop = 1 - logprobs[3, 51].exp().item()
    expected_b = logprobs[2, 50].item() + torch.log(torch.tensor(stop)).item()
    assert got[0, 0].item() == pytest.approx(expected_b, abs=1e-4)
    assert torch.exp(got[0]).sum().item() <= torch.exp(logprobs[2, 50]).item() + 1e-5
