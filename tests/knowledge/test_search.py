from __future__ import annotations

from pathlib import Path

import pytest

from tunesmith.config import KnowledgeConfig
from tunesmith.config.knowledge import RetrievalConfig
from tunesmith.config.workspace import Workspace
from tunesmith.knowledge.index import build_index
from tunesmith.knowledge.retriever import open_retriever
from tunesmith.knowledge.search import QueryFileError, fuse, read_queries
from tunesmith.knowledge.store import lexical_query

Kb = tuple[Workspace, KnowledgeConfig]
QUERIES = [
    "how long is parental leave",
    "refund window after delivery",
    "executive bonus pool percent",
    "gift cards refunded",
    "weeks before the birth",
]
CALLERS = [(), ("support",), ("staff",), ("hr",), ("exec",), ("hr", "support"), ("nobody",)]
DOC_GROUPS = {
    "public/refunds.md": {"staff", "support"},
    "internal/leave.md": {"hr"},
    "internal/bonus.md": {"exec"},
}


@pytest.mark.parametrize("mode", ["hybrid", "dense", "lexical"])
def test_no_result_comes_from_a_document_outside_the_callers_groups(
    kb_workspace: Kb, mode: str
) -> None:
    ws, config = kb_workspace
    build_index(ws, config)
    config = config.model_copy(update={"retrieval": RetrievalConfig(mode=mode, top_k=10)})
    retriever = open_retriever(ws, config)
    try:
        returned = 0
        for caller in CALLERS:
            for query in QUERIES:
                for hit in retriever.search(query, caller):
                    returned += 1
                    assert DOC_GROUPS[hit.chunk.doc] & set(caller), (caller, query, hit.url)
        assert returned > 0
        # a caller without groups, or with groups no document has, reads nothing at all
        assert all(retriever.search(q, ()) == [] for q in QUERIES)
        assert all(retriever.search(q, ("nobody",)) == [] for q in QUERIES)
    finally:
        retriever.close()


def test_the_reader_of_a_group_finds_its_document(kb_workspace: Kb) -> None:
    ws, config = kb_workspace
    build_index(ws, config)
    retriever = open_retriever(ws, config)
    try:
        hits = retriever.search("parental leave weeks", ("hr",))
        assert hits[0].chunk.doc == "internal/leave.md"
        assert hits[0].url == "kb://internal/leave.md#0"
        assert hits[0].lexical_rank == 1
        found = hits[0].to_json()
        assert found["doc"] == "internal/leave.md" and "20 weeks" in found["text"]
        # the support caller asking the same question gets only what it may read
        assert {h.chunk.doc for h in retriever.search("parental leave weeks", ("support",))} <= {
            "public/refunds.md"
        }
    finally:
        retriever.close()


def test_reciprocal_rank_fusion_rewards_agreement() -> None:
    fused = dict(fuse([[1, 2, 3], [3, 1]], k=60))
    assert fused[1] == pytest.approx(1 / 61 + 1 / 62)
    assert fused[3] == pytest.approx(1 / 63 + 1 / 61)
    assert fused[2] == pytest.approx(1 / 62)
    assert [item for item, _ in fuse([[1, 2, 3], [3, 1]], k=60)] == [1, 3, 2]


def test_query_words_are_quoted_not_read_as_fts_syntax() -> None:
    # quoted words, stop words ("or", "a") dropped unless nothing else is left
    assert lexical_query('refund OR "x" NEAR(a b) -c*') == '"refund" OR "x" OR "near" OR "b" OR "c"'
    assert lexical_query("what is it") == '"what" OR "is" OR "it"'
    assert lexical_query("?!") == ""


def test_a_bad_queries_line_names_the_file_line_and_field(tmp_path: Path) -> None:
    path = tmp_path / "q.jsonl"
    path.write_text('{"query": "a", "groups": ["hr"]}\n\n{"query": "b", "groups": "hr"}\n')
    with pytest.raises(QueryFileError, match=r"q.jsonl:3: field 'groups'"):
        read_queries(path)
    path.write_text('{"query": 1}\n')
    with pytest.raises(QueryFileError, match=r"q.jsonl:1: field 'query'"):
        read_queries(path)
    path.write_text('{"query": "a", "groups": ["hr"]}\n{"query": "b"}\n')
    assert [(q.query, q.groups) for q in read_queries(path)] == [("a", ("hr",)), ("b", ())]
