"""Answers from the knowledge base: the key's groups decide what may be read, the top chunks
enter the prompt under a fixed template, and the answer's sentences carry citations as OpenAI
`url_citation` annotations. A caller with no readable source gets the configured refusal."""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from tunesmith.config.serve import ServeRetrievalConfig
from tunesmith.knowledge.retriever import Retriever
from tunesmith.knowledge.search import Hit
from tunesmith.serve.schemas import ChatRequest, Message
from tunesmith.store.keys import ApiKey

SOURCES = (
    "Answer from the numbered sources below only. After a sentence that uses a source, write "
    "its number in brackets, like [1]. If the sources do not answer the question, say so."
)
_MARK = re.compile(r"\s?\[(\d{1,2})\]")
_SENTENCE = re.compile(r"[^.!?\n]+(?:[.!?]+(?:\s?\[\d{1,2}\])*|$)", re.MULTILINE)
_WORD = re.compile(r"\w{3,}")
# share of a sentence's words a chunk must hold to be cited for it when the model wrote no
# [n] marks (small models rarely do)
_SUPPORT = 0.6


@dataclass(frozen=True)
class Retrieved:
    """What a call was given from the knowledge base (possibly nothing)."""

    hits: list[Hit]
    index_version: int

    def record(self) -> dict[str, Any]:
        """The interaction's retrieval record: ids and scores, never text of other groups
        (the hits are the caller's own by construction)."""
        return {
            "index_version": self.index_version,
            "chunks": [
                {
                    "id": h.chunk.chunk_id,
                    "score": round(h.score, 6),
                    "span": [h.chunk.start, h.chunk.end],
                }
                for h in self.hits
            ],
            "refused": not self.hits,
        }


def wanted(settings: ServeRetrievalConfig, request: ChatRequest) -> bool:
    """The request's own `retrieval` field decides; else the model's configured default."""
    if request.retrieval is not None:
        return request.retrieval.enabled
    return "*" in settings.models or request.model in settings.models


def question(request: ChatRequest) -> str:
    """The text searched for: the last user turn."""
    for message in reversed(request.messages):
        if message.role == "user":
            return message.text()
    return ""


def retrieve(
    retriever: Retriever, settings: ServeRetrievalConfig, request: ChatRequest, key: ApiKey
) -> Retrieved:
    """The chunks this key's groups may read that answer the request; a key with no groups
    reads nothing."""
    asked = request.retrieval.top_k if request.retrieval is not None else None
    top_k = asked or settings.top_k
    groups = frozenset(key.groups)
    hits = retriever.search(question(request), groups, top_k) if groups else []
    return Retrieved(hits, retriever.version)


def _title(hit: Hit) -> str:
    return " > ".join(hit.chunk.headings) or hit.chunk.doc


def with_sources(request: ChatRequest, hits: list[Hit]) -> ChatRequest:
    """The request as the model sees it: the sources in the system turn, numbered."""
    listed = "\n\n".join(
        f"[{n}] {_title(h)} ({h.url})\n{h.chunk.text}" for n, h in enumerate(hits, 1)
    )
    block = f"{SOURCES}\n\n{listed}"
    messages = list(request.messages)
    if messages and messages[0].role in ("system", "developer"):
        first = messages[0]
        messages[0] = Message(role=first.role, content=f"{first.text()}\n\n{block}")
    else:
        messages.insert(0, Message(role="system", content=block))
    return request.model_copy(update={"messages": messages})


def _annotation(hit: Hit, start: int, end: int) -> dict[str, Any]:
    return {
        "type": "url_citation",
        "url_citation": {
            "url": hit.url,
            "title": _title(hit),
            "start_index": start,
            "end_index": end,
        },
    }


def _words(text: str) -> set[str]:
    return {w.lower() for w in _WORD.findall(text)}


def citations(answer: str, hits: list[Hit]) -> list[dict[str, Any]]:
    """Annotations over the answer's sentences: the sources a sentence names with [n]; when the
    answer names none, the source holding most of a sentence's words (at least 60%)."""
    sentences = [(m.start(), m.end()) for m in _SENTENCE.finditer(answer) if m.group().strip()]
    marked = bool(_MARK.search(answer))
    found: list[dict[str, Any]] = []
    for start, end in sentences:
        text = answer[start:end]
        lead = len(text) - len(text.lstrip())
        span = (start + lead, end)
        if marked:
            numbers = dict.fromkeys(int(n) for n in _MARK.findall(text))
            found += [_annotation(hits[n - 1], *span) for n in numbers if 1 <= n <= len(hits)]
            continue
        words = _words(text)
        if len(words) < 3:
            continue
        support = [(len(words & _words(h.chunk.text)) / len(words), h) for h in hits]
        share, best = max(support, key=lambda pair: pair[0], default=(0.0, None))
        if best is not None and share >= _SUPPORT:
            found.append(_annotation(best, *span))
    return found
