"""The in-memory copy the embedded index searches (knowledge/resident.py): the same ranking as
sqlite-vec and FTS5 give over the same file, only readable chunks scored, and never a state the
file no longer holds."""

from __future__ import annotations

from itertools import pairwise
from pathlib import Path

import numpy as np
import pytest

from tunesmith.knowledge.chunking import Chunk
from tunesmith.knowledge.store import KnowledgeIndex, StoredDocument

DIM = 16
WORDS = "refund policy leave weeks bonus pool travel expense laptop office parking badge".split()
GROUPS = [("staff",), ("hr",), ("exec",), ("hr", "exec"), ("support", "staff")]


def _doc(index: KnowledgeIndex, name: str, groups: tuple[str, ...], texts: list[str], rng) -> None:
    chunks = [Chunk(name, n, ("Policy",), 0, 1, text) for n, text in enumerate(texts)]
    vectors = rng.normal(size=(len(texts), DIM)).astype(np.float32)
    index.put_document(
        StoredDocument(name, "0" * 64, groups, name, len(texts), 1, {}), chunks, vectors
    )


def _filled(path: Path, docs: int = 40, seed: int = 0) -> KnowledgeIndex:
    rng = np.random.default_rng(seed)
    index = KnowledgeIndex(path)
    with index.transaction():
        index.ensure_vectors(DIM)
        for d in range(docs):
            texts = [
                " ".join(rng.choice(WORDS, size=rng.integers(3, 30)))
                + (" refunds and policies" if n % 3 == 0 else "")
                for n in range(int(rng.integers(1, 6)))
            ]
            _doc(index, f"d{d}.md", GROUPS[d % len(GROUPS)], texts, rng)
    return index


def _vec0(index: KnowledgeIndex, vector: np.ndarray, acls: list[int], k: int) -> list:
    """The search the index ran before it held a copy: one vec0 KNN per readable shard."""
    found: list[tuple[int, float]] = []
    for acl in acls:
        found += index.db.execute(
            "SELECT id, distance FROM chunk_vectors WHERE embedding MATCH ? AND k = ? "
            "AND acl = ? ORDER BY distance",
            (np.asarray(vector, dtype=np.float32).tobytes(), k, acl),
        ).fetchall()
    found.sort(key=lambda row: (row[1], row[0]))
    return [(int(i), 1.0 - float(d)) for i, d in found[:k]]


def _callers(index: KnowledgeIndex) -> list[list[int]]:
    return [index.readable_acls(frozenset(g)) for g in ({"staff"}, {"hr"}, {"hr", "staff"})] + [
        index.readable_acls(frozenset({"staff", "hr", "exec", "support"}))
    ]


def test_dense_and_lexical_rank_as_sqlite_vec_and_fts5_do(tmp_path: Path) -> None:
    index = _filled(tmp_path / "index.db")
    try:
        rng = np.random.default_rng(1)
        queries = ["refund policy", "weeks of leave", "laptop parking badge", "policies?"]
        for acls in _callers(index):
            for vector in rng.normal(size=(10, DIM)):
                for k in (1, 5, 50):
                    new, old = index.dense(vector, acls, k), _vec0(index, vector, acls, k)
                    assert [i for i, _ in new] == [i for i, _ in old]
                    assert np.allclose([s for _, s in new], [s for _, s in old], atol=1e-5)
            for query in queries:
                for k in (3, 50):
                    new, old = index.lexical(query, acls, k), index.fts5_lexical(query, acls, k)
                    # the same scores as FTS5's bm25(); equal scores go to the lower chunk id
                    assert np.allclose([s for _, s in new], [s for _, s in old], rtol=1e-12)
                    ids = index.chunks([i for i, _ in new])
                    assert len(ids) == len(new) and {i for i, _ in new} <= set(ids)
                    assert [s for _, s in new] == sorted((s for _, s in new), reverse=True)
    finally:
        index.close()


