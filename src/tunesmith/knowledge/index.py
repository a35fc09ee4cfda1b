"""`tunesmith kb index`: incremental by content hash. Only new or changed documents are parsed,
masked and embedded; removed (or now unreadable) ones leave the index; every build is a version
with a manifest, a report naming each skipped file and why, and an audit entry."""

from __future__ import annotations

import dataclasses
import os
import time
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from tunesmith.config.data import PiiConfig
from tunesmith.config.knowledge import KnowledgeConfig
from tunesmith.config.workspace import Workspace
from tunesmith.knowledge.chunking import Chunk, chunk_document
from tunesmith.knowledge.documents import Document, Skipped, discover, read_document
from tunesmith.knowledge.store import KnowledgeIndex, StoredDocument
from tunesmith.models.sentence import SentenceModel, load_sentence_model
from tunesmith.store import audit
from tunesmith.store.clock import utc_timestamp
from tunesmith.store.files import sha256_file, write_json_atomic

if TYPE_CHECKING:
    from tunesmith.knowledge.pg_store import PostgresIndex

Progress = Callable[[str, int], None]
# chunks gathered before one embedding call: full batches, bounded memory
_EMBED_AT_ONCE = 2048


def on_server(config: KnowledgeConfig) -> bool:
    """Whether `knowledge.store` names a PostgreSQL server rather than a SQLite file."""
    return config.store is not None and config.store.startswith("postgresql:")


def index_path(workspace: Workspace, config: KnowledgeConfig) -> Path:
    """The index file: `knowledge.store` (sqlite:///path, relative to the workspace) or the
    default under `.tunesmith/knowledge/`. A server index has none."""
    if config.store is None:
        return workspace.knowledge_dir / "index.db"
    if on_server(config):
        raise ValueError("knowledge.store names a PostgreSQL server: the index has no file")
    return workspace.resolve(config.store.split(":///", 1)[1])


def open_index(workspace: Workspace, config: KnowledgeConfig) -> KnowledgeIndex | PostgresIndex:
    """The index `knowledge.store` names, its tables created if missing."""
    if on_server(config):
        from tunesmith.knowledge.pg_store import PostgresIndex

        return PostgresIndex(str(config.store))
    return KnowledgeIndex(index_path(workspace, config))


@dataclass
class IndexReport:
    version: int
    added: int = 0
    updated: int = 0
    deleted: int = 0
    unchanged: int = 0
    skipped: list[dict[str, str]] = field(default_factory=list)
    chunks: int = 0  # in the index after the build
    embedded: int = 0  # chunks embedded by this build
    seconds: float = 0.0
    embedding_model: str = ""
    manifest: str = ""

    def summary(self) -> dict[str, Any]:
        """The one JSON line of `kb index --json`."""
        return {
            "version": self.version,
            "added": self.added,
            "updated": self.updated,
            "deleted": self.deleted,
            "unchanged": self.unchanged,
            "skipped": len(self.skipped),
            "chunks": self.chunks,
            "embedded": self.embedded,
            "seconds": round(self.seconds, 3),
            "embedding_model": self.embedding_model,
            "manifest": self.manifest,
        }


def masker_for(config: KnowledgeConfig) -> Any:
    """The curate masker as `knowledge.pii` and `pii_entities` configure it; None when off.
    Whatever reads documents as the index holds them (training pairs, evaluation) uses it."""
    if config.pii == "off":
        return None
    from tunesmith.data.pii import PiiMasker

    pii = PiiConfig(mode=config.pii, entities=config.pii_entities)
    key = os.environ.get(pii.pseudonym_key_env, "").encode() or None
    return PiiMasker(pii, key)


def mask_document(document: Document, masker: Any) -> tuple[Document, dict[str, int]]:
    """The document with its personal data masked, and the count per entity type."""
    if masker is None:
        return document, {}
    fields, counts = masker.mask({"text": document.text})
    return dataclasses.replace(document, text=fields["text"]), dict(Counter(counts))


def indexed_chunks(
    root: Path, config: KnowledgeConfig, tokenizer: Any
) -> Iterator[tuple[Document, list[Chunk]]]:
    """Every readable document with its chunks exactly as a build indexes them (masked and
    cut the same way); skipped files are left out."""
    masker = masker_for(config)
    access: dict[Path, list[str] | None] = {}
    for doc, file, source in discover(config, root):
        parsed = read_document(doc, file, source, config, access)
        if isinstance(parsed, Skipped):
            continue
        document, _ = mask_document(parsed, masker)
        yield document, chunk_document(document, tokenizer, config.chunking)


def build_index(
    workspace: Workspace,
    config: KnowledgeConfig,
    progress: Progress | None = None,
    model: SentenceModel | None = None,
) -> IndexReport:
    """Bring the index up to the source folders in one transaction and record the version."""
    started = time.perf_counter()
    tick = progress or (lambda stage, n: None)
    model = model or load_sentence_model(config.embedding.model, workspace.root)
    index = open_index(workspace, config)
    try:
        with index.transaction():
            report = _apply(workspace, config, index, model, tick)
            report.seconds = time.perf_counter() - started
            _write_version(workspace, config, index, model, report)
    finally:
        index.close()
    return report


