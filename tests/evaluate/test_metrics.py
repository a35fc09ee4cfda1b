"""Task metrics and label parsing against values worked out by hand."""

from __future__ import annotations

import json

import pytest

from tunesmith.config.eval import MAIN_METRIC
from tunesmith.evaluate import metrics as m
from tunesmith.models.labels import parse_label

LABELS = ["a", "b", "c", "d"]
GOLD = ["a", "a", "b", "c"]
PREDICTED: list[str | None] = ["a", "b", None, "c"]

SCHEMA = {
    "type": "object",
    "properties": {"name": {"type": "string"}, "amount": {"type": "number"}},
    "required": ["name", "amount"],
}


def test_classification_summary_metrics() -> None:
    metrics, _, _ = m.classification(GOLD, PREDICTED, LABELS)
    assert metrics["accuracy"] == pytest.approx(2 / 4)
    assert metrics["invalid_rate"] == pytest.approx(1 / 4)
    # labels present in the gold set are a, b, c: (2/3 + 0 + 1) / 3; 'd' would make it /4
    assert metrics["macro_f1"] == pytest.approx(5 / 9)


def test_classification_per_class_against_hand_computed_values() -> None:
    _, per_class, _ = m.classification(GOLD, PREDICTED, LABELS)
    assert list(per_class) == LABELS
    # a: predicted a once (right), gold a twice
    assert per_class["a"] == pytest.approx(
        {"precision": 1.0, "recall": 0.5, "f1": 2 / 3, "support": 2}
    )
    # b: the one 'b' predicted was gold 'a'; the gold 'b' got an invalid answer
    assert per_class["b"] == pytest.approx(
        {"precision": 0.0, "recall": 0.0, "f1": 0.0, "support": 1}
    )
    assert per_class["c"] == pytest.approx(
        {"precision": 1.0, "recall": 1.0, "f1": 1.0, "support": 1}
    )
    assert per_class["d"]["support"] == 0 and per_class["d"]["f1"] == 0.0


def test_classification_confusion_has_a_row_per_label_and_an_invalid_column() -> None:
    _, _, confusion = m.classification(GOLD, PREDICTED, LABELS)
    assert len(confusion) == len(LABELS)
    assert all(len(row) == len(LABELS) + 1 for row in confusion)
    assert confusion == [
        [1, 1, 0, 0, 0],  # gold a: once a, once b
        [0, 0, 0, 0, 1],  # gold b: invalid
        [0, 0, 1, 0, 0],
        [0, 0, 0, 0, 0],
    ]
    assert sum(map(sum, confusion)) == len(GOLD)


def test_classification_macro_f1_is_not_penalised_by_an_absent_class() -> None:
    metrics, _, _ = m.classification(["a", "b"], ["a", "b"], LABELS)
    assert metrics["accuracy"] == 1.0 and metrics["macro_f1"] == 1.0
    assert metrics["invalid_rate"] == 0.0


def test_extraction_rates_and_fields_against_hand_computed_values() -> None:
    references = [
        json.dumps({"name": "Ada Lovelace", "amount": 12}),
        json.dumps({"name": "Bob", "amount": 5}),
        json.dumps({"name": "Cy Young", "amount": 3}),
    ]
    outputs = [
        '```json\n{"name": "Ada Lovelace", "amount": 12}\n```',  # fenced: parses, valid
        '{"name": "Bob Smith", "amount": "5"}',  # parses; amount a string: schema-invalid
        "not json at all",
    ]
    metrics = m.extraction(references, outputs, SCHEMA)
    assert metrics["parse_rate"] == pytest.approx(2 / 3)
    assert metrics["schema_valid_rate"] == pytest.approx(1 / 3)
    assert metrics["exact.name"] == pytest.approx(1 / 3)
    assert metrics["exact.amount"] == pytest.approx(1 / 3)  # "5" is not 5
    # token F1: 1, then "Bob Smith" vs "Bob" (P 1/2, R 1 -> 2/3), then nothing -> 0
    assert metrics["f1.name"] == pytest.approx((1 + 2 / 3 + 0) / 3)
    assert metrics["f1.amount"] == pytest.approx((1 + 1 + 0) / 3)  # "5" and 5 share a token
    assert metrics["field_exact"] == pytest.approx(2 / 6)
    assert metrics["field_f1"] == pytest.approx((1 + 2 / 3 + 1 + 1) / 6)


