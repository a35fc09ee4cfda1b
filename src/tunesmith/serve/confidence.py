"""How sure the model was: mean token log-probability, and for a classification task the
margin between the best and the second label where the answer names its label."""

from __future__ import annotations

from typing import Any

import torch

from tunesmith.config import TaskConfig
from tunesmith.models.labels import parse_label
from tunesmith.models.scoring import LabelTrie, build_trie


class LabelMargin:
    """Reads the next-token distribution at the step where the answer's label begins.

    The labels' first answer tokens are compared (labels sharing a first token count as one),
    normalised over the labels: the same margin `tunesmith eval` reports, at the first token.
    """

    def __init__(self, trie: LabelTrie) -> None:
        self.shared = trie.shared
        self.first_tokens = sorted({trie.tokens[trie.path(n)[0]] for n in trie.label_nodes})
        self.margin: float | None = None

    def __call__(self, output: list[int], logits: torch.Tensor) -> None:
        if self.margin is not None or output != self.shared or len(self.first_tokens) < 2:
            return
        scores = torch.log_softmax(logits.float(), dim=-1)[self.first_tokens]
        top = torch.softmax(scores, dim=-1).topk(2).values
        self.margin = float(top[0] - top[1])


class TaskProbe:
    """Builds the per-request label probe for the workspace's classification task."""

    def __init__(self, tokenizer: Any, task: TaskConfig) -> None:
        self.task = task
        self.trie: LabelTrie | None = None
        if task.type == "classification" and task.labels:
            try:
                self.trie = build_trie(tokenizer, task.labels, task.answer_prefix)
            except ValueError:
                self.trie = None  # labels that tokenise alike: no margin, labels still parsed

    def margin_probe(self) -> LabelMargin | None:
        return LabelMargin(self.trie) if self.trie is not None else None

    def label(self, text: str) -> str | None:
        if self.task.type != "classification" or not self.task.labels:
            return None
        return parse_label(text, self.task.labels, self.task.answer_prefix)
