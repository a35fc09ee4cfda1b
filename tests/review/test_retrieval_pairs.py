"""`tunesmith kb pairs`: reviewed answers with sources become embedding pairs of the question
and the documents the answer cites; everything else is counted, not paired."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from tests.kb_assets import write_kb
from tests.store_rows import add_interaction
from tunesmith.cli import app
from tunesmith.config import TaskConfig, load_knowledge_config
from tunesmith.config.workspace import Workspace
from tunesmith.knowledge.index import build_index, open_index
from tunesmith.review import queue as review
from tunesmith.review.retrieval_pairs import export_retrieval_pairs
from tunesmith.store.db import open_store
from tunesmith.train.embedding_pairs import knowledge_corpus, read_pairs

TASK = TaskConfig(type="generation")


def retrieved(*chunks: str) -> dict:
    listed = [{"id": c, "score": 0.5, "span": [0, 10]} for c in chunks]
    return {"index_version": 1, "chunks": listed, "refused": not chunks}


@pytest.fixture
def ws(tmp_path: Path, tiny_embedder: Path, monkeypatch: pytest.MonkeyPatch) -> Workspace:
    monkeypatch.setenv("TUNESMITH_ACTOR", "ci")
    root = tmp_path / "ws"
    write_kb(root)
    (root / "tunesmith.yaml").write_text(
        "knowledge:\n  sources: [{path: kb}]\n  groups: [staff, support, hr, exec]\n"
        f"  embedding: {{model: {tiny_embedder}}}\n"
        "  chunking: {max_tokens: 32, overlap_tokens: 8}\n  pii: 'off'\n"
    )
    workspace = Workspace(root)
    build_index(workspace, load_knowledge_config(workspace.config_path))
    return workspace


def _chunk_ids(ws: Workspace) -> set[str]:
    index = open_index(ws, load_knowledge_config(ws.config_path))
    try:
        return {f"{doc}#{number}" for doc, number, _ in index.texts()}
    finally:
        index.close()


def test_vouched_answers_with_citations_become_pairs_and_the_rest_is_counted(
    ws: Workspace,
) -> None:
    chunks = sorted(_chunk_ids(ws))
    refund = next(c for c in chunks if "refunds" in c)
    leave = next(c for c in chunks if "leave" in c)
    engine = open_store(ws.state_url())
    cases = [  # (id, question, answer, retrieval, reasons, decision, correction)
        ("marked", "How long is the refund window?", "Within 30 days. [1]", retrieved(refund),
         ["low_confidence"], "accept", None),
        ("corrected", "How much parental leave is there?", "I do not know.", retrieved(leave),
         ["low_confidence"], "correct", "Employees receive 20 weeks of paid parental leave."),
        ("rejected", "Refunds?", "Within 30 days. [1]", retrieved(refund),
         ["low_confidence"], "reject", None),
        ("audited", "Refund window?", "Within 30 days. [1]", retrieved(refund),
         ["audit_sample"], "accept", None),
        ("refusal", "Bonus pool?", "I cannot answer that.", retrieved(), ["low_confidence"],
         "accept", None),
        ("unrelated", "What is the weather?", "Sunny all week long today.", retrieved(refund),
         ["low_confidence"], "accept", None),
        ("gone", "Old policy?", "As it said. [1]", retrieved("public/removed.md#0"),
         ["low_confidence"], "accept", None),
    ]  # fmt: skip
    for row_id, question, answer, found, *_ in cases:
        add_interaction(engine, row_id, question, answer, retrieval=found)
    review.enqueue(engine, [review.Candidate(c[0], "m", c[4], 0.1) for c in cases])
    for row_id, *_, decision, correction in cases:
        item = review.claim_next(engine, "ana", 60)
        assert item is not None and item.interaction_id == row_id
        review.decide(engine, item.id, "ana", decision, task=TASK, correction=correction)
    result = export_retrieval_pairs(ws, load_knowledge_config(ws.config_path))
    assert result.counts == {
        "not_vouched": 1, "audit_sample": 1, "no_retrieval": 0, "refused": 1, "uncited": 2,
        "paired": 2,
    }  # fmt: skip
    assert sum(result.counts.values()) == len(cases)  # every decided item is counted once
    rows = [json.loads(line) for line in result.path.read_text().splitlines()]
    assert [(r["query"], r["doc"]) for r in rows] == [
        ("How long is the refund window?", "public/refunds.md"),
        ("How much parental leave is there?", "internal/leave.md"),  # from the correction
    ]
    # the file is what train.embedding.pairs reads
    config = load_knowledge_config(ws.config_path)
    from tunesmith.models.sentence import load_sentence_model

    corpus = knowledge_corpus(
        ws.root, config, load_sentence_model(config.embedding.model).tokenizer
    )
    pairs = read_pairs(result.path, corpus, config)
    assert [p.gold for p in pairs] == [("public/refunds.md",), ("internal/leave.md",)]


def test_kb_pairs_command_prints_the_counts(ws: Workspace) -> None:
    out = ws.root / "pairs.jsonl"
    result = CliRunner().invoke(
        app, ["kb", "pairs", "--out", str(out), "--json", "-w", str(ws.root)]
    )
    assert result.exit_code == 0, result.output
    summary = json.loads(result.output.strip().splitlines()[-1])
    assert summary["pairs"] == 0 and summary["path"] == str(out) and out.read_text() == ""