def test_extraction_fences_with_and_without_language_tag_parse() -> None:
    ref = json.dumps({"name": "Ada", "amount": 1})
    outputs = [f"```json\n{ref}\n```", f"```\n{ref}\n```", f"  {ref}  "]
    metrics = m.extraction([ref] * 3, outputs, SCHEMA)
    assert metrics["parse_rate"] == 1.0 and metrics["schema_valid_rate"] == 1.0
    assert metrics["field_exact"] == 1.0 and metrics["field_f1"] == 1.0


def test_extraction_a_json_array_parses_but_matches_no_field() -> None:
    ref = json.dumps({"name": "Ada", "amount": 1})
    metrics = m.extraction([ref], ["[1, 2]"], SCHEMA)
    assert metrics["parse_rate"] == 1.0
    assert metrics["schema_valid_rate"] == 0.0
    assert metrics["field_exact"] == 0.0 and metrics["field_f1"] == 0.0


def test_token_f1() -> None:
    assert m.token_f1("", "") == 1.0
    assert m.token_f1("x", "") == 0.0
    assert m.token_f1("New York", "new york") == 1.0  # case-insensitive
    assert m.token_f1("a b c", "a") == pytest.approx(2 * (1 / 3) * 1 / (1 / 3 + 1))


def test_generation_identical_text_scores_perfectly() -> None:
    refs = ["the cat sat on the mat", "hello"]
    metrics = m.generation(refs, list(refs))
    assert metrics == pytest.approx({"exact_match": 1.0, "chrf": 100.0, "rouge_l": 1.0})


def test_generation_different_text_scores_lower() -> None:
    refs = ["the cat sat on the mat", "hello"]
    metrics = m.generation(refs, ["a dog lay on a rug", "hello there"])
    assert metrics["exact_match"] == 0.0
    assert 0 < metrics["chrf"] < 100
    # LCS "on" of 6 and 6 words -> F 1/6; "hello" in "hello there" -> P 1/2, R 1 -> 2/3
    assert metrics["rouge_l"] == pytest.approx((1 / 6 + 2 / 3) / 2)


def test_generation_exact_match_ignores_surrounding_whitespace_only() -> None:
    assert m.generation(["yes"], [" yes\n"])["exact_match"] == 1.0
    assert m.generation(["Yes"], ["yes"])["exact_match"] == 0.0


def test_main_metric_per_task_type() -> None:
    assert MAIN_METRIC == {
        "classification": "accuracy",
        "extraction": "field_f1",
        "generation": "chrf",
        "tool_calling": "call_accuracy",
    }


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("Queue: billing", "billing"),
        ("queue: BILLING\n\nThanks for writing.", "billing"),  # prefix and label any case
        ("QUEUE:billing", "billing"),
        ("billing", "billing"),  # no prefix at all
        ("  Queue:   technical.", "technical"),
        ("Queue: billingual", None),  # glued to more word characters
        ("Queue: billing-ish", None),
        ("Queue: the billing team", None),  # must start with the label
        ("", None),
    ],
)
def test_parse_label(text: str, expected: str | None) -> None:
    assert parse_label(text, ["billing", "technical"], "Queue: ") == expected


def test_parse_label_longest_label_wins() -> None:
    labels = ["card", "card payment"]
    assert parse_label("card payment", labels, "") == "card payment"
    assert parse_label("card payment", list(reversed(labels)), "") == "card payment"
    assert parse_label("card, payment", labels, "") == "card"


def test_parse_label_a_label_glued_to_word_characters_does_not_match() -> None:
    labels = ["card", "card_payment"]
    assert parse_label("Queue: card_payment", labels, "Queue: ") == "card_payment"
    assert parse_label("Queue: card", labels, "Queue: ") == "card"
    assert parse_label("Queue: cardboard", labels, "Queue: ") is None
    assert parse_label("Queue: card_payments", labels, "Queue: ") is None


@pytest.mark.parametrize("text", ["Привет, мир", "東京は晴れです"], ids=["cyrillic", "cjk"])
def test_rouge_l_of_identical_non_latin_text_is_perfect(text: str) -> None:
    metrics = m.generation([text], [text])
    assert metrics["exact_match"] == 1.0 and metrics["chrf"] == pytest.approx(100.0)
    assert metrics["rouge_l"] == pytest.approx(1.0)


def test_rouge_l_tells_apart_words_that_differ_in_non_ascii_letters() -> None:
    assert m.generation(["Größe"], ["Grüße"])["rouge_l"] < 1.0


def test_extraction_an_exact_field_match_has_token_f1_one() -> None:
    schema = {"type": "object", "properties": {"note": {"type": ["string", "null"]}}}
    metrics = m.extraction([json.dumps({"note": None})], [json.dumps({})], schema)
    assert metrics["exact.note"] == 1.0
    assert metrics["f1.note"] == 1.0
