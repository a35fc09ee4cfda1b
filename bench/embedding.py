"""Tuned versus stock embeddings on the bundled knowledge base, k-fold cross-validated by fact.

The example's 76 facts (examples/support-tickets/knowledge_facts.jsonl) are dealt into k folds.
Each fold in turn is the test fold: the model is tuned on the other folds' facts (their
`question` towards the chunk holding the fact) plus, where the candidate says so, pairs made
from the chunks themselves (the corpus is known at training time), and measured on the test
fold's `question_heldout` (a paraphrase written apart), each query ranked only among the
chunks its groups may read. No test-fold fact is trained on, and the test fold is measured
once: the settings are chosen per fold on an inner split of that fold's training facts (both
questions of the inner validation facts, which the inner run does not train on).

    python bench/embedding.py                      # 5 folds, the grid below, no write
    python bench/embedding.py --write              # ... and the `embedding` section
    python bench/embedding.py --grid shipped       # only the shipped embedding.yaml settings
    python bench/embedding.py --grid facts-1ep     # one candidate of the grid, fixed
"""

from __future__ import annotations

import argparse
import os
import random
import shutil
import statistics
import sys
import tempfile
import time
from dataclasses import replace
from pathlib import Path
from typing import Any

import numpy as np
import yaml

sys.path.insert(0, str(Path(__file__).parent))

from results import write_section
from tunesmith.config.embedding import EmbeddingTrainConfig
from tunesmith.config.knowledge import KnowledgeConfig
from tunesmith.evaluate.retrieval import EvalQuery, evaluate_embeddings
from tunesmith.models.sentence import load_sentence_model
from tunesmith.train.embedding import fit
from tunesmith.train.embedding_pairs import (
    Pair,
    knowledge_corpus,
    knowledge_pairs,
    mine,
    read_pairs,
)

EXAMPLE = Path(__file__).resolve().parent.parent / "examples" / "support-tickets"
SHIPPED = EXAMPLE / "embedding.yaml"
BASE = {"pairs": "knowledge_facts.jsonl", "seed": 0}
# chosen before any fold was looked at: the current default, then the corpus lever, the
# symmetric loss and a higher learning rate on top of it
GRID: dict[str, dict[str, Any]] = {
    "facts-1ep": {"epochs": 1},
    "facts+corpus-3ep": {"from_knowledge": True, "sentences_per_chunk": 4, "epochs": 3},
    "facts+corpus-sym-3ep": {
        "from_knowledge": True,
        "sentences_per_chunk": 4,
        "epochs": 3,
        "loss": "symmetric",
    },
    "facts+corpus-sym-3ep-lr5e-5": {
        "from_knowledge": True,
        "sentences_per_chunk": 4,
        "epochs": 3,
        "loss": "symmetric",
        "learning_rate": 5e-5,
    },
}
INNER_SHARE = 0.25


class Tuned:
    """A tuned model straight from its folder (not the process-wide cache: one per run)."""

    def __init__(self, path: Path) -> None:
        from sentence_transformers import SentenceTransformer

        self.model = SentenceTransformer(str(path), device="cpu", local_files_only=True)

    def encode(self, texts: list[str], batch_size: int = 64) -> np.ndarray:
        vectors = self.model.encode(
            list(texts), batch_size=batch_size, normalize_embeddings=True, show_progress_bar=False
        )
        return np.asarray(vectors, dtype=np.float32)


def shipped_settings() -> dict[str, Any]:
    raw = yaml.safe_load(SHIPPED.read_text())
    return dict(raw["train"]["embedding"])


def deal(n: int, k: int, seed: int) -> list[list[int]]:
    order = list(range(n))
    random.Random(seed).shuffle(order)
    return [sorted(order[f::k]) for f in range(k)]


def tune(
    stock: Any, corpus: list[Any], facts: list[Pair], tc: EmbeddingTrainConfig
) -> tuple[Tuned, int, float]:
    """The model tuned on `facts` (their training question) and, if asked, the chunks' pairs."""
    made = knowledge_pairs(corpus, tc.seed, tc.sentences_per_chunk) if tc.from_knowledge else []
    pairs = mine(stock, facts + made, corpus, tc)
    out = Path(tempfile.mkdtemp(prefix="bench-embedding-"))
    try:
        started = time.perf_counter()
        fit(stock.path, pairs, tc, out / "model", lambda *a: None)
        seconds = time.perf_counter() - started
        return Tuned(out / "model"), len(pairs), seconds
    finally:
        shutil.rmtree(out, ignore_errors=True)


