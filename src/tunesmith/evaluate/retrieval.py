"""Retrieval metrics of an embedding model: recall@k, MRR@10 and nDCG@10 of held-out queries
ranked over a knowledge base's chunks, each query seeing only the chunks its caller's groups may
read, two models side by side (stock and tuned), overall and per access group."""

from __future__ import annotations

import json
import math
from collections.abc import Iterable, Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any, Literal, Protocol

import numpy as np

from tunesmith.store import audit
from tunesmith.store.clock import utc_timestamp
from tunesmith.store.files import sha256_file, write_atomic, write_json_atomic
from tunesmith.store.runs import EMBEDDING_KIND, embedding_manifest

RECALL_KS = (1, 5, 10)
CUTOFF = 10  # of MRR and nDCG
METRICS = ("recall@1", "recall@5", "recall@10", "mrr@10", "ndcg@10")


class Encoder(Protocol):
    def encode(self, texts: list[str], batch_size: int = 64) -> np.ndarray: ...


@dataclass(frozen=True)
class CorpusChunk:
    chunk_id: str  # `<doc>#<number>`, as the index names it
    doc: str
    text: str  # what is embedded: the heading trail and the chunk text
    groups: tuple[str, ...]
    headings: tuple[str, ...] = ()


@dataclass(frozen=True)
class EvalQuery:
    query: str
    gold: tuple[str, ...]  # chunk ids (level chunk) or document paths (level doc)
    groups: tuple[str, ...]  # the caller's groups: only chunks sharing one are ranked
    level: Literal["chunk", "doc"] = "chunk"


def recall_at_k(ranking: Sequence[str], gold: Iterable[str], k: int) -> float:
    """The share of the gold items among the first k."""
    relevant = set(gold)
    if not relevant:
        return 0.0
    return len(relevant & set(ranking[:k])) / len(relevant)


def mrr_at_k(ranking: Sequence[str], gold: Iterable[str], k: int = CUTOFF) -> float:
    """1 / the rank of the first gold item among the first k; 0 when none is there."""
    relevant = set(gold)
    for rank, item in enumerate(ranking[:k], 1):
        if item in relevant:
            return 1.0 / rank
    return 0.0


def ndcg_at_k(ranking: Sequence[str], gold: Iterable[str], k: int = CUTOFF) -> float:
    """Binary-relevance nDCG: sum of 1 / log2(rank + 1) over the gold items among the first
    k, divided by that sum for a ranking with every gold item first."""
    relevant = set(gold)
    if not relevant:
        return 0.0
    dcg = sum(1.0 / math.log2(r + 1) for r, item in enumerate(ranking[:k], 1) if item in relevant)
    ideal = sum(1.0 / math.log2(r + 1) for r in range(1, min(len(relevant), k) + 1))
    return dcg / ideal


def query_metrics(ranking: Sequence[str], gold: Iterable[str]) -> dict[str, float]:
    gold = list(gold)
    found = {f"recall@{k}": recall_at_k(ranking, gold, k) for k in RECALL_KS}
    return found | {"mrr@10": mrr_at_k(ranking, gold), "ndcg@10": ndcg_at_k(ranking, gold)}


def mean_metrics(rows: list[dict[str, float]]) -> dict[str, float]:
    return {m: (sum(r[m] for r in rows) / len(rows) if rows else 0.0) for m in METRICS}


def readable(chunk_groups: Sequence[str], caller: Sequence[str]) -> bool:
    """A chunk sharing at least one group with the caller: the index's own rule."""
    return bool(set(chunk_groups) & set(caller))


