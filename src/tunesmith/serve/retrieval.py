"""Answers from the knowledge base on the server: the key's groups decide what may be read,
the top chunks enter the prompt under the fixed template of `knowledge/answers.py`, and the
answer's sentences carry citations as OpenAI `url_citation` annotations. A caller with no
readable source gets the configured refusal."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from tunesmith.config.serve import ServeRetrievalConfig
from tunesmith.knowledge.answers import SOURCES, citations, sources_block
from tunesmith.knowledge.retriever import Retriever
from tunesmith.knowledge.search import Hit
from tunesmith.serve.schemas import ChatRequest
from tunesmith.store.keys import ApiKey

__all__ = ["SOURCES", "Retrieved", "citations", "question", "retrieve", "wanted", "with_sources"]


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


def with_sources(request: ChatRequest, hits: list[Hit]) -> ChatRequest:
    """The request as the model sees it: the sources in the system turn, numbered."""
    return request.with_system_note(sources_block(hits))
