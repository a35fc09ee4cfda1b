"""The knowledge-update check: in a copy of the knowledge base, rewrite some facts' values in
their documents, re-index (only the edited documents may be embedded again) and search again,
so that an edit to a document reaches answers without retraining anything."""

from __future__ import annotations

import shutil
import tempfile
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from tunesmith.config.knowledge import KnowledgeConfig, KnowledgeSource
from tunesmith.config.workspace import Workspace
from tunesmith.evaluate.knowledge_scoring import KnowledgeQuestion, changed_value, holds
from tunesmith.knowledge.documents import discover
from tunesmith.knowledge.index import build_index
from tunesmith.knowledge.retriever import Retriever
from tunesmith.knowledge.search import Hit
from tunesmith.knowledge.store import KnowledgeIndex
from tunesmith.models.sentence import SentenceModel


class UpdateCheckError(RuntimeError):
    """The re-index after the edits embedded other documents than the edited ones."""


@dataclass(frozen=True)
class Edit:
    index: int  # of the question among those evaluated
    question: KnowledgeQuestion
    new_value: str


def pick_edits(
    questions: Sequence[KnowledgeQuestion], texts: dict[str, str], count: int
) -> list[Edit]:
    """Up to `count` facts whose value (holding a number) occurs once in the whole knowledge
    base, so that after the edit no chunk may still hold it; each new value is new there too."""
    taken = "\n".join(texts.values())
    edits: list[Edit] = []
    for i, q in enumerate(questions):
        if len(edits) == count:
            break
        if q.doc not in texts or taken.count(q.value) != 1 or texts[q.doc].count(q.value) != 1:
            continue
        if any(e.question.value == q.value for e in edits):  # the same fact asked twice
            continue
        new = changed_value(q.value, taken)
        if new is not None:
            edits.append(Edit(i, q, new))
            taken += "\n" + new
    return edits


@contextmanager
def copied_knowledge(ws: Workspace, config: KnowledgeConfig) -> Iterator[tuple[Workspace, Any]]:
    """A throwaway workspace holding a copy of every source folder and its own SQLite index
    (whatever `knowledge.store` names), and the knowledge config pointing there."""
    with tempfile.TemporaryDirectory(prefix="tunesmith-kb-update-") as tmp:
        root = Path(tmp)
        sources = []
        for n, source in enumerate(config.sources):
            folder = Path(source.path) if Path(source.path).is_absolute() else ws.root / source.path
            shutil.copytree(folder, root / f"source-{n}")
            sources.append(KnowledgeSource(path=f"source-{n}", name=source.name))
        yield Workspace(root), config.model_copy(update={"sources": sources, "store": None})


def _files(ws: Workspace, config: KnowledgeConfig) -> dict[str, Path]:
    return {doc: file for doc, file, _ in discover(config, ws.root)}


def run_update(
    ws: Workspace,
    config: KnowledgeConfig,
    questions: Sequence[KnowledgeQuestion],
    count: int,
    model: SentenceModel | None,
    ask: Callable[[list[tuple[KnowledgeQuestion, list[Hit]]]], list[str]],
) -> tuple[dict[str, Any], list[tuple[Edit, list[Hit], str]]]:
    """Index a copy, edit `count` facts, re-index, search and `ask` (answers by the caller's
    setting) again; the summary of the re-index and each edit with its new hits and answer."""
    with copied_knowledge(ws, config) as (tmp_ws, tmp_config):
        files = _files(tmp_ws, tmp_config)
        texts = {doc: f.read_text(encoding="utf-8", errors="replace") for doc, f in files.items()}
        edits = pick_edits(questions, texts, count)
        first = build_index(tmp_ws, tmp_config, model=model)
        edited_texts = dict(texts)
        for edit in edits:  # several edits of one document add up
            doc = edit.question.doc
            edited_texts[doc] = edited_texts[doc].replace(edit.question.value, edit.new_value)
        for doc in {e.question.doc for e in edits}:
            files[doc].write_text(edited_texts[doc], encoding="utf-8")
        second = build_index(tmp_ws, tmp_config, model=model)
        edited = {e.question.doc for e in edits}
        # only the edited documents' chunks may be embedded again: the index is incremental
        chunks = {doc: d.chunks for doc, d in _documents(tmp_ws).items() if doc in edited}
        if second.updated != len(edited) or second.embedded != sum(chunks.values()):
            raise UpdateCheckError(
                f"re-index after editing {len(edited)} documents updated {second.updated} and "
                f"embedded {second.embedded} chunks (expected {sum(chunks.values())})"
            )
        index = KnowledgeIndex(tmp_ws.knowledge_dir / "index.db")
        retriever = Retriever(index, model, tmp_config)
        try:
            hits = [
                retriever.search(e.question.question, e.question.groups, tmp_config.retrieval.top_k)
                for e in edits
            ]
            asked = [(e.question, h) for e, h in zip(edits, hits, strict=True)]
            answers = ask(asked) if edits else []
        finally:
            retriever.close()
    summary = {
        "edited_facts": len(edits),
        "edited_documents": sorted(edited),
        "first_build_embedded": first.embedded,
        "reindex": {
            "updated": second.updated,
            "unchanged": second.unchanged,
            "embedded": second.embedded,
            "seconds": round(second.seconds, 3),
        },
        "hits_with_new_value": _share(hits, edits, lambda e: e.new_value),
        "hits_with_old_value": _share(hits, edits, lambda e: e.question.value),
    }
    return summary, list(zip(edits, hits, answers, strict=True))


def _documents(ws: Workspace) -> dict[str, Any]:
    index = KnowledgeIndex(ws.knowledge_dir / "index.db")
    try:
        return index.documents()
    finally:
        index.close()


def _share(hits: list[list[Hit]], edits: list[Edit], value: Callable[[Edit], str]) -> float:
    """The share of edited facts whose retrieved chunks hold the value."""
    found = [
        any(holds(h.chunk.text, value(e)) for h in hit) for hit, e in zip(hits, edits, strict=True)
    ]
    return sum(found) / len(found) if found else 0.0


def as_edited(question: KnowledgeQuestion, edit: Edit) -> KnowledgeQuestion:
    """The question with the new value as gold (and the fact as it now reads)."""
    fact = question.fact.replace(question.value, edit.new_value)
    return replace(question, value=edit.new_value, fact=fact)
