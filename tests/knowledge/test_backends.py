"""The two index backends side by side: the store URL picks one, both keep a search to the
caller's group sets without falling short of k, and they rank the same vectors the same."""

from __future__ import annotations

import uuid
from pathlib import Path

import numpy as np
import pytest

from tunesmith.config import KnowledgeConfig
from tunesmith.config.workspace import Workspace
from tunesmith.knowledge.chunking import Chunk
from tunesmith.knowledge.index import open_index
from tunesmith.knowledge.pg_store import tsquery
from tunesmith.knowledge.pg_url import split_url
from tunesmith.knowledge.store import StoredDocument

DIM = 8


def _config(store: str | None) -> KnowledgeConfig:
    return KnowledgeConfig.model_validate({"sources": [{"path": "kb"}], "store": store})


def _store(kind: str, tmp_path: Path, request: pytest.FixtureRequest) -> str:
    if kind == "sqlite":
        return "sqlite:///index.db"
    return f"{request.getfixturevalue('postgres_url')}&schema=kb_{uuid.uuid4().hex[:12]}"


def _fill(index, docs: dict[str, tuple[str, ...]], per_doc: int, seed: int = 0) -> None:
    rng = np.random.default_rng(seed)
    with index.transaction():
        index.ensure_vectors(DIM)
        for doc, groups in docs.items():
            chunks = [
                Chunk(doc, n, ("Policy",), 0, 10, f"refund policy {doc} part {n}")
                for n in range(per_doc)
            ]
            vectors = rng.normal(size=(per_doc, DIM)).astype(np.float32)
            index.put_document(
                StoredDocument(doc, "0" * 64, groups, doc, per_doc, 1, {}), chunks, vectors
            )


def test_the_store_url_picks_the_backend_and_other_schemes_are_refused() -> None:
    assert _config("postgresql://kb@db.internal:5432/knowledge").store
    with pytest.raises(ValueError, match=r"postgresql://user@host:port/db"):
        _config("mysql://kb@db/knowledge")
    conninfo, schema, shown = split_url("postgresql://kb:s3cret@db:5432/k?schema=support_kb")
    assert (conninfo, schema) == ("postgresql://kb:s3cret@db:5432/k", "support_kb")
    assert "s3cret" not in shown and shown.startswith("postgresql://kb@db:5432/k")
    assert split_url("postgresql://kb@db/k")[1] == "tunesmith_knowledge"
    assert "pw" not in split_url("postgresql://kb@db/k?password=pw&sslmode=require")[2]
    with pytest.raises(ValueError, match="schema must be"):
        split_url("postgresql://kb@db/k?schema=x;DROP TABLE y")
    # every word is a quoted lexeme: tsquery operators in the text are only words
    assert tsquery("refund | !x & 'y' <-> z") == "'refund' | 'x' | 'y' | 'z'"


@pytest.mark.parametrize("kind", ["sqlite", "postgresql"])
def test_a_search_draws_k_readable_chunks_however_many_others_rank_higher(
    kind: str, tmp_path: Path, request: pytest.FixtureRequest
) -> None:
    ws = Workspace(tmp_path)
    index = open_index(ws, _config(_store(kind, tmp_path, request)))
    try:
        # 40 chunks the caller may not read, 6 it may: k = 5 must still be 5 readable ones
        _fill(index, {f"secret/{i}.md": ("exec",) for i in range(8)} | {"open.md": ("staff",)}, 5)
        _fill(index, {"open2.md": ("staff",)}, 1, seed=1)
        acls = index.readable_acls(frozenset({"staff"}))
        everything = index.chunks(list(range(1, 1000)))
        readable = {i for i, chunk in everything.items() if "staff" in chunk.groups}
        assert len(readable) == 6
        for query in np.random.default_rng(2).normal(size=(10, DIM)):
            found = index.dense(query, acls, 5)
            assert len(found) == 5 and {i for i, _ in found} <= readable
        words = index.lexical("refund policy", acls, 5)
        assert len(words) == 5 and {i for i, _ in words} <= readable
        assert index.dense(query, [], 5) == [] and index.lexical("refund", [], 5) == []
        assert len(index.lexical("refund policy", acls, 50)) == 6
    finally:
        index.close()


