"""The programmatic judge: an answer scored against the written rubric, check by check.

Checks: `format` (the answer starts with the label line), `label` (the label is the
reference's), `length` (the reply after the label line has at most `max_sentences`
sentences; graded, so a shorter answer of two long ones still scores higher), `names_label`
(the reply names the label it routed to), `pii` (the curate detector finds no personal data in
the answer) and, for extraction tasks, `schema`. The score is their weighted mean; an answer
is *compliant* when it meets the style policy (format, length, names_label) in full.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass

from tunesmith.config import PiiConfig, TaskConfig
from tunesmith.config.align import RubricConfig
from tunesmith.data.pii import PiiMasker
from tunesmith.models.labels import parse_label

POLICY_CHECKS = ("format", "length", "names_label")
# a sentence ends in . ! or ? (closing quotes allowed); greetings and sign-offs ("Hi Ana,",
# "Kind regards, Ana") end in none, so they are not counted as sentences
_SENTENCE_END = re.compile(r"[.!?]+[\"'”’)]*$")
_SPLIT = re.compile(r"(?<=[.!?])[\"'”’)]*\s+|\n+")

PiiCounter = Callable[[str], int]


@dataclass(frozen=True)
class RubricScore:
    score: float
    checks: dict[str, float]
    compliant: bool
    label: str | None


def count_sentences(reply: str) -> int:
    """Sentences in a reply: fragments ending in terminal punctuation."""
    return sum(1 for part in _SPLIT.split(reply) if _SENTENCE_END.search(part.strip()))


def split_answer(text: str, task: TaskConfig) -> tuple[str | None, str]:
    """The label an answer starts with (classification) and the reply after its first line."""
    text = text.strip()
    if task.type != "classification":
        return None, text
    assert task.labels is not None
    label = parse_label(text.split("\n", 1)[0], task.labels, task.answer_prefix)
    reply = text.split("\n", 1)[1] if "\n" in text else ""
    return label, reply.strip()


def names(reply: str, label: str) -> bool:
    """Whether the reply names the label (as a word start: 'account' in 'accounts' counts)."""
    words = re.escape(label).replace("_", "[ _]").replace(r"\-", "[ -]")
    return re.search(rf"\b{words}", reply, flags=re.IGNORECASE) is not None


def score_answer(
    text: str,
    task: TaskConfig,
    rubric: RubricConfig,
    reference_label: str | None = None,
    count_pii: PiiCounter | None = None,
) -> RubricScore:
    """One answer judged by every weighted check that applies to it."""
    label, reply = split_answer(text, task)
    checks: dict[str, float] = {}
    weights = rubric.weights
    if "format" in weights:
        checks["format"] = float(
            bool(text.strip()) and (task.type != "classification" or bool(label))
        )
    if "label" in weights and reference_label is not None and task.type == "classification":
        checks["label"] = float(label == reference_label)
    if "length" in weights and rubric.max_sentences is not None:
        n = count_sentences(reply)
        checks["length"] = 1.0 if n <= rubric.max_sentences else rubric.max_sentences / n
        if n == 0:  # no reply at all is not a short reply
            checks["length"] = 0.0
    if "names_label" in weights and rubric.name_label and task.type == "classification":
        checks["names_label"] = float(label is not None and names(reply, label))
    if "pii" in weights and count_pii is not None:
        checks["pii"] = float(count_pii(text) == 0)
    if "schema" in weights and task.json_schema is not None:
        checks["schema"] = float(_schema_valid(text, task))
    total = sum(weights[name] for name in checks)
    score = sum(weights[name] * value for name, value in checks.items()) / total if total else 0.0
    compliant = all(checks.get(name, 1.0) == 1.0 for name in POLICY_CHECKS)
    return RubricScore(round(score, 6), checks, compliant, label)


def pii_counter(config: PiiConfig) -> PiiCounter | None:
    """The curate detector as a count of personal-data values in a text; None when off."""
    if not config.enabled:
        return None
    masker = PiiMasker(config)
    return lambda text: len(masker.detect({"answer": text}))


def _schema_valid(text: str, task: TaskConfig) -> bool:
    import json

    from jsonschema import Draft202012Validator

    from tunesmith.models.labels import parse_json

    try:
        value = parse_json(text)
    except json.JSONDecodeError:
        return False
    return Draft202012Validator(task.json_schema or {}).is_valid(value)
