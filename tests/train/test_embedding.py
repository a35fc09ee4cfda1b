"""Tuning the knowledge base's embedding model: pairs, hard negatives, the run it writes, and
the train/eval commands of a `task.type: embedding` workspace (a tiny random embedder)."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import yaml
from typer.testing import CliRunner

from tunesmith.cli import app
from tunesmith.config import ConfigError
from tunesmith.config.embedding import (
    EmbeddingProject,
    EmbeddingTrainConfig,
    parse_embedding_project,
    task_type,
)
from tunesmith.config.workspace import Workspace
from tunesmith.evaluate.retrieval import CorpusChunk, read_eval_queries
from tunesmith.models.sentence import load_sentence_model, sentence_model_path
from tunesmith.store import audit
from tunesmith.store.files import sha256_file, sha256_tree
from tunesmith.train.embedding import EmbeddingTrainError, train_embedding
from tunesmith.train.embedding_pairs import (
    Pair,
    PairsError,
    knowledge_corpus,
    knowledge_pairs,
    mine,
    read_pairs,
    split_pairs,
)

runner = CliRunner()
DOCS = {
    "public/refunds.md": (
        "---\ngroups: [staff]\n---\n# Refunds\n\n## Window\nCustomers may ask for a refund "
        "within 30 days of delivery. Gift cards are never refunded under any circumstances.\n\n"
        "## Methods\nRefunds are always paid back to the original card used for the order.\n"
    ),
    "hr/leave.md": (
        "---\ngroups: [hr]\n---\n# Leave\n\n## Parental leave\nEmployees receive twenty weeks "
        "of paid parental leave. Leave may start up to four weeks before the birth.\n"
    ),
    "exec/bonus.md": (
        "---\ngroups: [exec, hr]\n---\n# Bonus\n\nThe executive bonus pool is twelve percent "
        "of operating profit, paid out every March after the audit.\n"
    ),
}
PAIRS = [
    ("How long do customers have to ask for their money back?", "within 30 days of delivery"),
    ("Can a gift card be refunded?", "Gift cards are never refunded"),
    ("Where does a refund go?", "paid back to the original card"),
    ("How many weeks of parental leave do staff get?", "twenty weeks of paid parental leave"),
    ("When can parental leave begin?", "up to four weeks before the birth"),
    ("How big is the executive bonus pool?", "twelve percent of operating profit"),
    ("When is the bonus paid?", "paid out every March"),
    ("What is refunded on a returned order?", "Customers may ask for a refund"),
]


@pytest.fixture
def embedding_ws(tmp_path: Path, tiny_embedder: Path) -> Workspace:
    root = tmp_path / "ws"
    for doc, text in DOCS.items():
        (root / "kb" / doc).parent.mkdir(parents=True, exist_ok=True)
        (root / "kb" / doc).write_text(text)
    rows = [{"query": q, "passage": p, "query_heldout": f"{q} (asked again)"} for q, p in PAIRS]
    (root / "pairs.jsonl").write_text("".join(json.dumps(r) + "\n" for r in rows))
    raw = {
        "project": "kb-embedding",
        "knowledge": {
            "sources": [{"path": "kb"}],
            "pii": "off",
            "embedding": {"model": str(tiny_embedder)},
            "chunking": {"max_tokens": 32, "overlap_tokens": 8},
        },
        "task": {"type": "embedding"},
        "train": {
            "embedding": {
                "pairs": "pairs.jsonl",
                "base_model": str(tiny_embedder),
                "max_steps": 6,
                "batch_size": 4,
                "learning_rate": 1e-3,
                "warmup_ratio": 0.0,
                "held_out": 0.25,
            }
        },
    }
    (root / "tunesmith.yaml").write_text(yaml.safe_dump(raw, sort_keys=False))
    return Workspace(root)


def _project(ws: Workspace) -> EmbeddingProject:
    return parse_embedding_project(yaml.safe_load(ws.config_path.read_text()), "tunesmith.yaml")


def _corpus(ws: Workspace) -> list[CorpusChunk]:
    project = _project(ws)
    model = load_sentence_model(project.train.embedding.base_model)
    return knowledge_corpus(ws.root, project.knowledge, model.tokenizer)


def test_pairs_find_their_gold_chunks_and_the_callers_groups(embedding_ws: Workspace) -> None:
    corpus = _corpus(embedding_ws)
    pairs = read_pairs(embedding_ws.root / "pairs.jsonl", corpus, _project(embedding_ws).knowledge)
    by_query = {p.query: p for p in pairs}
    bonus = by_query["How big is the executive bonus pool?"]
    assert bonus.level == "chunk" and bonus.gold and all(g.startswith("exec/") for g in bonus.gold)
    assert bonus.groups == ("exec", "hr")  # the gold document's groups
    assert bonus.heldout_query.endswith("(asked again)")
    # the positive is chosen at mining, among the gold chunks
    assert bonus.positive == ""


@pytest.mark.parametrize(
    ("line", "message"),
    [
        ('{"query": "q"}', "give a string 'passage' or a string 'doc'"),
        ('{"query": "q", "doc": "nowhere.md"}', "not a document of the knowledge base"),
        ('{"query": "q", "doc": "hr/leave.md", "groups": "hr"}', "'groups' must be a list"),
        ("not json", "not JSON"),
    ],
)
def test_a_bad_pairs_line_is_named(embedding_ws: Workspace, line: str, message: str) -> None:
    path = embedding_ws.root / "bad.jsonl"
    path.write_text('{"query": "ok", "doc": "hr/leave.md"}\n' + line + "\n")
    with pytest.raises(PairsError, match=f"bad.jsonl:2: .*{message}"):
        read_pairs(path, _corpus(embedding_ws), _project(embedding_ws).knowledge)


class TableEncoder:
    def __init__(self, table: dict[str, list[float]]) -> None:
        self.table = table

    def encode(self, texts: list[str], batch_size: int = 64) -> np.ndarray:
        rows = np.array([self.table[t] for t in texts], dtype=np.float32)
        return rows / np.linalg.norm(rows, axis=1, keepdims=True)


def test_hard_negatives_are_the_best_chunks_outside_the_gold() -> None:
    corpus = [
        CorpusChunk("a.md#0", "a.md", "a0", ("hr",)),
        CorpusChunk("a.md#1", "a.md", "a1", ("hr",)),
        CorpusChunk("b.md#0", "b.md", "b0", ("exec",)),
        CorpusChunk("c.md#0", "c.md", "c0", ("hr",)),
    ]
    table = {
        "q": [1.0, 0.0],
        "a0": [0.2, 1.0],
        "a1": [0.9, 0.1],  # the gold document's best chunk, and a chunk of it ranks second
        "b0": [0.95, 0.2],
        "c0": [0.3, 1.0],
    }
    pair = Pair("q", ("a.md",), "doc", ("hr",), "q")
    config = EmbeddingTrainConfig(pairs="p.jsonl", hard_negatives=2)
    (mined,) = mine(TableEncoder(table), [pair], corpus, config)
    assert mined.positive == "a1"
    # no chunk of the gold document is a negative, however near the query it is
    assert mined.negatives == ("b0", "c0")


def test_pairs_from_the_knowledge_base_alone(embedding_ws: Workspace) -> None:
    corpus = _corpus(embedding_ws)
    pairs = knowledge_pairs(corpus, seed=0)
    ids = {c.chunk_id: c for c in corpus}
    assert pairs and all(p.gold[0] in ids and p.groups == ids[p.gold[0]].groups for p in pairs)
    sentences = [p for p in pairs if p.query.endswith(".")]
    assert sentences  # inverse cloze: the sentence is cut out of the passage it must find
    assert all(p.query not in p.positive and p.query in ids[p.gold[0]].text for p in sentences)
    assert knowledge_pairs(corpus, seed=0) == pairs


def test_split_is_seeded_and_holds_out_at_least_one() -> None:
    pairs = [Pair(f"q{i}", (f"d{i}",), "doc", ("hr",), f"q{i}") for i in range(10)]
    train, held = split_pairs(pairs, 0.3, seed=1)
    assert len(held) == 3 and len(train) == 7 and held == sorted(held)
    assert split_pairs(pairs, 0.3, seed=1)[1] == held != split_pairs(pairs, 0.3, seed=2)[1]
    assert len(split_pairs(pairs[:2], 0.01, seed=0)[1]) == 1


def test_config_reads_only_knowledge_task_and_train_embedding() -> None:
    raw = {
        "knowledge": {"sources": [{"path": "kb"}]},
        "task": {"type": "embedding"},
        "train": {"method": "lora", "embedding": {"from_knowledge": True}},
        "data": {"not": "validated"},
    }
    assert task_type(raw) == "embedding" and task_type({"task": "x"}) is None
    project = parse_embedding_project(raw, "tunesmith.yaml")
    assert project.train.embedding.from_knowledge and project.train.embedding.epochs == 1.0
    raw["train"]["embedding"] = {}
    with pytest.raises(ConfigError, match="give a pairs source"):
        parse_embedding_project(raw, "tunesmith.yaml")
    raw["train"]["embedding"] = {"from_knowledge": True, "batch_size": 1}
    with pytest.raises(ConfigError, match=r"tunesmith.yaml: train.embedding.batch_size"):
        parse_embedding_project(raw, "tunesmith.yaml")


def test_train_writes_a_tuned_model_the_knowledge_base_can_load(
    embedding_ws: Workspace, tiny_embedder: Path
) -> None:
    project = _project(embedding_ws)
    ticks: list[int] = []
    result = train_embedding(
        embedding_ws,
        project.knowledge,
        project.train.embedding,
        lambda step, total, metrics: ticks.append(step),
        run_id="emb-1",
    )
    assert result.steps == 6 and ticks[-1] == 6 and len(result.losses) == 6
    assert result.pairs == 6 and result.held_out == 2
    # `knowledge.embedding.model: runs/emb-1` names the saved model
    path = sentence_model_path("runs/emb-1", embedding_ws.root)
    assert path == embedding_ws.runs_dir / "emb-1" / "model"
    stock = load_sentence_model(str(tiny_embedder))
    tuned = load_sentence_model("runs/emb-1", embedding_ws.root)
    assert tuned.digest != stock.digest
    text = ["Refunds are always paid back to the original card."]
    assert not np.allclose(stock.encode(text), tuned.encode(text))  # the weights moved
    manifest = json.loads((path.parent / "manifest.json").read_text())
    assert manifest["kind"] == "embedding"
    assert manifest["base_model"]["sha256"] == sha256_tree(Path(tiny_embedder).resolve())
    assert manifest["pairs"]["sha256"] == sha256_file(embedding_ws.root / "pairs.jsonl")
    assert manifest["pairs"]["hard_negatives"] == 1
    assert len(manifest["held_out"]["lines"]) == 2
    assert manifest["metrics"]["overall"].keys() == {"stock", "tuned"}
    held = read_eval_queries(path.parent / "heldout.jsonl")
    assert {q.query for q in held} == {
        f"{PAIRS[i][0]} (asked again)" for i in manifest["held_out"]["lines"]
    }
    (entry,) = audit.entries(audit.audit_path(embedding_ws.state_dir))
    assert (entry.action, entry.subject) == ("train", "emb-1")
    assert entry.outputs["model"] == tuned.digest


def test_loss_falls_over_repeated_passes(embedding_ws: Workspace) -> None:
    project = _project(embedding_ws)
    config = project.train.embedding.model_copy(update={"max_steps": 24, "hard_negatives": 0})
    result = train_embedding(embedding_ws, project.knowledge, config, run_id="emb-loss")
    first, last = np.mean(result.losses[:4]), np.mean(result.losses[-4:])
    assert last < 0.7 * first, result.losses


def test_no_pairs_source_resolves_to_no_chunks(embedding_ws: Workspace) -> None:
    project = _project(embedding_ws)
    for doc in DOCS:
        (embedding_ws.root / "kb" / doc).unlink()
    with pytest.raises(EmbeddingTrainError, match="no readable chunks"):
        train_embedding(embedding_ws, project.knowledge, project.train.embedding)


def test_train_and_eval_commands_of_an_embedding_workspace(embedding_ws: Workspace) -> None:
    result = runner.invoke(app, ["train", "-w", str(embedding_ws.root)])
    assert result.exit_code == 0, result.output
    assert "6 steps on 6 pairs" in result.output
    assert "held-out nDCG@10 on 2 queries" in result.output
    (run,) = embedding_ws.runs_dir.iterdir()
    result = runner.invoke(app, ["eval", "--model", run.name, "-w", str(embedding_ws.root)])
    assert result.exit_code == 0, result.output
    for word in ("ndcg@10", "overall", "staff", "hr", "exec", "stock", "tuned"):
        assert word in result.output, result.output
    report = json.loads((run / "eval" / "report.json").read_text())
    assert report["retrieval"]["queries"] == 2
    assert "| overall | 2 |" in (run / "eval" / "report.md").read_text()
    actions = [e.action for e in audit.entries(audit.audit_path(embedding_ws.state_dir))]
    assert actions == ["train", "eval"]
    result = runner.invoke(app, ["train", "-w", str(embedding_ws.root), "--nproc", "2"])
    assert result.exit_code == 1 and "neither --resume nor --nproc" in result.output
