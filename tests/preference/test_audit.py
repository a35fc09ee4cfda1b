from __future__ import annotations

from tunesmith.config import TaskConfig
from tunesmith.config.align import RubricConfig
from tunesmith.preference.rubric import score_answer
from tunesmith.preference.second_rubric import audit_compliant, audit_verdict, spacy_sentences

TASK = TaskConfig(
    type="classification",
    labels=["billing", "technical", "account", "shipping", "returns"],
    answer_prefix="Queue: ",
)
POLICY = RubricConfig(max_sentences=1, name_label=True)
SIGNED = "Queue: billing\n\nOur billing team has reversed the charge.\n\nKind regards, Bo"
PLAIN = "Queue: billing\n\nOur billing team has reversed the charge."


def test_the_held_out_reading_counts_what_the_rubric_forgives() -> None:
    assert spacy_sentences("Hi Ana, it is fixed. Thanks!\n\nKind regards, Bo") == 3
    # the rubric that picked the pairs calls the signed answer compliant; the audit does not
    assert score_answer(SIGNED, TASK, POLICY).compliant
    assert not audit_compliant(SIGNED, TASK, POLICY)
    assert audit_compliant(PLAIN, TASK, POLICY)


def test_the_audit_wants_a_label_line_a_reply_and_the_queue_named() -> None:
    assert not audit_compliant("Our billing team has reversed the charge.", TASK, POLICY)
    assert not audit_compliant("Queue: billing", TASK, POLICY)
    assert not audit_compliant("Queue: billing\n\nWe reversed the charge.", TASK, POLICY)


def test_the_verdict_is_compliance_against_compliance() -> None:
    verdict = audit_verdict(TASK, POLICY)
    assert verdict(PLAIN, SIGNED) == "a"
    assert verdict(SIGNED, PLAIN) == "b"
    assert verdict(SIGNED, SIGNED) == "tie"
