"""Classification by label log-likelihood: every allowed label scored after the prompt.

Three things make it cheaper than generating an answer and parsing it:
- the prompt prefix all rows share (system prompt, few-shot examples) runs once and its
  key/value cache is reused by every batch;
- the labels' tokens form a trie laid out after each row's own tokens, with a tree-shaped
  attention mask, so every label is scored in the row's own forward pass: no decoding loop;
- the LM head runs only at the positions that predict a label token, and a trie node with
  no children is never fed at all: its log-probability was read at its parent.
A label whose tokens are a prefix of another label's also pays the probability of stopping
there (one minus its children's), so a short label cannot win by being short.
"""

from __future__ import annotations

import copy
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import torch


@dataclass(frozen=True)
class LabelTrie:
    """The labels' answer tokens after `shared`, as a tree; nodes listed parents first."""

    shared: list[int]
    tokens: list[int]
    parents: list[int]
    depths: list[int]
    label_nodes: list[int]

    def path(self, node: int) -> list[int]:
        nodes = []
        while node >= 0:
            nodes.append(node)
            node = self.parents[node]
        return nodes[::-1]

    def children(self, node: int) -> list[int]:
        return [i for i, parent in enumerate(self.parents) if parent == node]


def _common_prefix(sequences: Sequence[Sequence[int]]) -> int:
    shortest = min(len(s) for s in sequences)
    for i in range(shortest):
        if any(s[i] != sequences[0][i] for s in sequences):
            return i
    return shortest


def build_trie(tokenizer: Any, labels: list[str], answer_prefix: str) -> LabelTrie:
    """Tokenise each `answer_prefix + label` whole, as the model saw it in training."""
    answers = [
        tokenizer(answer_prefix + label, add_special_tokens=False)["input_ids"] for label in labels
    ]
    for i, a in enumerate(answers):
        for j in range(i):
            if a == answers[j]:
                raise ValueError(f"labels '{labels[j]}' and '{labels[i]}' tokenise the same")
    # every label keeps at least one token of its own, which the trie scores
    shared_len = min(_common_prefix(answers), min(len(a) for a in answers) - 1)
    tokens: list[int] = []
    parents: list[int] = []
    depths: list[int] = []
    index: dict[tuple[int, ...], int] = {}
    label_nodes = []
    for answer in answers:
        rest = answer[shared_len:]
        node = -1
        for depth in range(1, len(rest) + 1):
            key = tuple(rest[:depth])
            if key not in index:
                index[key] = len(tokens)
                tokens.append(rest[depth - 1])
                parents.append(node)
                depths.append(depth)
            node = index[key]
        label_nodes.append(node)
    return LabelTrie(answers[0][:shared_len], tokens, parents, depths, label_nodes)


@dataclass(frozen=True)
class PrefixCache:
    """Key/value cache of the prompt tokens every row starts with."""

    length: int
    cache: Any

    def for_batch(self, size: int) -> Any:
        if self.cache is None:
            return None
        batch = copy.deepcopy(self.cache)
        batch.batch_repeat_interleave(size)
        return batch


def encode_prefix(model: Any, prompts: Sequence[Sequence[int]]) -> PrefixCache:
    """Run the tokens shared by every prompt once; each prompt keeps at least one of its own."""
    length = min(_common_prefix(prompts), min(len(p) for p in prompts) - 1)
    if length == 0:
        return PrefixCache(0, None)
    device = next(model.parameters()).device
    ids = torch.tensor([list(prompts[0][:length])], device=device)
    with torch.inference_mode():
        out = model(input_ids=ids, use_cache=True, logits_to_keep=1)
    return PrefixCache(length, out.cache)


@dataclass(frozen=True)
class _TrieTensors:
    """What every batch lays after its rows: the trie's inner nodes, depths, ancestor mask."""

    tokens: torch.Tensor
    depths: torch.Tensor
    tree: torch.Tensor
    # column of each trie node's next-token distribution in the batch's kept logits (0: the row)
    columns: dict[int, int]

    @classmethod
    def of(cls, trie: LabelTrie) -> _TrieTensors:
        has_children = {parent for parent in trie.parents if parent >= 0}
        inner = [n for n in range(len(trie.tokens)) if n in has_children]
        position = {node: i for i, node in enumerate(inner)}
        tree = torch.zeros((len(inner), len(inner)), dtype=torch.bool)
        for i, node in enumerate(inner):
            # the path ends with the node itself; every ancestor of an inner node is inner
            tree[i, [position[n] for n in trie.path(node)]] = True
        columns = {node: i + 1 for i, node in enumerate(inner)}
        return cls(
            torch.tensor([trie.tokens[n] for n in inner], dtype=torch.long),
            torch.tensor([trie.depths[n] for n in inner], dtype=torch.long),
            tree,
            columns,
        )


