"""Embedding pairs from reviewed answers (`tunesmith kb pairs`): the question of an answer a
reviewer accepted or corrected, and each knowledge-base document that answer cites, as a
`{"query", "doc"}` line `train.embedding.pairs` reads. An answer no reviewer vouched for, one
from the random audit sample (kept apart to measure with), a refusal, and an answer citing no
document still in the index give no pair; each is counted."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from tunesmith.config.knowledge import KnowledgeConfig
from tunesmith.config.workspace import Workspace
from tunesmith.knowledge.answers import citations
from tunesmith.knowledge.index import open_index
from tunesmith.knowledge.search import Hit
from tunesmith.knowledge.store import StoredChunk
from tunesmith.review.queue import AUDIT, ReviewItem, decided_items
from tunesmith.store.db import open_store
from tunesmith.store.files import write_atomic

RETRIEVAL_PAIRS_FILE = "feedback/retrieval_pairs.jsonl"
SKIPS = ("not_vouched", "audit_sample", "no_retrieval", "refused", "uncited")


@dataclass(frozen=True)
class RetrievalPairs:
    path: Path
    pairs: int
    counts: dict[str, int]  # decided items by what became of them (SKIPS, "paired")


def _hits(chunks: list[dict[str, Any]], texts: dict[str, str]) -> list[Hit]:
    """The sources as the answer was given them, numbered in order; a chunk the index no
    longer holds keeps its place (its [n] still names its document) with no text."""
    hits = []
    for entry in chunks:
        doc, _, number = str(entry["id"]).rpartition("#")
        start, end = entry.get("span") or (0, 0)
        text = texts.get(str(entry["id"]), "")
        chunk = StoredChunk(0, doc, int(number or 0), (), start, end, text, ())
        hits.append(Hit(chunk, float(entry.get("score", 0.0)), None, None))
    return hits


def cited_documents(answer: str, chunks: list[dict[str, Any]], texts: dict[str, str]) -> list[str]:
    """The documents the answer cites, by [n] marks or by word support (knowledge/answers.py,
    as the server annotates), in order of first citation."""
    found = citations(answer, _hits(chunks, texts))
    docs = [a["url_citation"]["url"].removeprefix("kb://").rpartition("#")[0] for a in found]
    return list(dict.fromkeys(docs))


def _question(item: ReviewItem) -> str:
    users = [m for m in item.messages if m.get("role") == "user"]
    return str(users[-1].get("content", "")) if users else ""


def _fate(item: ReviewItem) -> str | None:
    if item.decision not in ("accept", "correct"):
        return "not_vouched"
    if AUDIT in item.reasons:
        return "audit_sample"
    if not item.retrieval or not item.retrieval.get("chunks"):
        return "refused" if item.retrieval and item.retrieval.get("refused") else "no_retrieval"
    return None


def export_retrieval_pairs(
    ws: Workspace, knowledge: KnowledgeConfig, out: Path | None = None
) -> RetrievalPairs:
    """Write the pairs of every vouched-for answer with sources (atomically) and count them."""
    index = open_index(ws, knowledge)
    try:
        texts = {f"{doc}#{number}": text for doc, number, text in index.texts()}
        indexed = set(index.documents())
    finally:
        index.close()
    counts = dict.fromkeys((*SKIPS, "paired"), 0)
    rows = []
    for item in decided_items(open_store(ws.state_url())):
        fate = _fate(item)
        if fate is None:
            assert item.retrieval is not None
            corrected = item.decision == "correct" and item.correction
            answer = item.correction if corrected else item.output
            cited = cited_documents(answer or "", item.retrieval["chunks"], texts)
            docs = [doc for doc in cited if doc in indexed]
            question = _question(item)
            fate = "paired" if docs and question.strip() else "uncited"
            if fate == "paired":
                rows += [{"query": question, "doc": doc, "review_item": item.id} for doc in docs]
        counts[fate] += 1
    path = out or ws.resolve(RETRIEVAL_PAIRS_FILE)
    path.parent.mkdir(parents=True, exist_ok=True)
    text = "".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows)
    write_atomic(path, text.encode("utf-8"))
    return RetrievalPairs(path, len(rows), counts)