def test_only_readable_rows_are_scored_and_k_of_them_come_back(tmp_path: Path) -> None:
    index = _filled(tmp_path / "index.db")
    try:
        resident = index.resident()
        for acls in _callers(index):
            spans = resident.readable(acls)
            readable = {int(i) for s, e in spans for i in resident.ids[s:e]}
            assert readable == {
                r[0]
                for r in index.db.execute(
                    f"SELECT id FROM chunks WHERE acl IN ({','.join('?' * len(acls))})", acls
                )
            }
            # adjacent shards are one range
            assert all(a[1] < b[0] for a, b in pairwise(spans))
            found = index.dense(np.ones(DIM), acls, 10**6)
            assert len(found) == len(readable) and {i for i, _ in found} == readable
            words = index.lexical("refund", acls, 5)
            assert len(words) == 5 and {i for i, _ in words} <= readable
        assert index.dense(np.ones(DIM), [], 5) == index.lexical("refund", [], 5) == []
        assert index.dense(np.ones(DIM), [999], 5) == []
    finally:
        index.close()


def test_a_commit_by_another_connection_is_searched_at_once(tmp_path: Path) -> None:
    path = tmp_path / "index.db"
    reader, writer = _filled(path), KnowledgeIndex(path)
    try:
        acls = reader.readable_acls(frozenset({"staff"}))
        before = reader.lexical("zeppelin", acls, 5)
        assert before == [] and reader.resident() is reader.resident()  # held between searches
        with writer.transaction():
            _doc(writer, "new.md", ("staff",), ["zeppelin refund"], np.random.default_rng(3))
        (found,) = reader.lexical("zeppelin", reader.readable_acls(frozenset({"staff"})), 5)
        assert reader.chunks([found[0]])[found[0]].doc == "new.md"
        with writer.transaction():
            writer.delete_document("new.md")
        assert reader.lexical("zeppelin", acls, 5) == []
    finally:
        reader.close()
        writer.close()


def test_a_rolled_back_write_is_not_searched(tmp_path: Path) -> None:
    index = _filled(tmp_path / "index.db")
    try:
        acls = index.readable_acls(frozenset({"staff"}))
        with pytest.raises(RuntimeError), index.transaction():
            _doc(index, "new.md", ("staff",), ["zeppelin"], np.random.default_rng(3))
            assert index.lexical("zeppelin", acls, 5) != []  # this connection's own write
            raise RuntimeError("the build fails")
        assert index.lexical("zeppelin", acls, 5) == []
        marks = ",".join("?" * len(acls))
        held = index.db.execute(f"SELECT count(*) FROM chunks WHERE acl IN ({marks})", acls)
        assert len(index.dense(np.ones(DIM), acls, 10**6)) == held.fetchone()[0]
    finally:
        index.close()


def test_a_word_fts5_reads_as_a_phrase_is_searched_by_fts5(tmp_path: Path) -> None:
    index = _filled(tmp_path / "index.db", docs=5)
    try:
        with index.transaction():
            _doc(
                index,
                "p.md",
                ("staff",),
                ["expense_report due", "report expense"],
                np.random.default_rng(4),
            )
        acls = index.readable_acls(frozenset({"staff"}))
        # "expense_report" is the phrase "expense report": only the first chunk holds it so
        found = index.lexical("expense_report", acls, 10)
        assert found == index.fts5_lexical("expense_report", acls, 10) and len(found) == 1
    finally:
        index.close()


def test_an_index_emptied_of_chunks_finds_nothing(tmp_path: Path) -> None:
    index = _filled(tmp_path / "index.db", docs=3)
    try:
        acls = index.readable_acls(frozenset({"staff", "hr", "exec"}))
        assert index.lexical("refund", acls, 5) != []
        with index.transaction():
            for doc in index.documents():
                index.delete_document(doc)
        assert index.dense(np.ones(DIM), acls, 5) == index.lexical("refund", acls, 5) == []
        assert index.dense(np.ones(DIM), acls, 0) == []
    finally:
        index.close()
