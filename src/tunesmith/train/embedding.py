"""`tunesmith train` for `task.type: embedding`: the knowledge base's sentence-embedding model
tuned on (query, passage) pairs with sentence-transformers' own trainer and in-batch plus mined
hard negatives (MultipleNegativesRankingLoss), then measured against the stock model on the
held-out pairs. Writes runs/<run_id>/model/ (a SentenceTransformer: `knowledge.embedding.model:
runs/<run_id>` serves it), the corpus and held-out queries `tunesmith eval` re-ranks, and
manifest.json; then the audit entry."""

from __future__ import annotations

import hashlib
import json
import shutil
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from secrets import token_hex
from typing import Any

from tunesmith.config.embedding import EmbeddingTrainConfig
from tunesmith.config.knowledge import KnowledgeConfig
from tunesmith.config.workspace import Workspace
from tunesmith.evaluate.retrieval import delta_points, evaluate_embeddings, write_jsonl
from tunesmith.models.hardware import hardware
from tunesmith.models.sentence import load_sentence_model
from tunesmith.store import audit
from tunesmith.store.clock import utc_timestamp
from tunesmith.store.files import sha256_file, write_atomic
from tunesmith.store.runs import EMBEDDING_KIND
from tunesmith.train.embedding_pairs import (
    Pair,
    PairsError,
    knowledge_corpus,
    knowledge_pairs,
    mine,
    read_pairs,
    split_pairs,
)

Progress = Callable[[int, int, dict[str, float]], None]
# symmetric: each passage must also pick out its query among the batch's queries, a softmax of
# its own (MultipleNegativesSymmetricRankingLoss, which sentence-transformers 6 folds in here)
_LOSSES: dict[str, dict[str, Any]] = {
    "mnrl": {},
    "symmetric": {
        "directions": ("query_to_doc", "doc_to_query"),
        "partition_mode": "per_direction",
    },
}


class EmbeddingTrainError(ValueError):
    """Inputs an embedding run cannot train on (no chunks, no pairs, a bad pairs file)."""


@dataclass
class EmbeddingTrainResult:
    run_id: str
    path: Path
    steps: int
    train_seconds: float
    pairs: int  # trained on
    held_out: int  # measured (held-out pairs with a gold in the corpus)
    losses: list[float]  # per logged step
    metrics: dict[str, Any]  # evaluate_embeddings' result, stock vs tuned
    warnings: list[str] = field(default_factory=list)

    @property
    def ndcg_gain(self) -> float:
        return delta_points(self.metrics)


def new_embedding_run_id() -> str:
    # the suffix keeps two runs started in the same second apart (as train/run_dir.py does)
    return f"embedding-{datetime.now(UTC).strftime('%Y%m%d-%H%M%S')}-{token_hex(2)}"


def _pairs_rows(pairs: list[Pair]) -> list[dict[str, Any]]:
    return [
        {"query": p.query, "positive": p.positive, "negatives": list(p.negatives)} for p in pairs
    ]


def _write_json(path: Path, data: Any) -> None:
    write_atomic(path, (json.dumps(data, indent=2, ensure_ascii=False) + "\n").encode("utf-8"))


def _train_args(tc: EmbeddingTrainConfig, output_dir: str, bf16: bool) -> Any:
    from sentence_transformers import SentenceTransformerTrainingArguments
    from sentence_transformers.base.sampler import BatchSamplers

    return SentenceTransformerTrainingArguments(
        output_dir=output_dir,
        num_train_epochs=tc.epochs,
        max_steps=tc.max_steps or -1,
        per_device_train_batch_size=tc.batch_size,
        learning_rate=tc.learning_rate,
        warmup_steps=tc.warmup_ratio,  # a float below 1 is a share of the steps (Transformers 5)
        seed=tc.seed,
        data_seed=tc.seed,
        # a repeated passage in a batch would be another query's false negative
        batch_sampler=BatchSamplers.NO_DUPLICATES,
        bf16=bf16,  # fp32 where the hardware has no native bf16 (this CPU: ~17x slower)
        save_strategy="no",
        report_to="none",
        logging_steps=1,
        disable_tqdm=True,
        use_cpu=hardware()["device"] == "cpu",
    )


