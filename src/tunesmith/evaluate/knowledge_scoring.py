"""Scoring answers from a knowledge base against gold facts, by string: does the answer hold
the gold value, does it cite a chunk holding the fact, and does each cited chunk hold the words
of the sentence it is attached to. No generation here: these functions take finished answers."""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from tunesmith.evaluate.retrieval import mrr_at_k, recall_at_k
from tunesmith.knowledge.answers import SUPPORT, citations, support
from tunesmith.knowledge.search import Hit
from tunesmith.store.files import jsonl_objects

RETRIEVAL_METRICS = ("recall@1", "recall@5", "mrr@10")
ANSWER_METRICS = ("value_share", "cites_gold", "citation_support")


class QuestionFileError(ValueError):
    """A line of a knowledge questions file without the fields a gold fact needs."""


@dataclass(frozen=True)
class KnowledgeQuestion:
    question: str
    doc: str  # the document holding the fact, as the index names it
    fact: str
    value: str  # the part of the fact a correct answer must state
    groups: tuple[str, ...]  # the caller's groups: the fact's document is readable to them


def read_questions(path: Path) -> list[KnowledgeQuestion]:
    """The questions of a JSONL file (`question, doc, fact, value, groups` a line, as in the
    example's knowledge_facts.jsonl); a bad line raises naming the file, line and field."""
    found = []
    for where, row in jsonl_objects(path, QuestionFileError):
        for name in ("question", "doc", "fact", "value"):
            if not isinstance(row.get(name), str) or not row[name].strip():
                raise QuestionFileError(f"{where}: field '{name}' must be a non-empty string")
        groups = row.get("groups")
        if (
            not isinstance(groups, list)
            or not groups
            or not all(isinstance(g, str) for g in groups)
        ):
            raise QuestionFileError(f"{where}: field 'groups' must be a non-empty list of strings")
        found.append(
            KnowledgeQuestion(row["question"], row["doc"], row["fact"], row["value"], tuple(groups))
        )
    if not found:
        raise QuestionFileError(f"{path}: no questions")
    return found


def normalise(text: str) -> str:
    return " ".join(text.lower().split())


def holds(text: str, needle: str) -> bool:
    """`needle` in `text`, ignoring case and how whitespace runs."""
    return normalise(needle) in normalise(text)


def holds_gold(text: str, question: KnowledgeQuestion) -> bool:
    """A chunk holding the gold fact, or at least its value."""
    return holds(text, question.value) or holds(text, question.fact)


def retrieval_scores(hits: Sequence[Hit], gold_doc: str) -> dict[str, float]:
    """Recall@1, @5 and MRR@10 of the gold document, a document ranked at its best chunk."""
    docs = list(dict.fromkeys(h.chunk.doc for h in hits))
    return {
        "recall@1": recall_at_k(docs, [gold_doc], 1),
        "recall@5": recall_at_k(docs, [gold_doc], 5),
        "mrr@10": mrr_at_k(docs, [gold_doc], 10),
    }


def score_answer(answer: str, hits: Sequence[Hit], question: KnowledgeQuestion) -> dict[str, Any]:
    """One answer: whether it states the value, its citations (as the server would annotate
    them), how many cite a chunk holding the gold fact and how many are supported: the chunk
    holds at least SUPPORT of the words of the sentence the citation is attached to."""
    cited = citations(answer, list(hits))
    by_url = {h.url: h for h in hits}
    gold = supported = 0
    for annotation in cited:
        span = annotation["url_citation"]
        text = by_url[span["url"]].chunk.text
        gold += holds_gold(text, question)
        sentence = answer[span["start_index"] : span["end_index"]]
        supported += support(sentence, text) >= SUPPORT
    return {
        "value": holds(answer, question.value),
        "citations": len(cited),
        "gold_citations": gold,
        "supported": supported,
    }


def summarise(scores: Sequence[dict[str, Any]]) -> dict[str, float | None]:
    """Shares over one setting's answers; citation_support is over citations (None: none)."""
    count = len(scores)
    cited = sum(s["citations"] for s in scores)
    return {
        "value_share": sum(s["value"] for s in scores) / count if count else 0.0,
        "cites_gold": sum(s["gold_citations"] > 0 for s in scores) / count if count else 0.0,
        "citation_support": sum(s["supported"] for s in scores) / cited if cited else None,
        "cited_answers": sum(s["citations"] > 0 for s in scores) / count if count else 0.0,
    }


def mean(values: Sequence[float]) -> float:
    return sum(values) / len(values) if values else 0.0


_DIGITS = re.compile(r"\d+")


def changed_value(value: str, taken: str) -> str | None:
    """The value with every number moved (width kept, e.g. 09:00 -> 16:07), chosen so that
    neither it nor `taken` (the knowledge base's text) holds the other; None if no number."""
    if not _DIGITS.search(value):
        return None
    for step in (7, 11, 13, 17, 19, 23):
        new = _DIGITS.sub(lambda m, s=step: str(int(m.group()) + s).zfill(len(m.group())), value)
        if new not in taken and value not in new and new not in value:
            return new
    return None
