"""Retrieval metrics against hand-computed values, and rankings kept to the caller's groups."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pytest

from tunesmith.evaluate.retrieval import (
    CorpusChunk,
    EvalQuery,
    delta_points,
    evaluate_embeddings,
    mrr_at_k,
    ndcg_at_k,
    query_metrics,
    rank,
    read_corpus,
    read_eval_queries,
    recall_at_k,
    report_markdown,
    write_jsonl,
)


class TableEncoder:
    """Vectors looked up by text: rankings follow from the table alone."""

    def __init__(self, table: dict[str, list[float]]) -> None:
        self.table = table

    def encode(self, texts: list[str], batch_size: int = 64) -> np.ndarray:
        rows = np.array([self.table[t] for t in texts], dtype=np.float32)
        return rows / np.linalg.norm(rows, axis=1, keepdims=True)


def test_metrics_match_hand_computed_values() -> None:
    ranking = ["a", "b", "c", "d"]
    gold = {"b", "d"}
    assert recall_at_k(ranking, gold, 1) == 0.0
    assert recall_at_k(ranking, gold, 2) == 0.5
    assert recall_at_k(ranking, gold, 5) == 1.0
    assert mrr_at_k(ranking, gold) == 0.5
    # DCG = 1/log2(3) + 1/log2(5) = 1.06161; ideal = 1 + 1/log2(3) = 1.63093
    assert ndcg_at_k(ranking, gold) == pytest.approx(0.650921, abs=1e-6)
    assert ndcg_at_k(["x", "y", "g"], {"g"}) == pytest.approx(0.5)  # 1 / log2(4)
    assert mrr_at_k(["x", "y", "g"], {"g"}) == pytest.approx(1 / 3)


def test_gold_past_the_cutoff_scores_nothing() -> None:
    ranking = [f"c{i}" for i in range(12)]
    assert ndcg_at_k(ranking, {"c10"}) == 0.0
    assert mrr_at_k(ranking, {"c10"}) == 0.0
    assert recall_at_k(ranking, {"c10"}, 10) == 0.0
    assert query_metrics(ranking, {"c0"}) == {
        "recall@1": 1.0,
        "recall@5": 1.0,
        "recall@10": 1.0,
        "mrr@10": 1.0,
        "ndcg@10": 1.0,
    }
    # ideal DCG counts at most k gold items
    assert ndcg_at_k(ranking[:10], set(ranking)) == pytest.approx(1.0)
    assert ndcg_at_k(ranking, set()) == 0.0


CORPUS = [
    CorpusChunk("hr/leave.md#0", "hr/leave.md", "leave", ("hr",)),
    CorpusChunk("hr/leave.md#1", "hr/leave.md", "sick", ("hr",)),
    CorpusChunk("exec/bonus.md#0", "exec/bonus.md", "bonus", ("exec",)),
    CorpusChunk("both/pay.md#0", "both/pay.md", "pay", ("exec", "hr")),
]
# the query sits nearest the exec-only chunk, then pay, then leave, then sick
TABLE = {
    "bonus": [1.0, 0.0, 0.0],
    "pay": [0.9, 0.3, 0.0],
    "leave": [0.5, 0.8, 0.0],
    "sick": [0.0, 0.2, 1.0],
    "how much?": [1.0, 0.1, 0.0],
}


def test_a_query_ranks_only_what_its_groups_may_read() -> None:
    model = TableEncoder(TABLE)
    hr = EvalQuery("how much?", ("hr/leave.md#0",), ("hr",))
    exec_ = EvalQuery("how much?", ("exec/bonus.md#0",), ("exec",))
    nobody = EvalQuery("how much?", ("exec/bonus.md#0",), ())
    rankings = rank(model, [hr, exec_, nobody], CORPUS)
    assert rankings[0] == ["both/pay.md#0", "hr/leave.md#0", "hr/leave.md#1"]
    assert rankings[1] == ["exec/bonus.md#0", "both/pay.md#0"]
    assert rankings[2] == []


def test_document_level_ranks_each_document_once_at_its_best_chunk() -> None:
    query = EvalQuery("how much?", ("hr/leave.md",), ("hr",), "doc")
    assert rank(TableEncoder(TABLE), [query], CORPUS) == [["both/pay.md", "hr/leave.md"]]


def test_evaluate_embeddings_side_by_side_overall_and_per_group() -> None:
    stock = TableEncoder(TABLE)
    # the tuned table moves leave next to the query
    tuned = TableEncoder(TABLE | {"leave": [1.0, 0.05, 0.0]})
    queries = [
        EvalQuery("how much?", ("hr/leave.md#0",), ("hr",)),
        EvalQuery("how much?", ("exec/bonus.md#0",), ("exec",)),
    ]
    result = evaluate_embeddings(stock, tuned, queries, CORPUS, ["hr", "exec", "legal"])
    assert result["models"] == ["stock", "tuned"]
    # hr: stock puts leave second (0.5 MRR, nDCG 1/log2(3)); tuned puts it first
    assert result["groups"]["hr"]["queries"] == 1
    assert result["groups"]["hr"]["stock"]["mrr@10"] == 0.5
    assert result["groups"]["hr"]["stock"]["ndcg@10"] == pytest.approx(1 / math.log2(3))
    assert result["groups"]["hr"]["tuned"]["recall@1"] == 1.0
    assert result["groups"]["exec"]["stock"]["ndcg@10"] == 1.0
    assert result["groups"]["legal"] == {
        "queries": 0,
        "stock": dict.fromkeys(result["overall"]["stock"], 0.0),
        "tuned": dict.fromkeys(result["overall"]["stock"], 0.0),
    }
    assert result["overall"]["stock"]["recall@1"] == 0.5
    assert result["overall"]["tuned"]["recall@1"] == 1.0
    expected = 100 * (1.0 - (1 / math.log2(3) + 1.0) / 2)
    assert delta_points(result) == pytest.approx(expected)
    assert "| group hr | 1 |" in report_markdown(result, "t")


def test_corpus_and_queries_round_trip(tmp_path: Path) -> None:
    queries = [EvalQuery("q", ("a.md",), ("hr", "exec"), "doc")]
    write_jsonl(tmp_path / "c.jsonl", CORPUS)
    write_jsonl(tmp_path / "q.jsonl", queries)
    assert read_corpus(tmp_path / "c.jsonl") == CORPUS
    assert read_eval_queries(tmp_path / "q.jsonl") == queries