def fit(
    base_path: Path, pairs: list[Pair], tc: EmbeddingTrainConfig, out: Path, tick: Progress
) -> tuple[int, list[float]]:
    """Train a fresh copy of the base model (the stock one stays as loaded, to compare) and
    save it to `out`; the steps taken and the loss at each. bench/embedding.py calls it per
    cross-validation fold."""
    import torch
    from datasets import Dataset
    from sentence_transformers import SentenceTransformer, SentenceTransformerTrainer
    from sentence_transformers.sentence_transformer.losses import MultipleNegativesRankingLoss
    from transformers import TrainerCallback

    hw = hardware()
    torch.manual_seed(tc.seed)
    model = SentenceTransformer(str(base_path), device=hw["device"], local_files_only=True)
    negatives = min(len(p.negatives) for p in pairs)  # the loss takes one column count
    columns: dict[str, list[str]] = {
        "anchor": [p.query for p in pairs],
        "positive": [p.positive for p in pairs],
    }
    for n in range(negatives):
        columns[f"negative_{n + 1}"] = [p.negatives[n] for p in pairs]
    losses: list[float] = []

    class _Losses(TrainerCallback):
        def on_log(self, args: Any, state: Any, control: Any, logs: Any = None, **kw: Any) -> None:
            if logs and "loss" in logs:
                losses.append(float(logs["loss"]))
                tick(state.global_step, state.max_steps, {"loss": float(logs["loss"])})

    scratch = tempfile.mkdtemp(prefix="embedding-train-")
    try:
        trainer = SentenceTransformerTrainer(
            model=model,
            args=_train_args(tc, scratch, hw["bf16"]),
            train_dataset=Dataset.from_dict(columns),
            loss=MultipleNegativesRankingLoss(model, **_LOSSES[tc.loss]),
            callbacks=[_Losses()],
        )
        trainer.train()
        steps = trainer.state.global_step
    finally:
        shutil.rmtree(scratch, ignore_errors=True)
    model.save(str(out))
    return steps, losses