def rank(
    model: Encoder,
    queries: Sequence[EvalQuery],
    corpus: Sequence[CorpusChunk],
    depth: int = CUTOFF,
    batch_size: int = 64,
) -> list[list[str]]:
    """Each query's best `depth` items (chunk ids, or documents for level doc, a document at
    its best chunk) among the chunks its groups may read, by cosine similarity."""
    if not queries:
        return []
    chunks = model.encode([c.text for c in corpus], batch_size)
    asked = model.encode([q.query for q in queries], batch_size)
    rankings = []
    for query, vector in zip(queries, asked, strict=True):
        allowed = np.array([readable(c.groups, query.groups) for c in corpus], dtype=bool)
        scores = np.where(allowed, chunks @ vector, -np.inf) if len(corpus) else np.zeros(0)
        order = [int(i) for i in np.argsort(-scores, kind="stable") if allowed[i]]
        items = [corpus[i].chunk_id if query.level == "chunk" else corpus[i].doc for i in order]
        rankings.append(list(dict.fromkeys(items))[:depth])
    return rankings


def evaluate_embeddings(
    model_a: Encoder,
    model_b: Encoder,
    queries: Sequence[EvalQuery],
    corpus: Sequence[CorpusChunk],
    groups: Sequence[str] | None = None,
    names: tuple[str, str] = ("stock", "tuned"),
) -> dict[str, Any]:
    """Both models' metrics on the same queries, overall and for each access group (the
    queries whose caller holds it); `groups` defaults to every group the queries name."""
    models = dict(zip(names, (model_a, model_b), strict=True))
    per_query = {name: rank(model, queries, corpus) for name, model in models.items()}
    scored = {
        name: [query_metrics(r, q.gold) for r, q in zip(rankings, queries, strict=True)]
        for name, rankings in per_query.items()
    }
    listed = groups if groups is not None else sorted({g for q in queries for g in q.groups})
    by_group = {}
    for group in listed:
        members = [i for i, q in enumerate(queries) if group in q.groups]
        by_group[group] = {"queries": len(members)} | {
            name: mean_metrics([rows[i] for i in members]) for name, rows in scored.items()
        }
    return {
        "queries": len(queries),
        "corpus_chunks": len(corpus),
        "models": list(names),
        "overall": {name: mean_metrics(rows) for name, rows in scored.items()},
        "groups": by_group,
    }


def delta_points(result: dict[str, Any], metric: str = "ndcg@10") -> float:
    """Second model minus first on `metric`, in points (hundredths)."""
    first, second = result["models"]
    return 100 * (result["overall"][second][metric] - result["overall"][first][metric])


# ---- the files an embedding run keeps, so `tunesmith eval` ranks exactly what training held out
def write_jsonl(path: Path, rows: Iterable[Any]) -> None:
    lines = [json.dumps(asdict(r), ensure_ascii=False, sort_keys=True) for r in rows]
    write_atomic(path, ("\n".join(lines) + "\n" if lines else "").encode("utf-8"))


def read_corpus(path: Path) -> list[CorpusChunk]:
    rows = [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line]
    return [
        CorpusChunk(r["chunk_id"], r["doc"], r["text"], tuple(r["groups"]), tuple(r["headings"]))
        for r in rows
    ]


def read_eval_queries(path: Path) -> list[EvalQuery]:
    rows = [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line]
    return [EvalQuery(r["query"], tuple(r["gold"]), tuple(r["groups"]), r["level"]) for r in rows]


def table_rows(result: dict[str, Any]) -> list[list[str]]:
    """`scope, queries, metric: first / second ...` rows, overall first then per group."""
    first, second = result["models"]
    scopes = [("overall", result["queries"], result["overall"])]
    scopes += [(f"group {g}", v["queries"], v) for g, v in result["groups"].items()]
    rows = []
    for scope, count, values in scopes:
        cells = [f"{values[first][m]:.3f} / {values[second][m]:.3f}" for m in METRICS]
        rows.append([scope, str(count), *cells])
    return rows


def report_markdown(result: dict[str, Any], title: str) -> str:
    first, second = result["models"]
    head = ["scope", "queries", *(f"{m} ({first} / {second})" for m in METRICS)]
    summary = (
        f"{result['queries']} held-out queries over {result['corpus_chunks']} chunks, each "
        f"ranked among the chunks its groups may read. nDCG@10 {second} minus {first}: "
        f"{delta_points(result):+.1f} points."
    )
    lines = [f"# {title}", "", summary, ""]
    lines += ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    lines += ["| " + " | ".join(row) + " |" for row in table_rows(result)]
    return "\n".join(lines) + "\n"