def measure(stock: Any, tuned: Any, queries: list[EvalQuery], corpus: list[Any]) -> dict:
    result = evaluate_embeddings(stock, tuned, queries, corpus, None)
    return {name: result["overall"][name] for name in ("stock", "tuned")}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--folds", type=int, default=5)
    parser.add_argument("--seed", type=int, default=0, help="Seed of the folds and inner splits.")
    parser.add_argument("--grid", choices=["grid", "shipped", *GRID], default="grid")
    parser.add_argument("--write", action="store_true", help="Write bench/RESULTS.md.")
    args = parser.parse_args()
    load_before = os.getloadavg()[0]
    raw = yaml.safe_load((EXAMPLE / "tunesmith.yaml").read_text())
    knowledge = KnowledgeConfig.model_validate(raw["knowledge"])
    stock = load_sentence_model("all-MiniLM-L6-v2")
    corpus = knowledge_corpus(EXAMPLE, knowledge, stock.tokenizer)
    facts = read_pairs(EXAMPLE / "knowledge_facts.jsonl", corpus, knowledge)
    assert all(f.gold for f in facts), "a fact no chunk holds"
    grid = {"shipped": shipped_settings()} if args.grid == "shipped" else GRID
    if args.grid in GRID:  # one candidate, fixed: no inner selection
        grid = {args.grid: GRID[args.grid]}
    configs = {n: EmbeddingTrainConfig.model_validate(BASE | s) for n, s in grid.items()}
    rows = []
    for k, test in enumerate(deal(len(facts), args.folds, args.seed)):
        train = [f for i, f in enumerate(facts) if i not in set(test)]
        chosen, inner = next(iter(configs)), {}
        if len(configs) > 1:
            order = list(range(len(train)))
            random.Random(args.seed * 1000 + k).shuffle(order)
            cut = round(INNER_SHARE * len(train))
            val = [train[i] for i in order[:cut]]
            fit_on = [train[i] for i in order[cut:]]
            # both questions of a validation fact are unseen by the inner run
            asked = [f.to_eval() for f in val] + [replace(f.to_eval(), query=f.query) for f in val]
            for name, tc in configs.items():
                tuned, _, _ = tune(stock, corpus, fit_on, tc)
                got = measure(stock, tuned, asked, corpus)
                inner[name] = 100 * (got["tuned"]["ndcg@10"] - got["stock"]["ndcg@10"])
                print(f"fold {k} inner {name}: {inner[name]:+.1f}", flush=True)
            chosen = max(inner, key=lambda n: inner[n])
        tuned, pairs, seconds = tune(stock, corpus, train, configs[chosen])
        got = measure(stock, tuned, [facts[i].to_eval() for i in test], corpus)
        rows.append({"fold": k, "test": len(test), "chosen": chosen, "pairs": pairs} | got)
        rows[-1] |= {"seconds": seconds, "inner": inner}
        s, t = got["stock"]["ndcg@10"], got["tuned"]["ndcg@10"]
        print(f"fold {k} test ({chosen}): stock {s:.3f} tuned {t:.3f} {100 * (t - s):+.1f}")
    report(rows, args, len(facts), len(corpus), load_before, os.getloadavg()[0], configs)


def report(
    rows: list[dict], args: Any, facts: int, chunks: int, before: float, after: float, configs: dict
) -> None:
    def mean(model: str, metric: str) -> float:
        return statistics.mean(r[model][metric] for r in rows)

    lines = [
        "| fold | test queries | chosen (inner split) | pairs trained | nDCG@10 stock | nDCG@10 "
        "tuned | Δ points | recall@5 stock | recall@5 tuned |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    for r in rows:
        s, t = r["stock"], r["tuned"]
        lines.append(
            f"| {r['fold']} | {r['test']} | {r['chosen']} | {r['pairs']} | {s['ndcg@10']:.3f} | "
            f"{t['ndcg@10']:.3f} | {100 * (t['ndcg@10'] - s['ndcg@10']):+.1f} | "
            f"{s['recall@5']:.3f} | {t['recall@5']:.3f} |"
        )
    deltas = [100 * (r["tuned"]["ndcg@10"] - r["stock"]["ndcg@10"]) for r in rows]
    lines.append(
        f"| mean | {sum(r['test'] for r in rows)} | | | {mean('stock', 'ndcg@10'):.3f} | "
        f"{mean('tuned', 'ndcg@10'):.3f} | **{statistics.mean(deltas):+.1f}** | "
        f"{mean('stock', 'recall@5'):.3f} | {mean('tuned', 'recall@5'):.3f} |"
    )
    text = "\n".join(lines)
    print(text)
    if not args.write:
        return
    settings = "; ".join(f"{n}: {c.model_dump(exclude_defaults=True)}" for n, c in configs.items())
    how = (
        "Settings chosen per fold on an inner split of its training facts (a quarter held out, "
        f"both questions measured), never on the test fold. Candidates: {settings}."
        if len(configs) > 1
        else f"One setting, fixed before any fold was run: {settings} (the rest default)."
    )
    body = (
        "## Domain embeddings: tuned vs stock all-MiniLM-L6-v2 on the bundled knowledge base\n\n"
        f"{facts} facts of examples/support-tickets/knowledge_facts.jsonl over {chunks} chunks, "
        f"dealt into {args.folds} folds (seed {args.seed}). Per fold: trained on the other "
        "folds' facts (their `question`), measured on the test fold's `question_heldout`, each "
        "query ranked only among the chunks its groups may read; no test-fold fact is trained "
        f"on. {how} Δ = tuned minus stock nDCG@10 in points, per fold stdev "
        f"{statistics.pstdev(deltas):.1f}. Headroom: a perfect ranking would gain "
        f"{100 * (1 - mean('stock', 'ndcg@10')):.1f} points over stock. Floor (tuned >= stock "
        f"+ 5 points, mean nDCG@10): {'met' if statistics.mean(deltas) >= 5 else 'NOT met'}."
        f"\n\n{text}\n\n"
        f"Load average (1 min) before/after: {before:.2f}/{after:.2f} (2 shared cores); "
        f"training {sum(r['seconds'] for r in rows):.0f} s over the test-fold runs."
    )
    write_section("embedding", body)


if __name__ == "__main__":
    main()
