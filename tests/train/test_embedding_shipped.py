"""The example's shipped embedding config (examples/support-tickets/embedding.yaml) trained end
to end on its real knowledge base and facts file (a tiny random embedder, two steps), the facts
file read as pairs, the chunks' pairs trained on beside a pairs file, and the symmetric loss."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import yaml

from tunesmith.config import ConfigError
from tunesmith.config.embedding import parse_embedding_project
from tunesmith.config.workspace import Workspace
from tunesmith.evaluate.retrieval import read_eval_queries
from tunesmith.examples.scaffold import EXAMPLES_DIR, create_workspace
from tunesmith.train.embedding import train_embedding

from .test_embedding import embedding_ws  # noqa: F401 (the fixture)

SHIPPED = EXAMPLES_DIR / "support-tickets" / "embedding.yaml"


def test_the_shipped_embedding_config_trains_on_the_example(
    tmp_path: Path, tiny_embedder: Path
) -> None:
    root = create_workspace(tmp_path / "ws", "support-tickets", rows=20)
    raw = yaml.safe_load(SHIPPED.read_text())
    shipped = dict(raw["train"]["embedding"])
    # the shipped settings, but a tiny model and two steps
    raw["train"]["embedding"] |= {"base_model": str(tiny_embedder), "max_steps": 2}
    (root / "tunesmith.yaml").write_text(yaml.safe_dump(raw, sort_keys=False))
    ws = Workspace(root)
    project = parse_embedding_project(raw, "tunesmith.yaml")
    assert project.train.embedding.from_knowledge and shipped["pairs"] == "knowledge_facts.jsonl"
    result = train_embedding(ws, project.knowledge, project.train.embedding, run_id="emb-shipped")
    assert result.steps == 2
    facts = [
        json.loads(line)
        for line in (root / "knowledge_facts.jsonl").read_text().split("\n")
        if line
    ]
    manifest = json.loads((result.path / "manifest.json").read_text())
    held = manifest["held_out"]["lines"]
    assert len(held) == round(0.2 * len(facts)) == result.held_out
    made = manifest["pairs"]["from_knowledge"]
    assert made > 0 and result.pairs == len(facts) - len(held) + made
    # measured with the paraphrase written apart, never with the question trained on
    measured = {q.query for q in read_eval_queries(result.path / "heldout.jsonl")}
    assert measured == {facts[i]["question_heldout"] for i in held}
    trained = {json.loads(line)["query"] for line in (result.path / "train_pairs.jsonl").open()}
    assert not trained & {facts[i]["question"] for i in held}
    assert not trained & measured


def test_a_pairs_file_and_the_chunks_together(embedding_ws: Workspace) -> None:  # noqa: F811
    raw = yaml.safe_load(embedding_ws.config_path.read_text())
    raw["train"]["embedding"] |= {"from_knowledge": True, "max_steps": 2, "loss": "symmetric"}
    project = parse_embedding_project(raw, "tunesmith.yaml")
    result = train_embedding(embedding_ws, project.knowledge, project.train.embedding)
    # 6 of the file's 8 pairs trained on, the chunks' pairs besides; the file's 2 measured
    assert result.pairs > 6 and result.held_out == 2 and result.steps == 2
    raw["train"]["embedding"] = {"from_knowledge": False}
    with pytest.raises(ConfigError, match="give a pairs source"):
        parse_embedding_project(raw, "tunesmith.yaml")
    raw["train"]["embedding"] = {"from_knowledge": True, "loss": "cosine"}
    with pytest.raises(ConfigError, match=r"train\.embedding\.loss"):
        parse_embedding_project(raw, "tunesmith.yaml")