def _tree_batch(
    suffixes: list[list[int]], nodes: _TrieTensors, prefix: int, pad_id: int, dtype: torch.dtype
) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """Left-padded [row tokens | trie nodes] with positions and a 4D additive mask."""
    batch, width = len(suffixes), max(len(s) for s in suffixes)
    queries = width + len(nodes.tokens)
    ids = torch.full((batch, queries), pad_id, dtype=torch.long)
    positions = torch.zeros((batch, queries), dtype=torch.long)
    allowed = torch.zeros((batch, 1, queries, prefix + queries), dtype=torch.bool)
    causal = torch.tril(torch.ones(width, width, dtype=torch.bool))
    tree, node_tokens, node_depths = nodes.tree, nodes.tokens, nodes.depths
    for row, suffix in enumerate(suffixes):
        start = width - len(suffix)
        ids[row, start:width] = torch.tensor(suffix)
        ids[row, width:] = node_tokens
        positions[row, start:width] = torch.arange(prefix, prefix + len(suffix))
        positions[row, width:] = prefix + len(suffix) + node_depths - 1
        real = slice(start, width)
        key = prefix + start  # first real key of this row
        allowed[row, 0, real, :prefix] = True
        allowed[row, 0, real, key : prefix + width] = causal[real, real]
        allowed[row, 0, width:, :prefix] = True
        allowed[row, 0, width:, key : prefix + width] = True
        allowed[row, 0, width:, prefix + width :] = tree
        for pad in range(start):  # a fully masked row would be NaN; padding sees itself
            allowed[row, 0, pad, prefix + pad] = True
    mask = torch.zeros(allowed.shape, dtype=dtype)
    mask.masked_fill_(~allowed, torch.finfo(dtype).min)
    return ids, positions, mask


def _label_scores(
    logprobs: torch.Tensor, trie: LabelTrie, nodes: _TrieTensors, children: dict[int, list[int]]
) -> torch.Tensor:
    """(rows, labels) log P(label | prompt); logprobs[:, 0] predicts depth-1 nodes."""

    def column(parent: int) -> int:
        return 0 if parent < 0 else nodes.columns[parent]

    scores = []
    for node in trie.label_nodes:
        total = sum(logprobs[:, column(trie.parents[n]), trie.tokens[n]] for n in trie.path(node))
        if children[node]:  # the label must also end here rather than continue into a longer one
            next_tokens = [trie.tokens[c] for c in children[node]]
            go_on = logprobs[:, column(node), next_tokens].exp().sum(-1)
            total = total + torch.log1p(-go_on.clamp(max=1 - 1e-6))
        scores.append(total)
    return torch.stack(scores, dim=1)


def score_labels(
    model: Any,
    prompts: Sequence[Sequence[int]],
    trie: LabelTrie,
    pad_id: int,
    batch_size: int = 8,
    on_batch: Callable[[int], None] | None = None,
) -> torch.Tensor:
    """(rows, labels) log-likelihood of each label after each tokenised prompt."""
    full = [list(p) + trie.shared for p in prompts]
    prefix = encode_prefix(model, full)
    device = next(model.parameters()).device
    dtype = next(model.parameters()).dtype
    # similar lengths share a batch: less padding
    order = sorted(range(len(full)), key=lambda i: len(full[i]))
    nodes = _TrieTensors.of(trie)
    children = {node: trie.children(node) for node in trie.label_nodes}
    scores = torch.empty((len(full), len(trie.label_nodes)))
    for start in range(0, len(order), batch_size):
        rows = order[start : start + batch_size]
        suffixes = [full[i][prefix.length :] for i in rows]
        ids, positions, mask = _tree_batch(suffixes, nodes, prefix.length, pad_id, dtype)
        with torch.inference_mode():
            out = model(
                input_ids=ids.to(device),
                position_ids=positions.to(device),
                attention_mask=mask.to(device),
                cache=prefix.for_batch(len(rows)),
                use_cache=prefix.cache is not None,
                logits_to_keep=len(nodes.tokens) + 1,
            )
        logprobs = torch.log_softmax(out.logits.float(), dim=-1).cpu()
        scores[rows] = _label_scores(logprobs, trie, nodes, children)
        if on_batch is not None:
            on_batch(len(rows))
    return scores
