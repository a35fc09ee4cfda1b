"""Permission-aware hybrid search: BM25 and dense candidates, each drawn only from the chunks
the caller's groups may read, fused by reciprocal rank (Cormack et al., 2009)."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from tunesmith.config.knowledge import RetrievalConfig
from tunesmith.knowledge.store import KnowledgeIndex, StoredChunk
from tunesmith.models.sentence import SentenceModel
from tunesmith.store.files import jsonl_objects


@dataclass(frozen=True)
class Hit:
    chunk: StoredChunk
    score: float  # the fused score (mode hybrid) or the retriever's own
    dense_rank: int | None
    lexical_rank: int | None
    similarity: float | None = None  # dense cosine similarity to the query, when it was ranked

    @property
    def url(self) -> str:
        """The citation's address: `kb://<document path>#<chunk number>`."""
        return f"kb://{self.chunk.chunk_id}"

    def to_json(self, with_text: bool = True) -> dict[str, Any]:
        found = {
            "doc": self.chunk.doc,
            "chunk": self.chunk.number,
            "score": round(self.score, 6),
            "url": self.url,
            "headings": list(self.chunk.headings),
            "span": [self.chunk.start, self.chunk.end],
        }
        return found | {"text": self.chunk.text} if with_text else found


def fuse(rankings: list[list[int]], k: int) -> list[tuple[int, float]]:
    """Reciprocal rank fusion: each list adds 1 / (k + rank) to an item's score."""
    scores: dict[int, float] = {}
    for ranking in rankings:
        for rank, item in enumerate(ranking, 1):
            scores[item] = scores.get(item, 0.0) + 1.0 / (k + rank)
    return sorted(scores.items(), key=lambda pair: (-pair[1], pair[0]))


def search(
    index: KnowledgeIndex,
    model: SentenceModel | None,
    query: str,
    groups: frozenset[str] | set[str] | list[str],
    retrieval: RetrievalConfig,
    top_k: int | None = None,
) -> list[Hit]:
    """The best chunks for `query` that `groups` may read; no groups, no results."""
    caller = frozenset(groups)
    acls = index.readable_acls(caller)
    if not acls or not query.strip():
        return []
    k = top_k or retrieval.top_k
    dense: list[tuple[int, float]] = []
    lexical: list[tuple[int, float]] = []
    if retrieval.mode in ("hybrid", "dense"):
        if model is None:
            raise ValueError("dense retrieval needs the embedding model")
        dense = index.dense(model.encode([query])[0], acls, retrieval.candidates)
    if retrieval.mode in ("hybrid", "lexical"):
        lexical = index.lexical(query, acls, retrieval.candidates)
    if retrieval.min_similarity is not None and retrieval.mode != "lexical":
        # unrelated chunks still rank somewhere: only those near enough the query count
        dense = [(i, s) for i, s in dense if s >= retrieval.min_similarity]
        kept = {i for i, _ in dense}
        lexical = [(i, s) for i, s in lexical if i in kept]
    similarity = dict(dense)
    dense_rank = {i: r for r, (i, _) in enumerate(dense, 1)}
    lexical_rank = {i: r for r, (i, _) in enumerate(lexical, 1)}
    if retrieval.mode == "hybrid":
        ranked = fuse([[i for i, _ in dense], [i for i, _ in lexical]], retrieval.rrf_k)
    else:
        ranked = dense or lexical
    chosen = ranked[:k]
    chunks = index.chunks([i for i, _ in chosen])
    hits = []
    for i, score in chosen:
        chunk = chunks.get(i)
        # the search already kept to the caller's groups; checked again on what leaves here
        if chunk is None or not caller & set(chunk.groups):
            continue
        hits.append(Hit(chunk, score, dense_rank.get(i), lexical_rank.get(i), similarity.get(i)))
    return hits


class QueryFileError(ValueError):
    """A line of a queries file that is not `{"query": str, "groups": [str, ...]}`."""


@dataclass(frozen=True)
class Query:
    query: str
    groups: tuple[str, ...]


def read_queries(path: Path) -> list[Query]:
    """The queries of a JSONL file, in order; a bad line raises naming the file, line and
    field (nothing is searched until every line is good)."""
    queries = []
    for where, row in jsonl_objects(path, QueryFileError):
        if not isinstance(row.get("query"), str):
            raise QueryFileError(f"{where}: field 'query' must be a string")
        groups = row.get("groups", [])
        if not isinstance(groups, list) or not all(isinstance(g, str) for g in groups):
            raise QueryFileError(f"{where}: field 'groups' must be a list of strings")
        queries.append(Query(row["query"], tuple(groups)))
    return queries
