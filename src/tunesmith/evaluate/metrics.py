"""Task metrics over predictions, from maintained libraries where one exists.

classification: scikit-learn; generation: sacrebleu (chrF) and Google's rouge-score
(ROUGE-L); extraction: jsonschema for validity, per-field exact match and token F1 here
because no library scores JSON fields.
"""

from __future__ import annotations

import json
import re
from collections import Counter
from typing import Any

from tunesmith.models.labels import parse_json

INVALID = "<invalid>"


def classification(
    gold: list[str], predicted: list[str | None], labels: list[str]
) -> tuple[dict[str, float], dict[str, dict[str, float]], list[list[int]]]:
    """Accuracy, macro-F1, invalid-answer rate; per-class P/R/F1; confusion (rows = gold)."""
    from sklearn.metrics import confusion_matrix, precision_recall_fscore_support

    answers = [p if p is not None else INVALID for p in predicted]
    precision, recall, f1, support = precision_recall_fscore_support(
        gold, answers, labels=labels, zero_division=0
    )
    per_class = {
        label: {
            "precision": float(precision[i]),
            "recall": float(recall[i]),
            "f1": float(f1[i]),
            "support": int(support[i]),
        }
        for i, label in enumerate(labels)
    }
    present = [label for label in labels if per_class[label]["support"] > 0] or labels
    metrics = {
        "accuracy": sum(g == a for g, a in zip(gold, answers, strict=True)) / len(gold),
        # over the labels present in the gold set: a slice missing a class is not penalised
        "macro_f1": sum(per_class[label]["f1"] for label in present) / len(present),
        "invalid_rate": sum(p is None for p in predicted) / len(predicted),
    }
    matrix = confusion_matrix(gold, answers, labels=[*labels, INVALID])[: len(labels)]
    return metrics, per_class, matrix.tolist()


# CJK, kana and Hangul characters are words of their own; other scripts split on non-word
_WORDS = re.compile(r"[\u3040-\u30ff\u3400-\u4dbf\u4e00-\u9fff\uac00-\ud7af]|[^\W_]+")


def _tokens(value: Any) -> list[str]:
    """Unicode word tokens, case-folded; a JSON null is no tokens, not the word 'none'."""
    if value is None:
        return []
    text = value if isinstance(value, str) else json.dumps(value, ensure_ascii=False)
    return _WORDS.findall(text.casefold())


class _UnicodeTokenizer:
    """For rouge-score, whose default keeps only [a-z0-9] and so drops every other letter."""

    def tokenize(self, text: str) -> list[str]:
        return _tokens(text)


def token_f1(predicted: Any, reference: Any) -> float:
    """SQuAD-style overlap of word tokens; 1.0 when both are empty."""
    pred, ref = _tokens(predicted), _tokens(reference)
    if not pred and not ref:
        return 1.0
    common = sum((Counter(pred) & Counter(ref)).values())
    if common == 0:
        return 0.0
    precision, recall = common / len(pred), common / len(ref)
    return 2 * precision * recall / (precision + recall)


def extraction(
    references: list[str], outputs: list[str], schema: dict[str, Any]
) -> dict[str, float]:
    """Parse rate, schema-valid rate, and exact match / token F1 per top-level schema field."""
    from jsonschema import Draft202012Validator

    validator = Draft202012Validator(schema)
    fields = list(schema.get("properties", {}))
    parsed = valid = 0
    exact: dict[str, float] = dict.fromkeys(fields, 0.0)
    f1: dict[str, float] = dict.fromkeys(fields, 0.0)
    for reference, output in zip(references, outputs, strict=True):
        try:
            gold = parse_json(reference)
        except json.JSONDecodeError:
            gold = {}
        try:
            answer = parse_json(output)
            parsed += 1
        except json.JSONDecodeError:
            answer = None
        if answer is not None and validator.is_valid(answer):
            valid += 1
        if not isinstance(answer, dict):
            continue  # an answer that is not a JSON object earns no field credit
        gold = gold if isinstance(gold, dict) else {}
        for field in fields:
            exact[field] += float(answer.get(field) == gold.get(field))
            f1[field] += token_f1(answer.get(field), gold.get(field))
    n = len(references)
    metrics = {"parse_rate": parsed / n, "schema_valid_rate": valid / n}
    for field in fields:
        metrics[f"exact.{field}"] = exact[field] / n
        metrics[f"f1.{field}"] = f1[field] / n
    metrics["field_exact"] = sum(exact.values()) / (n * len(fields)) if fields else 0.0
    metrics["field_f1"] = sum(f1.values()) / (n * len(fields)) if fields else 0.0
    return metrics


def generation(references: list[str], outputs: list[str]) -> dict[str, float]:
    """Exact match, corpus chrF (0-100) and mean ROUGE-L F1."""
    from rouge_score import rouge_scorer
    from sacrebleu.metrics import CHRF

    scorer = rouge_scorer.RougeScorer(["rougeL"], tokenizer=_UnicodeTokenizer())
    rouge = [
        # two empty texts agree perfectly; rouge-score would call it 0
        1.0 if not _tokens(ref) and not _tokens(out) else scorer.score(ref, out)["rougeL"].fmeasure
        for ref, out in zip(references, outputs, strict=True)
    ]
    return {
        "exact_match": sum(r.strip() == o.strip() for r, o in zip(references, outputs, strict=True))
        / len(outputs),
        "chrf": CHRF().corpus_score(outputs, [references]).score,
        "rouge_l": sum(rouge) / len(rouge),
    }
