"""The embedded index: one SQLite file holding documents, chunks, their vectors (a sqlite-vec
`vec0` table) and their words (an FTS5 table, ranked by BM25).

Every chunk carries the id of its document's group set (`acl`): the partition key of the
vectors and a column of the words, so the caller's readable sets are a condition *of* the
search: a chunk outside them is never a candidate, never scored, never returned. Searches read
an in-memory copy of the file (resident.py) with the same rankings, held while the file is
unchanged. One build is one transaction: readers (the server) see the previous version until
it commits, and a crash leaves that version whole.
SQLite comes from `apsw`, as the standard library's module may be built without extension
loading.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import apsw
import numpy as np
import sqlite_vec

from tunesmith.knowledge.chunking import Chunk
from tunesmith.knowledge.resident import Resident, tokenizer

_WORD = re.compile(r"\w+", re.UNICODE)
_SCHEMA = """
CREATE TABLE IF NOT EXISTS meta(key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS acls(acl INTEGER PRIMARY KEY, groups TEXT NOT NULL UNIQUE);
CREATE TABLE IF NOT EXISTS documents(
    doc TEXT PRIMARY KEY, sha256 TEXT NOT NULL, acl INTEGER NOT NULL, title TEXT NOT NULL,
    chunks INTEGER NOT NULL, version INTEGER NOT NULL, masked TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS chunks(
    id INTEGER PRIMARY KEY, doc TEXT NOT NULL, number INTEGER NOT NULL, headings TEXT NOT NULL,
    start INTEGER NOT NULL, "end" INTEGER NOT NULL, text TEXT NOT NULL, acl INTEGER NOT NULL,
    UNIQUE(doc, number));
CREATE TABLE IF NOT EXISTS versions(
    version INTEGER PRIMARY KEY, created_at TEXT NOT NULL, summary TEXT NOT NULL);
CREATE VIRTUAL TABLE IF NOT EXISTS chunk_words USING fts5(
    text, acl UNINDEXED, tokenize='porter unicode61');  -- resident.TOKENIZE
"""


@dataclass(frozen=True)
class StoredChunk:
    id: int
    doc: str
    number: int
    headings: tuple[str, ...]
    start: int
    end: int
    text: str
    groups: tuple[str, ...]

    @property
    def chunk_id(self) -> str:
        return f"{self.doc}#{self.number}"


@dataclass(frozen=True)
class StoredDocument:
    doc: str
    sha256: str
    groups: tuple[str, ...]
    title: str
    chunks: int
    version: int
    masked: dict[str, int]


def query_words(text: str) -> list[str]:
    """The words of `text` a lexical search looks for: each once, English stop words dropped
    (BM25 then ranks by how many and how rare; a stop word matches nearly every chunk, so it
    only costs time), unless nothing else is left."""
    from sklearn.feature_extraction.text import ENGLISH_STOP_WORDS

    words = list(dict.fromkeys(w.lower() for w in _WORD.findall(text)))
    return [w for w in words if w not in ENGLISH_STOP_WORDS] or words


def lexical_query(text: str) -> str:
    """An FTS5 query matching any of `query_words(text)`; each word is quoted, so no query
    text is read as FTS5 syntax."""
    return " OR ".join(f'"{w}"' for w in query_words(text))


class KnowledgeIndex:
    """An open index file. Not shared between threads: open one per thread."""

    def __init__(self, path: Path) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        self.path = path
        self.db = apsw.Connection(str(path))
        self.db.enable_load_extension(True)
        self.db.load_extension(sqlite_vec.loadable_path())
        self.db.enable_load_extension(False)
        self.db.setbusytimeout(30_000)
        self.db.execute("PRAGMA journal_mode=WAL")
        self.db.execute(_SCHEMA)
        self._held: tuple[tuple[int, int], Resident] | None = None
        self._split = tokenizer(self.db)  # FTS5's own, as chunk_words tokenizes

    def close(self) -> None:
        self.db.close()

    @contextmanager
    def transaction(self) -> Iterator[None]:
        try:
            with self.db:
                yield
        finally:  # committed or rolled back, what is held in memory may be another state
            self._held = None

    def resident(self) -> Resident:
        """The vectors and words in memory as the index holds them now, loaded again after
        a commit by another connection (`kb index`: PRAGMA data_version) or a write by this
        one (total_changes): searches never see a state the file no longer holds."""
        # the key is read before the load reads: a commit in between costs one more load,
        # never a stale copy
        state = (self.db.execute("PRAGMA data_version").fetchone()[0], self.db.total_changes())
        if self._held is None or self._held[0] != state:
            self._held = None  # the old copy is freed before the new one is built
            with self.db:  # one snapshot for chunks, vectors and words
                self._held = (state, Resident.load(self.db, self.meta("dim") is not None))
        return self._held[1]

    # ---- metadata and versions
    def meta(self, key: str) -> str | None:
        row = self.db.execute("SELECT value FROM meta WHERE key = ?", (key,)).fetchone()
        return None if row is None else row[0]

    def set_meta(self, key: str, value: str) -> None:
        self.db.execute("INSERT OR REPLACE INTO meta(key, value) VALUES (?, ?)", (key, value))

    def current_version(self) -> int:
        row = self.db.execute("SELECT max(version) FROM versions").fetchone()
        return int(row[0] or 0)

    def add_version(self, version: int, created_at: str, summary: dict) -> None:
        self.db.execute(
            "INSERT INTO versions(version, created_at, summary) VALUES (?, ?, ?)",
            (version, created_at, json.dumps(summary, sort_keys=True)),
        )

    def ensure_vectors(self, dim: int) -> None:
        """The vector table for `dim`-wide embeddings; a different width (another model)
        drops the old vectors, which the build then writes anew."""
        if self.meta("dim") not in (None, str(dim)):
            self.db.execute("DROP TABLE IF EXISTS chunk_vectors")
        # acl as the partition key: a search scans only the shards the caller may read
        # (about 2.6x faster than a metadata filter for 3 of 10 sets at 100k chunks)
        self.db.execute(
            "CREATE VIRTUAL TABLE IF NOT EXISTS chunk_vectors USING vec0("
            "id INTEGER PRIMARY KEY, acl INTEGER PARTITION KEY, "
            f"embedding float[{dim}] distance_metric=cosine)"
        )
        self.set_meta("dim", str(dim))

    # ---- access groups
    def acl_for(self, groups: tuple[str, ...]) -> int:
        key = json.dumps(sorted(groups))
        row = self.db.execute("SELECT acl FROM acls WHERE groups = ?", (key,)).fetchone()
        if row:
            return int(row[0])
        self.db.execute("INSERT INTO acls(groups) VALUES (?)", (key,))
        return int(self.db.last_insert_rowid())

    def readable_acls(self, groups: frozenset[str]) -> list[int]:
        """The group sets sharing at least one group with the caller's: what it may read."""
        return [
            int(acl)
            for acl, names in self.db.execute("SELECT acl, groups FROM acls")
            if groups & set(json.loads(names))
        ]

    # ---- documents
    def documents(self) -> dict[str, StoredDocument]:
        rows = self.db.execute(
            "SELECT d.doc, d.sha256, a.groups, d.title, d.chunks, d.version, d.masked "
            "FROM documents d JOIN acls a USING (acl) ORDER BY d.doc"
        )
        return {
            r[0]: StoredDocument(
                r[0], r[1], tuple(json.loads(r[2])), r[3], r[4], r[5], json.loads(r[6])
            )
            for r in rows
        }

    def delete_document(self, doc: str) -> None:
        ids = [r[0] for r in self.db.execute("SELECT id FROM chunks WHERE doc = ?", (doc,))]
        for chunk_id in ids:
            self.db.execute("DELETE FROM chunk_vectors WHERE id = ?", (chunk_id,))
            self.db.execute("DELETE FROM chunk_words WHERE rowid = ?", (chunk_id,))
        self.db.execute("DELETE FROM chunks WHERE doc = ?", (doc,))
        self.db.execute("DELETE FROM documents WHERE doc = ?", (doc,))

    def put_document(
        self,
        document: StoredDocument,
        chunks: list[Chunk],
        vectors: np.ndarray,
    ) -> None:
        """The document and its chunks, replacing what the index held for it."""
        self.delete_document(document.doc)
        acl = self.acl_for(document.groups)
        self.db.execute(
            "INSERT INTO documents(doc, sha256, acl, title, chunks, version, masked) "
            "VALUES (?, ?, ?, ?, ?, ?, ?)",
            (
                document.doc,
                document.sha256,
                acl,
                document.title,
                len(chunks),
                document.version,
                json.dumps(document.masked, sort_keys=True),
            ),
        )
        for chunk, vector in zip(chunks, vectors, strict=True):
            self.db.execute(
                'INSERT INTO chunks(doc, number, headings, start, "end", text, acl) '
                "VALUES (?, ?, ?, ?, ?, ?, ?)",
                (
                    chunk.doc,
                    chunk.number,
                    json.dumps(list(chunk.headings)),
                    chunk.start,
                    chunk.end,
                    chunk.text,
                    acl,
                ),
            )
            row = self.db.last_insert_rowid()
            self.db.execute(
                "INSERT INTO chunk_vectors(id, acl, embedding) VALUES (?, ?, ?)",
                (row, acl, np.asarray(vector, dtype=np.float32).tobytes()),
            )
            self.db.execute(
                "INSERT INTO chunk_words(rowid, text, acl) VALUES (?, ?, ?)",
                (row, chunk.embedded_text, acl),
            )

    def set_groups(self, doc: str, groups: tuple[str, ...], version: int) -> None:
        """New access groups for an unchanged document: no re-embedding needed."""
        acl = self.acl_for(groups)
        ids = [r[0] for r in self.db.execute("SELECT id FROM chunks WHERE doc = ?", (doc,))]
        for chunk_id in ids:
            # a partition key is not updated in place: the vector moves to its new shard
            (vector,) = self.db.execute(
                "SELECT embedding FROM chunk_vectors WHERE id = ?", (chunk_id,)
            ).fetchone()
            self.db.execute("DELETE FROM chunk_vectors WHERE id = ?", (chunk_id,))
            self.db.execute(
                "INSERT INTO chunk_vectors(id, acl, embedding) VALUES (?, ?, ?)",
                (chunk_id, acl, vector),
            )
            self.db.execute("UPDATE chunk_words SET acl = ? WHERE rowid = ?", (acl, chunk_id))
        self.db.execute("UPDATE chunks SET acl = ? WHERE doc = ?", (acl, doc))
        self.db.execute(
            "UPDATE documents SET acl = ?, version = ? WHERE doc = ?", (acl, version, doc)
        )

    def texts(self) -> Iterator[tuple[str, int, str]]:
        """(document, chunk number, text) of every chunk: what an erasure search reads."""
        yield from self.db.execute("SELECT doc, number, text FROM chunks ORDER BY doc, number")

    def chunk_count(self) -> int:
        return int(self.db.execute("SELECT count(*) FROM chunks").fetchone()[0])

    # ---- search: `acls` is a condition of each query, never a filter on its results; both
    # halves search the resident copy (resident.py), which scores only the readable rows
    def dense(self, vector: np.ndarray, acls: list[int], k: int) -> list[tuple[int, float]]:
        """(id, cosine similarity) of the k readable chunks nearest `vector`, nearest first."""
        if not acls:
            return []
        return self.resident().dense(vector, acls, k)

    def lexical(self, text: str, acls: list[int], k: int) -> list[tuple[int, float]]:
        """(id, BM25 score) of the k readable chunks ranked best by FTS5's bm25() for
        `lexical_query(text)`, best first."""
        words = query_words(text)
        if not acls or not words:
            return []
        phrases = [self._split(w.encode(), apsw.FTS5_TOKENIZE_QUERY, None) for w in words]
        if all(len(p) == 1 for p in phrases):
            return self.resident().lexical([p[0] for p in phrases], acls, k)
        return self.fts5_lexical(text, acls, k)  # a word FTS5 reads as a phrase ("a_b")

    def fts5_lexical(self, text: str, acls: list[int], k: int) -> list[tuple[int, float]]:
        """`lexical` by FTS5 itself: for a phrase of several tokens, and the tests' yardstick."""
        query = lexical_query(text)
        if not acls or not query:
            return []
        marks = ",".join("?" * len(acls))
        rows = self.db.execute(
            "SELECT rowid, bm25(chunk_words) FROM chunk_words WHERE chunk_words MATCH ? "
            f"AND acl IN ({marks}) ORDER BY bm25(chunk_words) LIMIT ?",
            (query, *acls, k),
        )
        return [(int(i), -float(s)) for i, s in rows]

    def chunks(self, ids: list[int]) -> dict[int, StoredChunk]:
        if not ids:
            return {}
        marks = ",".join("?" * len(ids))
        rows = self.db.execute(
            'SELECT c.id, c.doc, c.number, c.headings, c.start, c."end", c.text, a.groups '
            f"FROM chunks c JOIN acls a USING (acl) WHERE c.id IN ({marks})",
            ids,
        )
        return {
            int(r[0]): StoredChunk(
                int(r[0]),
                r[1],
                r[2],
                tuple(json.loads(r[3])),
                r[4],
                r[5],
                r[6],
                tuple(json.loads(r[7])),
            )
            for r in rows
        }
