"""The embedded index's vectors and words held in memory, one copy per index state: what
`KnowledgeIndex.dense` and `.lexical` search.

Per query, sqlite-vec ran one exact scan per readable acl shard and FTS5 scored every row
matching any query word through its generic query engine: at 100k chunks, 120 and 250 ms p50
for a caller reading all six groups on two cores. Here the chunks are rows ordered by acl, so
the rows a caller may read are a few contiguous ranges: the dense half is one matrix-vector
product per readable range (cosine over rows normalised once), the lexical half adds up the
precomputed BM25 weight of each query word's postings into a score per row. Only readable
rows are scored, and the top k is drawn from them: a search still returns k readable chunks
however many others would rank higher.

BM25 is FTS5's own (`bm25()` of fts5_aux.c: k1 1.2, b 0.75, idf log((N - n + .5) / (n + .5)),
at least 1e-6; N, n and the average length over the whole table, as FTS5 counts them), over the
tokens FTS5's own tokenizer gives for the same text, so scores and ranks are FTS5's.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass
from functools import partial
from itertools import count

import apsw
import numpy as np

TOKENIZE = ("porter", ["unicode61"])  # chunk_words' tokenize='porter unicode61'
_K1, _B = 1.2, 0.75


def tokenizer(db: apsw.Connection) -> Callable[[bytes, int, str | None], list[str]]:
    """FTS5's tokenizer of chunk_words: (utf-8 text, FTS5_TOKENIZE_* flags, locale) -> its
    tokens."""
    split = db.fts5_tokenizer(*TOKENIZE)
    return partial(split, include_offsets=False, include_colocated=False)


@dataclass(frozen=True)
class Resident:
    ids: np.ndarray  # chunk id of each row, rows ordered by (acl, id)
    ranges: dict[int, tuple[int, int]]  # acl -> its rows [start, end)
    vectors: np.ndarray  # (rows, dim) float32, unit length; (rows, 0) without vectors
    terms: dict[str, int]  # token -> its postings, postings[starts[t]:starts[t + 1]]
    starts: np.ndarray
    rows: np.ndarray  # the rows holding each token, term by term
    weights: np.ndarray  # BM25 weight of the token in that row (float64, as FTS5 sums)

    @property
    def nbytes(self) -> int:
        arrays = (self.ids, self.vectors, self.starts, self.rows, self.weights)
        return sum(a.nbytes for a in arrays)

    @classmethod
    def load(cls, db: apsw.Connection, with_vectors: bool) -> Resident:
        chunk_rows = db.execute("SELECT id, acl FROM chunks ORDER BY acl, id").fetchall()
        table = np.array(chunk_rows, dtype=np.int64).reshape(-1, 2)
        ids, acls = table[:, 0], table[:, 1]
        bounds = np.flatnonzero(np.diff(acls)) + 1
        starts_of = np.concatenate([[0], bounds]).astype(int)
        ends_of = np.concatenate([bounds, [len(ids)]]).astype(int)
        spans = zip(starts_of, ends_of, strict=True) if len(ids) else []
        ranges = {int(acls[s]): (int(s), int(e)) for s, e in spans}
        order = np.argsort(ids)
        row_of = lambda found: order[np.searchsorted(ids, found, sorter=order)]  # noqa: E731
        vectors = np.zeros((len(ids), 0), dtype=np.float32)
        if with_vectors:
            vectors = _vectors(db, ids, row_of)
        return cls(ids, ranges, vectors, *_postings(db, len(ids), row_of))

    def readable(self, acls: list[int]) -> list[tuple[int, int]]:
        """The rows of `acls` as few ranges as can be: adjacent shards join, so a caller
        reading everything costs one product, not one per shard."""
        spans: list[tuple[int, int]] = []
        for start, end in sorted(self.ranges[a] for a in set(acls) if a in self.ranges):
            if spans and spans[-1][1] == start:
                spans[-1] = (spans[-1][0], end)
            else:
                spans.append((start, end))
        return spans

    def dense(self, vector: np.ndarray, acls: list[int], k: int) -> list[tuple[int, float]]:
        spans = self.readable(acls)
        if not spans or self.vectors.shape[1] == 0:
            return []
        query = np.asarray(vector, dtype=np.float32)
        query = query / (np.linalg.norm(query) or 1.0)
        # einsum: one thread, no BLAS pool to wake; on 2 busy cores OpenBLAS's matmul took 2x
        # its time over all rows and 10x over one shard's
        scored = np.concatenate([np.einsum("ij,j->i", self.vectors[s:e], query) for s, e in spans])
        rows = np.concatenate([np.arange(s, e) for s, e in spans])  # scored[i] is rows[i]
        return self._top(rows, scored, k)

    def lexical(self, tokens: list[str], acls: list[int], k: int) -> list[tuple[int, float]]:
        """The top k readable rows by the summed BM25 weight of `tokens` (one per query
        phrase, repeats counted again, as FTS5 counts a phrase given twice)."""
        spans = self.readable(acls)
        if not spans:
            return []
        allowed = np.zeros(len(self.ids), dtype=bool)
        for start, end in spans:
            allowed[start:end] = True
        scores = np.zeros(len(self.ids))
        for token in tokens:
            t = self.terms.get(token)
            if t is not None:  # within one token a row appears once: a plain += is exact
                part = slice(self.starts[t], self.starts[t + 1])
                rows, weights = self.rows[part], self.weights[part]
                readable = allowed[rows]  # a posting of an unreadable row adds to no score
                scores[rows[readable]] += weights[readable]
        rows = np.concatenate([s + np.flatnonzero(scores[s:e]) for s, e in spans])
        return self._top(rows, scores[rows], k)

    def _top(self, rows: np.ndarray, scores: np.ndarray, k: int) -> list[tuple[int, float]]:
        """The k best (id, score), best first; a tie goes to the lower chunk id."""
        if k < 1:
            return []
        if len(rows) > k:
            cut = np.argpartition(-scores, k - 1)[:k]
            # every row tied with the k-th is a candidate, so the tie-break sees them all
            cut = np.flatnonzero(scores >= scores[cut].min())
            rows, scores = rows[cut], scores[cut]
        ids = self.ids[rows]
        best = np.lexsort((ids, -scores))[:k]
        return [(int(ids[i]), float(scores[i])) for i in best]


def _vectors(db: apsw.Connection, ids: np.ndarray, row_of: Callable) -> np.ndarray:
    found = db.execute("SELECT id, embedding FROM chunk_vectors").fetchall()
    dim = int(db.execute("SELECT value FROM meta WHERE key = 'dim'").fetchone()[0])
    vectors = np.zeros((len(ids), dim), dtype=np.float32)
    if found:
        keys = np.array([r[0] for r in found], dtype=np.int64)
        blob = b"".join(r[1] for r in found)
        vectors[row_of(keys)] = np.frombuffer(blob, dtype=np.float32).reshape(len(found), dim)
    norms = np.sqrt(np.einsum("ij,ij->i", vectors, vectors))[:, None]  # 5x linalg.norm's speed
    return vectors / np.where(norms == 0, 1.0, norms)


def _postings(db: apsw.Connection, n: int, row_of: Callable) -> tuple:
    """Every (token, row) pair of chunk_words with its BM25 weight, grouped by token."""
    split = tokenizer(db)
    terms: defaultdict[str, int] = defaultdict(count().__next__)  # token -> its number
    codes: list[int] = []
    keys: list[int] = []
    lengths: list[int] = []
    for rowid, text in db.execute("SELECT rowid, text FROM chunk_words"):
        tokens = split(text.encode(), apsw.FTS5_TOKENIZE_DOCUMENT, None)
        codes.extend(map(terms.__getitem__, tokens))  # a new token is numbered on sight
        keys.append(rowid)
        lengths.append(len(tokens))
    if not keys:
        empty = np.zeros(0, dtype=np.int64)
        return {}, np.zeros(1, dtype=np.int64), empty.astype(np.int32), np.zeros(0)
    size = np.zeros(n)
    size[row_of(np.array(keys, dtype=np.int64))] = lengths  # FTS5's column size: its tokens
    rows = np.repeat(row_of(np.array(keys, dtype=np.int64)), lengths)
    # one (token, row) pair per distinct token of a row, with its count in that row
    pairs, freq = np.unique(np.array(codes, dtype=np.int64) * n + rows, return_counts=True)
    token, row = pairs // n, pairs % n
    total_rows = len(keys)  # FTS5's N: every row of the table, whoever may read it
    average = sum(lengths) / total_rows
    hits = np.bincount(token, minlength=len(terms))
    idf = np.log((total_rows - hits + 0.5) / (hits + 0.5))
    idf = np.where(idf <= 0.0, 1e-6, idf)
    weights = idf[token] * (freq * (_K1 + 1.0)) / (freq + _K1 * (1 - _B + _B * size[row] / average))
    starts = np.concatenate([[0], np.cumsum(hits)]).astype(np.int64)
    return dict(terms), starts, row.astype(np.int32), weights
