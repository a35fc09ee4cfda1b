from __future__ import annotations

import json

import pytest

from tunesmith.config import KnowledgeConfig
from tunesmith.config.workspace import Workspace
from tunesmith.knowledge.index import build_index, index_path, on_server, open_index
from tunesmith.knowledge.retriever import IndexMismatch, open_retriever
from tunesmith.models import sentence
from tunesmith.store import audit

Kb = tuple[Workspace, KnowledgeConfig]


def _texts(ws: Workspace, config: KnowledgeConfig) -> dict[str, str]:
    """Each document's chunk texts joined by '|', read through the backend-neutral texts()."""
    index = open_index(ws, config)
    try:
        joined: dict[str, list[str]] = {}
        for doc, _, text in index.texts():
            joined.setdefault(doc, []).append(text)
        return {doc: "|".join(texts) for doc, texts in joined.items()}
    finally:
        index.close()


def test_first_build_indexes_documents_with_groups_and_reports_the_rest(kb_workspace: Kb) -> None:
    ws, config = kb_workspace
    report = build_index(ws, config)
    assert (report.added, report.updated, report.deleted, report.unchanged) == (3, 0, 0, 0)
    assert report.skipped == [{"doc": "notes.txt", "reason": report.skipped[0]["reason"]}]
    assert "deny by default" in report.skipped[0]["reason"]
    # every file is accounted for: indexed or skipped with a reason
    files = [p for p in (ws.root / "kb").rglob("*") if p.is_file() and p.name != "_access.yaml"]
    assert report.added + len(report.skipped) == len(files)
    assert report.chunks == report.embedded > 0
    manifest = json.loads((ws.root / report.manifest).read_text())
    by_doc = {d["doc"]: d for d in manifest["documents"]}
    assert set(by_doc) == {"public/refunds.md", "internal/leave.md", "internal/bonus.md"}
    assert by_doc["public/refunds.md"]["groups"] == ["staff", "support"]
    assert len(by_doc["internal/leave.md"]["sha256"]) == 64
    assert sum(d["chunks"] for d in by_doc.values()) == report.chunks
    assert (
        manifest["embedding"]["sha256"]
        == sentence.load_sentence_model(config.embedding.model).digest
    )
    entry = audit.entries(audit.audit_path(ws.state_dir))[-1]
    assert entry.action == "kb.index" and entry.subject == "knowledge@1"


def test_personal_data_is_masked_before_it_reaches_the_index(kb_workspace: Kb) -> None:
    ws, config = kb_workspace
    report = build_index(ws, config)
    if on_server(config):  # no file: every table the build wrote, as text
        index = open_index(ws, config)
        try:
            tables = ["meta", "acls", "documents", "chunks", "versions"]
            data = "".join(
                str(index.db.execute(f"SELECT array_agg(t::text) FROM {t} AS t").fetchone())
                for t in tables
            ).encode()
        finally:
            index.close()
    else:
        data = index_path(ws, config).read_bytes()
        wal = index_path(ws, config).with_name("index.db-wal")
        data += wal.read_bytes() if wal.exists() else b""
    assert b"maria.lopez@example.com" not in data and b"maria.lopez" not in data
    assert b"EMAIL_ADDRESS_1" in data  # what the check reads does hold the chunks
    assert "<EMAIL_ADDRESS_1>" in _texts(ws, config)["public/refunds.md"]
    manifest = (ws.root / report.manifest).read_text()
    assert "maria.lopez" not in manifest and '"EMAIL_ADDRESS": 1' in manifest


def test_rebuilds_embed_only_what_changed_and_forget_what_is_gone(kb_workspace: Kb) -> None:
    ws, config = kb_workspace
    first = build_index(ws, config)
    again = build_index(ws, config)
    assert (again.unchanged, again.embedded, again.version) == (3, 0, first.version + 1)

    refunds = ws.root / "kb/public/refunds.md"
    refunds.write_text(refunds.read_text().replace("30 days", "45 days"))
    (ws.root / "kb/internal/bonus.md").unlink()
    (ws.root / "kb/public/shipping.md").write_text("# Shipping\n\nOrders ship in 2 days.\n")
    changed = build_index(ws, config)
    assert (changed.added, changed.updated, changed.deleted, changed.unchanged) == (1, 1, 1, 1)
    texts = _texts(ws, config)
    refund_chunks = texts["public/refunds.md"].count("|") + 1
    assert changed.embedded == refund_chunks + 1  # the edited document and the new one only
    assert "45 days" in texts["public/refunds.md"] and "30 days" not in texts["public/refunds.md"]
    assert "internal/bonus.md" not in texts


def test_new_groups_on_an_unchanged_document_move_it_without_re_embedding(
    kb_workspace: Kb,
) -> None:
    ws, config = kb_workspace
    build_index(ws, config)
    (ws.root / "kb/public/_access.yaml").write_text("groups: [hr]\n")
    report = build_index(ws, config)
    assert (report.updated, report.embedded) == (1, 0)
    retriever = open_retriever(ws, config)
    try:
        assert retriever.search("refund window", ["support"]) == []
        assert {h.chunk.doc for h in retriever.search("refund window", ["hr"])} >= {
            "public/refunds.md"
        }
    finally:
        retriever.close()


def test_a_failed_build_leaves_the_previous_version_whole(
    kb_workspace: Kb, monkeypatch: pytest.MonkeyPatch
) -> None:
    ws, config = kb_workspace
    build_index(ws, config)
    before = _texts(ws, config)
    refunds = ws.root / "kb/public/refunds.md"
    refunds.write_text(refunds.read_text().replace("30 days", "45 days"))
    (ws.root / "kb/public/new.md").write_text("# New\n\nnew text\n")
    (ws.root / "kb/internal/bonus.md").unlink()
    calls = {"n": 0}
    probe = open_index(ws, config)
    index_class = type(probe)
    probe.close()
    real = index_class.put_document

    def failing(self, document, chunks, vectors):  # the first document is written, then...
        calls["n"] += 1
        if calls["n"] == 2:
            raise RuntimeError("power cut")
        return real(self, document, chunks, vectors)

    monkeypatch.setattr(index_class, "put_document", failing)
    with pytest.raises(RuntimeError, match="power cut"):
        build_index(ws, config)
    assert _texts(ws, config) == before
    index = open_index(ws, config)
    assert index.current_version() == 1
    index.close()


def test_the_retriever_refuses_an_index_built_with_another_model(kb_workspace: Kb) -> None:
    ws, config = kb_workspace
    with pytest.raises(FileNotFoundError, match="run `tunesmith kb index`"):
        open_retriever(ws, config)
    build_index(ws, config)
    other = config.model_copy(
        update={"embedding": config.embedding.model_copy(update={"model": "all-MiniLM-L6-v2"})}
    )
    with pytest.raises(IndexMismatch, match="built with embedding model"):
        open_retriever(ws, other)
