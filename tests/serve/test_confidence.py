from __future__ import annotations

from typing import ClassVar

import torch

from tunesmith.config import TaskConfig
from tunesmith.models.scoring import build_trie
from tunesmith.serve.confidence import LabelMargin, TaskProbe


class Words:
    """Each listed text tokenises to the given ids."""

    vocab: ClassVar[dict[str, list[int]]] = {"Q: a": [5, 10], "Q: b": [5, 11], "Q: c": [5, 12, 13]}

    def __call__(self, text: str, add_special_tokens: bool = False) -> dict[str, list[int]]:
        return {"input_ids": self.vocab[text]}


def test_margin_is_read_where_the_label_begins_and_only_there() -> None:
    probe = LabelMargin(build_trie(Words(), ["a", "b", "c"], "Q: "))
    logits = torch.full((20,), -10.0)
    logits[10], logits[11], logits[12] = 3.0, 1.0, 0.0
    probe([], logits)  # before the shared "Q:" token: not yet
    assert probe.margin is None
    probe([5], logits)
    probs = torch.softmax(torch.tensor([3.0, 1.0, 0.0]), 0)
    assert abs(probe.margin - float(probs[0] - probs[1])) < 1e-6
    first = probe.margin
    logits[11] = 5.0
    probe([5], logits)  # later steps do not overwrite the decision's margin
    assert probe.margin == first


def test_labels_are_parsed_from_answers_of_classification_tasks_only() -> None:
    task = TaskConfig(type="classification", labels=["a", "b", "c"], answer_prefix="Q: ")
    probe = TaskProbe(Words(), task.model_copy(update={"labels": ["a", "b", "c"]}))
    assert probe.margin_probe() is not None
    labelled = TaskProbe(Words(), task.model_copy(update={"labels": ["a", "b"]}))
    assert labelled.label("Q: b, thanks") == "b"
    assert TaskProbe(Words(), TaskConfig(type="generation")).label("Q: b") is None