def _apply(
    workspace: Workspace,
    config: KnowledgeConfig,
    index: KnowledgeIndex,
    model: SentenceModel,
    tick: Progress,
) -> IndexReport:
    version = index.current_version() + 1
    report = IndexReport(version=version, embedding_model=model.name)
    # another embedding model makes every stored vector stale
    same_model = index.meta("embedding_digest") == model.digest
    # the stored width spares loading the model when nothing needs embedding
    known = index.meta("dim")
    index.ensure_vectors(int(known) if same_model and known else model.dim)
    stored = index.documents() if same_model else {}
    if not same_model:
        for doc in index.documents():
            index.delete_document(doc)
    index.set_meta("embedding_model", model.name)
    index.set_meta("embedding_digest", model.digest)
    masker = None
    pending: list[tuple[StoredDocument, list[Chunk]]] = []
    seen: set[str] = set()
    access: dict[Path, list[str] | None] = {}
    for doc, file, source in discover(config, workspace.root):
        seen.add(doc)
        parsed = read_document(doc, file, source, config, access)
        tick("read", 1)
        if isinstance(parsed, Skipped):
            report.skipped.append({"doc": parsed.doc, "reason": parsed.reason})
            if doc in stored:  # what can no longer be read validly is not served
                index.delete_document(doc)
                report.deleted += 1
            continue
        before = stored.get(doc)
        if before is not None and before.sha256 == parsed.sha256:
            if before.groups != parsed.groups:
                index.set_groups(doc, parsed.groups, version)
                report.updated += 1
            else:
                report.unchanged += 1
            continue
        masker = masker or masker_for(config)
        document, masked = mask_document(parsed, masker)
        chunks = chunk_document(document, model.tokenizer, config.chunking)
        stored_as = StoredDocument(
            doc, parsed.sha256, parsed.groups, parsed.title, len(chunks), version, masked
        )
        pending.append((stored_as, chunks))
        if before is None:
            report.added += 1
        else:
            report.updated += 1
        if sum(len(c) for _, c in pending) >= _EMBED_AT_ONCE:
            report.embedded += _embed_and_store(index, model, config, pending, tick)
    report.embedded += _embed_and_store(index, model, config, pending, tick)
    for doc in sorted(set(stored) - seen):
        index.delete_document(doc)
        report.deleted += 1
    report.chunks = index.chunk_count()
    return report


def _embed_and_store(
    index: KnowledgeIndex,
    model: SentenceModel,
    config: KnowledgeConfig,
    pending: list[tuple[StoredDocument, list[Chunk]]],
    tick: Progress,
) -> int:
    """Embed the chunks of many documents in full batches (a document alone fills few), store
    each document with its vectors, and empty `pending`; how many chunks were embedded."""
    texts = [c.embedded_text for _, chunks in pending for c in chunks]
    vectors = model.encode(texts, config.embedding.batch_size)
    at = 0
    for document, chunks in pending:
        index.put_document(document, chunks, vectors[at : at + len(chunks)])
        at += len(chunks)
    tick("embed", len(texts))
    pending.clear()
    return len(texts)


def _write_version(
    workspace: Workspace,
    config: KnowledgeConfig,
    index: KnowledgeIndex,
    model: SentenceModel,
    report: IndexReport,
) -> None:
    """The manifest and report files first, then the version row and the audit entry; the
    caller's transaction commits after, so a version in the index always has its files."""
    folder = workspace.knowledge_dir / "versions" / str(report.version)
    documents = index.documents()
    manifest = {
        "version": report.version,
        "created_at": utc_timestamp(),
        "index": str(index.path),
        "embedding": {
            "model": model.name,
            "sha256": model.digest,
            "dim": int(index.meta("dim") or 0),
        },
        "chunking": config.chunking.model_dump(),
        "pii": config.pii,
        "documents": [
            {
                "doc": d.doc,
                "sha256": d.sha256,
                "groups": list(d.groups),
                "chunks": d.chunks,
                "indexed_in": d.version,
                "masked": d.masked,  # counts per entity type, never the values
            }
            for d in documents.values()
        ],
        "skipped": report.skipped,
    }
    folder.mkdir(parents=True, exist_ok=True)
    write_json_atomic(folder / "manifest.json", manifest)
    report.manifest = str((folder / "manifest.json").relative_to(workspace.root))
    write_json_atomic(folder / "report.json", report.summary() | {"skipped_files": report.skipped})
    index.add_version(report.version, manifest["created_at"], report.summary())
    audit.append(
        audit.audit_path(workspace.state_dir),
        "kb.index",
        f"knowledge@{report.version}",
        inputs={"embedding_model": model.digest},
        outputs={"manifest": sha256_file(folder / "manifest.json")},
        details=report.summary(),
    )
