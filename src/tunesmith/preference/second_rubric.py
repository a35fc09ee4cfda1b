"""A second, independent reading of the style policy, for win rates only.

The rubric judge picks the training pairs, so a model tuned on them can learn the rubric's
quirks (how its regular expressions split sentences) rather than the policy. This check reads
the same written policy with a different implementation: spaCy's rule-based sentencizer
(no model download) counts the reply's sentences, and a greeting or sign-off counts as one,
which the rubric forgives. It never picks pairs, so it can judge the tuned model.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import cache
from typing import Any

from tunesmith.config import TaskConfig
from tunesmith.config.align import RubricConfig
from tunesmith.preference.rubric import names, split_answer


@cache
def _sentencizer() -> Any:
    import spacy

    nlp = spacy.blank("en")
    nlp.add_pipe("sentencizer")
    return nlp


def spacy_sentences(reply: str) -> int:
    """Sentences in a reply by spaCy's sentencizer (blank lines never make one)."""
    return sum(1 for s in _sentencizer()(reply).sents if s.text.strip())


def audit_compliant(text: str, task: TaskConfig, rubric: RubricConfig) -> bool:
    """Whether an answer meets the policy as the independent reading sees it."""
    label, reply = split_answer(text, task)
    if task.type == "classification" and label is None:
        return False
    if rubric.max_sentences is not None:
        n = spacy_sentences(reply)
        if n == 0 or n > rubric.max_sentences:
            return False
    if rubric.name_label and task.type == "classification":
        return label is not None and names(reply, label)
    return True


def audit_verdict(task: TaskConfig, rubric: RubricConfig) -> Callable[[str, str], str]:
    """'a', 'b' or 'tie' for two answers to one prompt: compliance against compliance."""

    def verdict(mine: str, theirs: str) -> str:
        return prefer(audit_compliant(mine, task, rubric), audit_compliant(theirs, task, rubric))

    return verdict


def prefer(mine_ok: bool, theirs_ok: bool) -> str:
    """'a' when only the first answer complies, 'b' when only the second, else 'tie'."""
    return "a" if mine_ok and not theirs_ok else "b" if theirs_ok and not mine_ok else "tie"
