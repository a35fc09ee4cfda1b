"""The two knowledge index backends on the same data: SQLite (sqlite-vec + FTS5) and PostgreSQL
(pgvector + full-text search, a local pgserver on a Unix socket). N chunks of 384-wide random
unit vectors and random-word texts over 10 group sets; the caller reads 3 of them. Latency is
one `dense` or `lexical` call (the query vector given, no model), or the four calls of a hybrid
`search`; p50/p95 over the queries.

    .venv/bin/python bench/kb_backends.py --chunks 10000 --queries 200
"""

from __future__ import annotations

import argparse
import shutil
import tempfile
import time
from pathlib import Path

import numpy as np

from tunesmith.knowledge.chunking import Chunk
from tunesmith.knowledge.pg_store import PostgresIndex
from tunesmith.knowledge.store import KnowledgeIndex, StoredDocument

DIM = 384
PER_DOC = 10
GROUPS = [(f"g{i}",) for i in range(10)]


def corpus(n: int, seed: int = 0) -> tuple[list[str], np.ndarray, list[str]]:
    rng = np.random.default_rng(seed)
    vocab = [f"w{i}" for i in range(5000)]
    words = rng.zipf(1.3, size=(n, 60)) % len(vocab)
    texts = [" ".join(vocab[w] for w in row) for row in words]
    vectors = rng.normal(size=(n, DIM)).astype(np.float32)
    vectors /= np.linalg.norm(vectors, axis=1, keepdims=True)
    return texts, vectors, vocab


def fill(index, texts: list[str], vectors: np.ndarray) -> float:
    started = time.perf_counter()
    with index.transaction():
        index.ensure_vectors(DIM)
        for d in range(len(texts) // PER_DOC):
            doc = f"doc{d}.md"
            rows = range(d * PER_DOC, (d + 1) * PER_DOC)
            chunks = [Chunk(doc, n, (), 0, 1, texts[r]) for n, r in enumerate(rows)]
            document = StoredDocument(doc, "0" * 64, GROUPS[d % 10], doc, PER_DOC, 1, {})
            index.put_document(document, chunks, vectors[list(rows)])
    return time.perf_counter() - started


def latency(call, queries: list) -> tuple[float, float]:
    for q in queries[:5]:  # warm caches
        call(q)
    times = []
    for q in queries:
        started = time.perf_counter()
        call(q)
        times.append((time.perf_counter() - started) * 1000)
    return float(np.percentile(times, 50)), float(np.percentile(times, 95))


def hybrid(index, query: tuple, k: int) -> None:
    """What `search` asks the index for one hybrid query: the caller's sets, both candidate
    lists and the top chunks' rows (round trips included)."""
    acls = index.readable_acls(frozenset({"g0", "g1", "g2"}))
    dense, lexical = index.dense(query[0], acls, k), index.lexical(query[1], acls, k)
    index.chunks([i for i, _ in (dense[:2] + lexical[:2])])


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--chunks", type=int, default=10_000)
    parser.add_argument("--queries", type=int, default=200)
    parser.add_argument("--k", type=int, default=50)
    args = parser.parse_args()
    texts, vectors, vocab = corpus(args.chunks)
    rng = np.random.default_rng(1)
    dense_q = list(rng.normal(size=(args.queries, DIM)).astype(np.float32))
    lexical_q = [" ".join(rng.choice(vocab[:500], size=4)) for _ in range(args.queries)]
    folder = Path(tempfile.mkdtemp(prefix="kb-backends-"))
    import pgserver

    server = pgserver.get_server(folder / "pg", cleanup_mode="stop")
    indexes = {
        "sqlite": KnowledgeIndex(folder / "index.db"),
        "postgresql": PostgresIndex(f"{server.get_uri()}&schema=bench"),
    }
    found = {}
    for name, index in indexes.items():
        seconds = fill(index, texts, vectors)
        acls = index.readable_acls(frozenset({"g0", "g1", "g2"}))
        d50, d95 = latency(lambda q, i=index, a=acls: i.dense(q, a, args.k), dense_q)
        l50, l95 = latency(lambda q, i=index, a=acls: i.lexical(q, a, args.k), lexical_q)
        h50, h95 = latency(
            lambda q, i=index: hybrid(i, q, args.k), list(zip(dense_q, lexical_q, strict=True))
        )
        top = index.dense(dense_q[0], acls, 10)
        chunks = index.chunks([i for i, _ in top])
        found[name] = [chunks[i].chunk_id for i, _ in top]
        print(
            f"{name:10s} {args.chunks} chunks: build {seconds:.1f}s, "
            f"dense p50 {d50:.2f} ms p95 {d95:.2f} ms, lexical p50 {l50:.2f} ms p95 {l95:.2f} ms, "
            f"hybrid p50 {h50:.2f} ms p95 {h95:.2f} ms"
        )
        index.close()
    print("same dense top-10:", found["sqlite"] == found["postgresql"])
    server.cleanup()
    shutil.rmtree(folder, ignore_errors=True)


if __name__ == "__main__":
    main()