def test_both_backends_rank_the_same_vectors_the_same(
    tmp_path: Path, request: pytest.FixtureRequest
) -> None:
    docs = {f"d{i}.md": (("staff",), ("hr",), ("staff", "hr"))[i % 3] for i in range(12)}
    ranked, similarities = [], []
    for kind in ("sqlite", "postgresql"):
        index = open_index(Workspace(tmp_path / kind), _config(_store(kind, tmp_path, request)))
        try:
            _fill(index, docs, 4)
            acls = index.readable_acls(frozenset({"hr"}))
            queries = np.random.default_rng(3).normal(size=(5, DIM))
            hits = [index.dense(q, acls, 10) for q in queries]
            # ids differ between backends: compare (document, chunk number) and similarity
            chunks = index.chunks([i for found in hits for i, _ in found])
            ranked.append([[chunks[i].chunk_id for i, _ in found] for found in hits])
            similarities.append([s for found in hits for _, s in found])
        finally:
            index.close()
    assert ranked[0] == ranked[1]
    assert np.allclose(similarities[0], similarities[1], atol=1e-5)
    assert all(len(found) == 10 for found in ranked[0])


def test_knowledge_bases_sharing_a_server_stay_apart(
    tmp_path: Path, request: pytest.FixtureRequest
) -> None:
    url = request.getfixturevalue("postgres_url")
    ws = Workspace(tmp_path)
    first = open_index(ws, _config(f"{url}&schema=kb_first"))
    second = open_index(ws, _config(f"{url}&schema=kb_second"))
    try:
        _fill(first, {"a.md": ("staff",)}, 3)
        with first.transaction():
            first.add_version(1, "2026-01-01T00:00:00Z", {})
        assert (first.chunk_count(), first.current_version()) == (3, 1)
        assert (second.chunk_count(), second.current_version()) == (0, 0)
        assert second.readable_acls(frozenset({"staff"})) == []
    finally:
        first.close()
        second.close()


def test_a_reader_opened_during_a_build_sees_the_previous_version_without_waiting(
    tmp_path: Path, request: pytest.FixtureRequest
) -> None:
    url = f"{request.getfixturevalue('postgres_url')}&schema=kb_{uuid.uuid4().hex[:12]}"
    ws = Workspace(tmp_path)
    builder = open_index(ws, _config(url))
    try:
        _fill(builder, {"a.md": ("staff",)}, 3)
        with builder.transaction():
            builder.add_version(1, "2026-01-01T00:00:00Z", {})
        with builder.transaction():  # the next build, still running
            builder.put_document(
                StoredDocument("b.md", "0" * 64, ("staff",), "b", 1, 2, {}),
                [Chunk("b.md", 0, (), 0, 1, "new text")],
                np.ones((1, DIM), dtype=np.float32),
            )
            # a lock wait would fail here within 2 s instead of hanging
            reader = open_index(ws, _config(f"{url}&options=-c%20lock_timeout%3D2000"))
            try:
                assert (reader.chunk_count(), reader.current_version()) == (3, 1)
            finally:
                reader.close()
        assert builder.chunk_count() == 4
    finally:
        builder.close()


def test_a_reader_reconnects_after_the_server_drops_its_session(
    tmp_path: Path, request: pytest.FixtureRequest
) -> None:
    import psycopg

    url = f"{request.getfixturevalue('postgres_url')}&schema=kb_{uuid.uuid4().hex[:12]}"
    index = open_index(Workspace(tmp_path), _config(url))
    try:
        _fill(index, {"a.md": ("staff",)}, 3)
        acls = index.readable_acls(frozenset({"staff"}))
        before = index.dense(np.ones(DIM), acls, 2)
        with psycopg.connect(index.conninfo, autocommit=True) as admin:
            admin.execute("SELECT pg_terminate_backend(%s)", (index.db.info.backend_pid,))
        assert index.dense(np.ones(DIM), acls, 2) == before
    finally:
        index.close()