def train_embedding(
    ws: Workspace,
    knowledge: KnowledgeConfig,
    tc: EmbeddingTrainConfig,
    progress: Progress | None = None,
    project: str = "tunesmith",
    run_id: str | None = None,
) -> EmbeddingTrainResult:
    """Tune `tc.base_model` on the pairs, measure it against the stock model on the held-out
    ones, and write the run."""
    tick = progress or (lambda step, total, metrics: None)
    stock = load_sentence_model(tc.base_model, ws.root)
    corpus = knowledge_corpus(ws.root, knowledge, stock.tokenizer)
    if not corpus:
        raise EmbeddingTrainError("the knowledge base has no readable chunks to train towards")
    made = knowledge_pairs(corpus, tc.seed, tc.sentences_per_chunk) if tc.from_knowledge else []
    try:
        pairs = read_pairs(ws.resolve(tc.pairs), corpus, knowledge) if tc.pairs else made
    except PairsError as err:
        raise EmbeddingTrainError(str(err)) from None
    if len(pairs) < 2:
        raise EmbeddingTrainError(f"{len(pairs)} pair(s): need at least two, one to hold out")
    train_pairs, held = split_pairs(pairs, tc.held_out, tc.seed)
    if tc.pairs:
        # the chunks are known when training, the held-out questions are not: the chunks' own
        # pairs are trained on beside the file's, and only the file's held-out ones measured
        train_pairs += made
    measured = [pairs[i].to_eval() for i in held if pairs[i].gold and pairs[i].groups]
    train_pairs = mine(stock, train_pairs, corpus, tc)
    run_id = run_id or new_embedding_run_id()
    run_dir = ws.runs_dir / run_id
    run_dir.mkdir(parents=True)
    write_jsonl(run_dir / "corpus.jsonl", corpus)
    write_jsonl(run_dir / "heldout.jsonl", measured)
    rows = _pairs_rows(train_pairs)
    (run_dir / "train_pairs.jsonl").write_text(
        "".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows), encoding="utf-8"
    )
    if tc.pairs is not None:
        pairs_sha = sha256_file(ws.resolve(tc.pairs))
    else:  # made from the chunks: the digest of what was made
        made = [{"query": p.query, "gold": list(p.gold)} for p in pairs]
        pairs_sha = hashlib.sha256(json.dumps(made, sort_keys=True).encode()).hexdigest()
    started = time.perf_counter()
    steps, losses = fit(stock.path, train_pairs, tc, run_dir / "model", tick)
    seconds = time.perf_counter() - started
    tuned = load_sentence_model(str(run_dir / "model"), ws.root)
    metrics = evaluate_embeddings(stock, tuned, measured, corpus, knowledge.groups or None)
    manifest = {
        "kind": EMBEDDING_KIND,
        "run_id": run_id,
        "created_at": utc_timestamp(),
        "base_model": {"name": tc.base_model, "sha256": stock.digest},
        "model": {"path": "model", "sha256": tuned.digest},
        "pairs": {
            "source": tc.pairs or "from_knowledge",
            "sha256": pairs_sha,
            "rows": len(pairs),
            "trained": len(train_pairs),
            "from_knowledge": len(made) if tc.pairs else 0,
            "hard_negatives": min(len(p.negatives) for p in train_pairs),
        },
        "held_out": {"lines": held, "measured": len(measured), "seed": tc.seed},
        "corpus": {"chunks": len(corpus), "sha256": sha256_file(run_dir / "corpus.jsonl")},
        "config": {
            "train": tc.model_dump(mode="json"),
            "chunking": knowledge.chunking.model_dump(mode="json"),
            "pii": knowledge.pii,
        },
        "hardware": hardware(),
        "train": {"steps": steps, "seconds": round(seconds, 2), "losses": losses},
        "metrics": metrics,
    }
    _write_json(run_dir / "manifest.json", manifest)
    overall = metrics["overall"]
    audit.append(
        audit.audit_path(ws.state_dir),
        "train",
        run_id,
        inputs={"pairs": pairs_sha, f"base_model/{tc.base_model}": stock.digest},
        outputs={"model": tuned.digest, "manifest.json": sha256_file(run_dir / "manifest.json")},
        details={
            "kind": EMBEDDING_KIND,
            "steps": steps,
            "ndcg@10_stock": round(overall["stock"]["ndcg@10"], 4),
            "ndcg@10_tuned": round(overall["tuned"]["ndcg@10"], 4),
        },
    )
    warnings = _track(ws, project, run_id, tc, manifest)
    return EmbeddingTrainResult(
        run_id, run_dir, steps, seconds, len(train_pairs), len(measured), losses, metrics, warnings
    )


def _track(
    ws: Workspace, project: str, run_id: str, tc: EmbeddingTrainConfig, manifest: dict[str, Any]
) -> list[str]:
    """The run's MLflow entry (params, loss curve, held-out metrics); failing that, a warning:
    the run folder and its audit entry are the record, tracking mirrors them."""
    from mlflow.exceptions import MlflowException

    from tunesmith.store.tracking import Tracker

    try:
        tracker = Tracker(ws.state_dir, project, run_id)
        try:
            tracker.log_params({**tc.model_dump(), "kind": EMBEDDING_KIND})
            for step, loss in enumerate(manifest["train"]["losses"], 1):
                tracker.log_metrics({"loss": loss}, step=step)
            for name, values in manifest["metrics"]["overall"].items():
                named = {f"heldout.{name}.{k.replace('@', '_at_')}": v for k, v in values.items()}
                tracker.log_metrics(named, step=0)
            tracker.log_files([ws.runs_dir / run_id / "manifest.json"])
        finally:
            tracker.end()
    except (MlflowException, OSError) as err:
        return [f"not logged to MLflow: {err}"]
    return []