# ---- `tunesmith eval --model <run id>` of an embedding run
def embedding_gates(result: dict[str, Any]) -> dict[str, Any]:
    """The verdict promotion reads: the tuned model must rank the held-out queries better
    than the stock one it replaces (nDCG@10 over every query), or it is not worth a re-index."""
    tuned, stock = result["overall"]["tuned"], result["overall"]["stock"]
    passed = tuned["ndcg@10"] > stock["ndcg@10"]
    gate = {
        "gate": "beats the stock model",
        "metric": "ndcg@10",
        "value": tuned["ndcg@10"],
        "threshold": stock["ndcg@10"],
        "passed": passed,
        "detail": f"{delta_points(result):+.1f} points over {result['queries']} held-out queries",
    }
    metrics = {**tuned, "ndcg@10_stock": stock["ndcg@10"]}
    return {"main_metric": "ndcg@10", "metrics": metrics, "gates": [gate], "passed": passed}


class EmbeddingRunError(ValueError):
    """A run folder that is not a finished embedding run, or whose model files changed."""


def evaluate_embedding_run(
    root: Path, runs_dir: Path, state_dir: Path, run_id: str
) -> tuple[dict[str, Any], Path]:
    """Re-rank the run's held-out queries over its corpus with the stock and the tuned model
    (each checked against the digest training recorded), judge the gate; the report written
    (its `retrieval` the stock-vs-tuned result) and its folder."""
    from tunesmith.models.sentence import load_sentence_model

    manifest = embedding_manifest(runs_dir / run_id)
    if manifest is None:
        raise EmbeddingRunError(f"run '{run_id}' is not a finished embedding run")
    run_dir = runs_dir / run_id
    stock = load_sentence_model(manifest["base_model"]["name"], root)
    tuned = load_sentence_model(str(run_dir / manifest["model"]["path"]), root)
    for what, model, recorded in (
        ("base model", stock, manifest["base_model"]["sha256"]),
        ("tuned model", tuned, manifest["model"]["sha256"]),
    ):
        if model.digest != recorded:
            raise EmbeddingRunError(
                f"run '{run_id}': the {what} at {model.path} is not the one training recorded "
                f"(sha256 {model.digest[:12]}, recorded {recorded[:12]})"
            )
    corpus = read_corpus(run_dir / "corpus.jsonl")
    queries = read_eval_queries(run_dir / "heldout.jsonl")
    groups = sorted({g for c in corpus for g in c.groups})
    result = evaluate_embeddings(stock, tuned, queries, corpus, groups)
    out = run_dir / "eval"
    out.mkdir(exist_ok=True)
    report = {"run_id": run_id, "kind": EMBEDDING_KIND, "created_at": utc_timestamp()}
    report |= {"base_model": manifest["base_model"], "model": manifest["model"]}
    report |= embedding_gates(result) | {"retrieval": result}
    write_json_atomic(out / "report.json", report)
    title = f"Retrieval: {manifest['base_model']['name']} (stock) versus run {run_id} (tuned)"
    write_atomic(out / "report.md", report_markdown(result, title).encode("utf-8"))
    overall = result["overall"]
    audit.append(
        audit.audit_path(state_dir),
        "eval",
        run_id,
        inputs={"base_model": stock.digest, "model": tuned.digest},
        outputs={"report.json": sha256_file(out / "report.json")},
        details={
            "kind": EMBEDDING_KIND,
            "queries": result["queries"],
            "ndcg@10_stock": round(overall["stock"]["ndcg@10"], 4),
            "ndcg@10_tuned": round(overall["tuned"]["ndcg@10"], 4),
        },
    )
    return report, out
